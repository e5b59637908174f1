import { downgradeableVersions, downgradeEligibility, rebootEligibility, upgradeableVersions, upgradeEligibility } from '../../domain/eligibility';
import type { Appliance, Arch, ImageRepository } from '../../domain/scc';
import type { AvailableImage } from '../../domain/upgrade-path';

let n = 0;
const appliance = (patch: Partial<Appliance> = {}): Appliance => ({
  product_code: 'SH',
  arch: 'x86_64',
  serial: `S12AB${(n++).toString(16).toUpperCase().padStart(8, '0')}`,
  connected: true,
  entitled: true,
  read_only: false,
  current_version: { version_id: '9.14.0-100' },
  ...patch,
});
const image = (id: string, target: string, arch: Arch = 'x86_64', repository: ImageRepository = 'riverbed'): AvailableImage => ({
  image: { id, image_definition: { product_code: 'SH', arch, target_version: { version_id: target }, delta: false } },
  repository,
});
const IMAGES = [image('sh16', '9.16.0-100'), image('sh12-cu', '9.12.0-100', 'x86_64', 'customer'), image('sh12-rb-i386', '9.12.0-100', 'i386')];
const none = new Set<string>();

const placeOf = (result: { exceptions: Record<string, Appliance[]> } & Record<string, unknown>, serial: string, eligibleKey: string): string => {
  if ((result[eligibleKey] as Appliance[]).some((a) => a.serial === serial)) return eligibleKey;
  const found = Object.entries(result.exceptions).filter(([, list]) => list.some((a) => a.serial === serial));
  if (found.length !== 1) throw new Error(`${serial} is in ${found.length} categories`);
  return found[0]![0];
};

describe('upgrade', () => {
  const upgrade = (a: Appliance, options: { inProgress?: Set<string>; target?: string; images?: AvailableImage[] } = {}) =>
    placeOf(upgradeEligibility({ productCode: 'SH', appliances: [a], images: options.images ?? IMAGES, inProgress: options.inProgress ?? none, targetVersionId: options.target ?? '9.16.0-100' }), a.serial, 'upgradeable');

  test.each([
    ['a clean appliance', {}, 'upgradeable'],
    ['read-only', { read_only: true }, 'read_only'],
    ['unentitled', { entitled: false }, 'unentitled'],
    ['end-of-life model', { model_eol: true }, 'model_eol'],
    ['disconnected', { connected: false }, 'disconnected'],
    ['already there', { current_version: { version_id: '9.16.0-100' } }, 'same_or_newer_version'],
    ['newer', { current_version: { version_id: '9.18.0-1' } }, 'same_or_newer_version'],
    ['i386 without an i386 image', { arch: 'i386' }, 'no_i386_image'],
    ['unknown version', { current_version: undefined }, 'not_supported'],
  ] as const)('%s → %s', (_name, patch, expected) => {
    expect(upgrade(appliance(patch as Partial<Appliance>))).toBe(expected);
  });

  test('operation_in_progress', () => {
    const a = appliance();
    expect(upgrade(a, { inProgress: new Set([a.serial]) })).toBe('operation_in_progress');
  });

  test('no_x86_64_image when only i386 images of the target exist', () => {
    expect(upgrade(appliance({ current_version: { version_id: '9.10.0-1' } }), { target: '9.12.0-100', images: [image('i', '9.12.0-100', 'i386')] })).toBe('no_x86_64_image');
  });

  test('not_supported when no image chain leads from its version', () => {
    const restricted: AvailableImage = { image: { ...image('r', '9.16.0-100').image, source_versions: [{ version_id: '9.12.0-100' }] }, repository: 'riverbed' };
    expect(upgrade(appliance(), { images: [restricted] })).toBe('not_supported');
  });

  test('the first failing check wins: read-only and disconnected is read_only; other products are left out', () => {
    const both = appliance({ read_only: true, connected: false });
    const ex = appliance({ product_code: 'EX' });
    const result = upgradeEligibility({ productCode: 'SH', appliances: [both, ex], images: IMAGES, inProgress: none, targetVersionId: '9.16.0-100' });
    expect(result.exceptions.read_only.map((a) => a.serial)).toEqual([both.serial]);
    expect(result.exceptions.disconnected).toEqual([]);
    expect(JSON.stringify(result)).not.toContain(ex.serial);
    expect(Object.keys(result.exceptions).sort()).toEqual(['disconnected', 'model_eol', 'no_i386_image', 'no_x86_64_image', 'not_supported', 'operation_in_progress', 'read_only', 'same_or_newer_version', 'unentitled']);
  });
});

describe('downgrade', () => {
  const history = (serial: string, ...ids: string[]) => new Map([[serial, new Set(ids)]]);
  const downgrade = (a: Appliance, options: { previous?: string[]; inProgress?: Set<string>; target?: string; images?: AvailableImage[] } = {}) =>
    placeOf(
      downgradeEligibility({ productCode: 'SH', appliances: [a], images: options.images ?? IMAGES, inProgress: options.inProgress ?? none, targetVersionId: options.target ?? '9.12.0-100', previousVersions: history(a.serial, ...(options.previous ?? ['9.12.0-100'])) }),
      a.serial,
      'downgradeable',
    );

  test.each([
    ['a clean appliance that ran the target before', {}, 'downgradeable'],
    ['read-only', { read_only: true }, 'read_only'],
    ['disconnected', { connected: false }, 'disconnected'],
    ['already at the target', { current_version: { version_id: '9.12.0-100' } }, 'same_or_older_version'],
    ['older than the target', { current_version: { version_id: '9.10.0-100' } }, 'same_or_older_version'],
    ['i386: the only i386 image is not in the customer repository', { arch: 'i386' }, 'no_i386_image'],
    ['unknown arch', { arch: undefined }, 'not_supported'],
  ] as const)('%s → %s', (_name, patch, expected) => {
    expect(downgrade(appliance(patch as Partial<Appliance>))).toBe(expected);
  });

  test('not_previously_upgraded_to', () => {
    expect(downgrade(appliance(), { previous: ['9.10.0-100'] })).toBe('not_previously_upgraded_to');
  });

  test('operation_in_progress', () => {
    const a = appliance();
    expect(downgrade(a, { inProgress: new Set([a.serial]) })).toBe('operation_in_progress');
  });

  test('no_x86_64_image when the customer repository lacks the target for the arch', () => {
    expect(downgrade(appliance(), { images: [image('rb12', '9.12.0-100')] })).toBe('no_x86_64_image');
  });
});

describe('reboot', () => {
  const reboot = (a: Appliance, inProgress = none) => placeOf(rebootEligibility({ productCode: 'SH', appliances: [a], inProgress }), a.serial, 'rebootable');

  test.each([
    ['a clean appliance', {}, 'rebootable'],
    ['read-only', { read_only: true }, 'read_only'],
    ['disconnected', { connected: false }, 'disconnected'],
    ['not rebootable remotely', { reboot_supported: false }, 'not_supported'],
    // Entitlement and end of life do not stop a reboot.
    ['unentitled, end of life', { entitled: false, model_eol: true }, 'rebootable'],
  ] as const)('%s → %s', (_name, patch, expected) => {
    expect(reboot(appliance(patch as Partial<Appliance>))).toBe(expected);
  });

  test('operation_in_progress', () => {
    const a = appliance();
    expect(reboot(a, new Set([a.serial]))).toBe('operation_in_progress');
  });
});

describe('versions', () => {
  test('upgradeable versions: those at least one appliance can reach, oldest first', () => {
    const fleet = [appliance({ current_version: { version_id: '9.10.0-100' } }), appliance({ current_version: { version_id: '9.14.0-100' } })];
    expect(upgradeableVersions('SH', fleet, IMAGES).map((v) => v.version.version_id)).toEqual(['9.12.0-100', '9.16.0-100']);
    expect(upgradeableVersions('SH', [appliance({ current_version: { version_id: '9.16.0-100' } })], IMAGES)).toEqual([]);
  });

  test('downgradeable versions: previously run and in the customer repository', () => {
    const a = appliance({ current_version: { version_id: '9.16.0-100' } });
    expect(downgradeableVersions('SH', [a], IMAGES, new Map([[a.serial, new Set(['9.12.0-100'])]]))).toEqual([{ product_code: 'SH', version: { version_id: '9.12.0-100' } }]);
    expect(downgradeableVersions('SH', [a], IMAGES, new Map())).toEqual([]);
  });
});
