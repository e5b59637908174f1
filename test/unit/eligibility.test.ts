import {
  DOWNGRADE_CHECK_ORDER,
  downgradeableVersions,
  downgradeEligibility,
  REBOOT_CHECK_ORDER,
  rebootEligibility,
  taskStartRefusal,
  UPGRADE_CHECK_ORDER,
  upgradeableVersions,
  upgradeEligibility,
} from '../../domain/eligibility';
import {
  DOWNGRADE_EXCEPTION_CATEGORIES,
  downgradeableAppliances,
  REBOOT_EXCEPTION_CATEGORIES,
  rebootableAppliances,
  UPGRADE_EXCEPTION_CATEGORIES,
  upgradeableAppliances,
  type Appliance,
  type Arch,
  type ImageRepository,
  type ProductCode,
} from '../../domain/scc';
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
const image = (
  id: string,
  target: string,
  arch: Arch = 'x86_64',
  repository: ImageRepository = 'riverbed',
  extra: { delta?: string; product?: ProductCode } = {},
): AvailableImage => ({
  image: {
    id,
    image_definition: {
      product_code: extra.product ?? 'SH',
      arch,
      target_version: { version_id: target },
      delta: extra.delta !== undefined,
      ...(extra.delta !== undefined ? { source_version: { version_id: extra.delta } } : {}),
    },
  },
  repository,
});
// Upgrade target 9.16 for x86_64 only; downgrade target 9.12 in the customer repository for
// x86_64 and only in the Riverbed one for i386.
const IMAGES = [
  image('sh16', '9.16.0-100'),
  image('sh12-cu', '9.12.0-100', 'x86_64', 'customer'),
  image('sh12-rb-i386', '9.12.0-100', 'i386'),
];
const none = new Set<string>();

type Result = { exceptions: Record<string, Appliance[]> } & Record<string, unknown>;
/** Where an appliance landed; fails unless it is in exactly one place. */
const placeOf = (result: Result, serial: string, eligibleKey: string): string => {
  const places = [eligibleKey, ...Object.keys(result.exceptions)].filter((key) =>
    (key === eligibleKey ? (result[eligibleKey] as Appliance[]) : result.exceptions[key]!).some(
      (a) => a.serial === serial,
    ),
  );
  if (places.length !== 1) throw new Error(`${serial} is in ${places.length} places: ${places.join(', ')}`);
  return places[0]!;
};
const countAll = (result: Result, eligibleKey: string): number =>
  (result[eligibleKey] as Appliance[]).length +
  Object.values(result.exceptions).reduce((sum, list) => sum + list.length, 0);

describe('check orders cover exactly the seed categories', () => {
  test.each([
    ['upgrade', UPGRADE_CHECK_ORDER, UPGRADE_EXCEPTION_CATEGORIES],
    ['downgrade', DOWNGRADE_CHECK_ORDER, DOWNGRADE_EXCEPTION_CATEGORIES],
    ['reboot', REBOOT_CHECK_ORDER, REBOOT_EXCEPTION_CATEGORIES],
  ] as const)('%s', (_name, order, categories) => {
    expect([...order].sort()).toEqual([...categories].sort());
  });
});

describe('upgrade', () => {
  const upgrade = (
    a: Appliance,
    options: { inProgress?: Set<string>; target?: string; images?: AvailableImage[] } = {},
  ) =>
    placeOf(
      upgradeEligibility({
        productCode: 'SH',
        appliances: [a],
        images: options.images ?? IMAGES,
        inProgress: options.inProgress ?? none,
        targetVersionId: options.target ?? '9.16.0-100',
      }),
      a.serial,
      'upgradeable',
    );

  test.each([
    ['a clean appliance', {}, 'upgradeable'],
    ['entitled missing counts as entitled', { entitled: undefined }, 'upgradeable'],
    ['read-only', { read_only: true }, 'read_only'],
    ['unentitled', { entitled: false }, 'unentitled'],
    ['end-of-life model', { model_eol: true }, 'model_eol'],
    ['disconnected', { connected: false }, 'disconnected'],
    ['already there', { current_version: { version_id: '9.16.0-100' } }, 'same_or_newer_version'],
    ['newer', { current_version: { version_id: '9.18.0-1' } }, 'same_or_newer_version'],
    ['i386 without an i386 image', { arch: 'i386' }, 'no_i386_image'],
    ['unknown version', { current_version: undefined }, 'not_supported'],
    ['a version that cannot be ordered', { current_version: { version_id: 'nightly' } }, 'not_supported'],
    ['unknown arch', { arch: undefined }, 'not_supported'],
  ] as const)('%s → %s', (_name, patch, expected) => {
    expect(upgrade(appliance(patch as Partial<Appliance>))).toBe(expected);
  });

  test('operation_in_progress', () => {
    const a = appliance();
    expect(upgrade(a, { inProgress: new Set([a.serial]) })).toBe('operation_in_progress');
    expect(upgrade(a, { inProgress: new Set(['S12AB99999999']) })).toBe('upgradeable');
  });

  test('no_x86_64_image when only i386 images of the target exist', () => {
    expect(
      upgrade(appliance({ current_version: { version_id: '9.10.0-1' } }), {
        target: '9.12.0-100',
        images: [image('i', '9.12.0-100', 'i386')],
      }),
    ).toBe('no_x86_64_image');
  });

  test('not_supported when no image chain leads from its version', () => {
    const restricted: AvailableImage = {
      image: { ...image('r', '9.16.0-100').image, source_versions: [{ version_id: '9.12.0-100' }] },
      repository: 'riverbed',
    };
    expect(upgrade(appliance(), { images: [restricted] })).toBe('not_supported');
    expect(
      upgrade(appliance(), { images: [image('d', '9.16.0-100', 'x86_64', 'riverbed', { delta: '9.12.0-100' })] }),
    ).toBe('not_supported');
  });

  test('upgradeable through two hops', () => {
    const images = [
      image('d15', '9.15.0-100', 'x86_64', 'riverbed', { delta: '9.14.0-100' }),
      image('d16', '9.16.0-100', 'x86_64', 'riverbed', { delta: '9.15.0-100' }),
    ];
    expect(upgrade(appliance(), { images })).toBe('upgradeable');
  });

  test('not_supported for a target no image has', () => {
    expect(upgrade(appliance(), { target: '9.99.0-1' })).toBe('not_supported');
    expect(upgrade(appliance(), { target: 'not-a-version' })).toBe('not_supported');
  });

  test.each([
    ['read_only before unentitled', { read_only: true, entitled: false }, 'read_only'],
    ['read_only before disconnected', { read_only: true, connected: false }, 'read_only'],
    ['unentitled before model_eol', { entitled: false, model_eol: true }, 'unentitled'],
    ['model_eol before disconnected', { model_eol: true, connected: false }, 'model_eol'],
    ['disconnected before operation_in_progress', { connected: false, serial: 'S12AB0000BEEF' }, 'disconnected'],
    [
      'operation_in_progress before same_or_newer_version',
      { serial: 'S12AB0000BEEF', current_version: { version_id: '9.16.0-100' } },
      'operation_in_progress',
    ],
    [
      'same_or_newer_version before no_i386_image',
      { arch: 'i386', current_version: { version_id: '9.16.0-100' } },
      'same_or_newer_version',
    ],
    [
      'same_or_newer_version before an unknown arch',
      { arch: undefined, current_version: { version_id: '9.16.0-100' } },
      'same_or_newer_version',
    ],
  ] as const)('first failing check wins: %s', (_name, patch, expected) => {
    expect(upgrade(appliance(patch as Partial<Appliance>), { inProgress: new Set(['S12AB0000BEEF']) })).toBe(expected);
  });

  test('every key present, other products left out, input order kept, the seed schema accepts it', () => {
    const [a, b, c] = [appliance(), appliance(), appliance({ read_only: true })];
    const ex = appliance({ product_code: 'EX' });
    const result = upgradeEligibility({
      productCode: 'SH',
      appliances: [b, ex, c, a],
      images: IMAGES,
      inProgress: none,
      targetVersionId: '9.16.0-100',
    });
    expect(result.upgradeable.map((x) => x.serial)).toEqual([b.serial, a.serial]);
    expect(result.exceptions.read_only).toEqual([c]);
    expect(JSON.stringify(result)).not.toContain(ex.serial);
    expect(Object.keys(result.exceptions).sort()).toEqual([...UPGRADE_EXCEPTION_CATEGORIES].sort());
    expect(
      Object.entries(result.exceptions)
        .filter(([, list]) => list.length > 0)
        .map(([k]) => k),
    ).toEqual(['read_only']);
    expect(upgradeableAppliances.safeParse(result).success).toBe(true);
  });

  test('a mixed fleet: each appliance exactly once, the same result from a shuffled image list', () => {
    const fleet = Array.from({ length: 200 }, (_, i) =>
      appliance({
        arch: i % 3 === 0 ? 'i386' : i % 17 === 0 ? undefined : 'x86_64',
        connected: i % 5 !== 0,
        entitled: i % 7 !== 0,
        read_only: i % 11 === 0,
        model_eol: i % 13 === 0,
        current_version:
          i % 19 === 0
            ? undefined
            : { version_id: ['9.10.0-1', '9.12.0-100', '9.14.0-100', '9.16.0-100', '9.18.0-1'][i % 5]! },
      }),
    );
    const images = [
      ...IMAGES,
      image('d16', '9.16.0-100', 'x86_64', 'riverbed', { delta: '9.14.0-100' }),
      image('i16', '9.16.0-100', 'i386', 'customer'),
    ];
    const inProgress = new Set(fleet.filter((_, i) => i % 23 === 0).map((a) => a.serial));
    const result = upgradeEligibility({
      productCode: 'SH',
      appliances: fleet,
      images,
      inProgress,
      targetVersionId: '9.16.0-100',
    });
    for (const a of fleet) placeOf(result, a.serial, 'upgradeable');
    expect(countAll(result, 'upgradeable')).toBe(fleet.length);
    expect(
      upgradeEligibility({
        productCode: 'SH',
        appliances: fleet,
        images: [...images].reverse(),
        inProgress,
        targetVersionId: '9.16.0-100',
      }),
    ).toEqual(result);
  });
});

describe('downgrade', () => {
  const downgrade = (
    a: Appliance,
    options: { previous?: string[]; inProgress?: Set<string>; target?: string; images?: AvailableImage[] } = {},
  ) =>
    placeOf(
      downgradeEligibility({
        productCode: 'SH',
        appliances: [a],
        images: options.images ?? IMAGES,
        inProgress: options.inProgress ?? none,
        targetVersionId: options.target ?? '9.12.0-100',
        previousVersions: new Map([[a.serial, new Set(options.previous ?? ['9.12.0-100'])]]),
      }),
      a.serial,
      'downgradeable',
    );

  test.each([
    ['a clean appliance that ran the target before', {}, 'downgradeable'],
    ['unentitled and end of life do not stop a downgrade', { entitled: false, model_eol: true }, 'downgradeable'],
    ['read-only', { read_only: true }, 'read_only'],
    ['disconnected', { connected: false }, 'disconnected'],
    ['already at the target', { current_version: { version_id: '9.12.0-100' } }, 'same_or_older_version'],
    ['older than the target', { current_version: { version_id: '9.10.0-100' } }, 'same_or_older_version'],
    ['i386: the only i386 image is not in the customer repository', { arch: 'i386' }, 'no_i386_image'],
    ['unknown arch', { arch: undefined }, 'not_supported'],
    ['unknown version', { current_version: undefined }, 'not_supported'],
    ['a version that cannot be ordered', { current_version: { version_id: 'nightly' } }, 'not_supported'],
  ] as const)('%s → %s', (_name, patch, expected) => {
    expect(downgrade(appliance(patch as Partial<Appliance>))).toBe(expected);
  });

  test('not_previously_upgraded_to', () => {
    expect(downgrade(appliance(), { previous: ['9.10.0-100'] })).toBe('not_previously_upgraded_to');
    expect(downgrade(appliance(), { previous: [] })).toBe('not_previously_upgraded_to');
  });

  test('operation_in_progress', () => {
    const a = appliance();
    expect(downgrade(a, { inProgress: new Set([a.serial]) })).toBe('operation_in_progress');
  });

  test('no_x86_64_image when only the Riverbed repository has the target, or no repository does', () => {
    expect(downgrade(appliance(), { images: [image('rb12', '9.12.0-100')] })).toBe('no_x86_64_image');
    expect(downgrade(appliance(), { images: [image('sh16', '9.16.0-100')] })).toBe('no_x86_64_image');
  });

  test('not_supported when the customer repository has only a delta of the target', () => {
    expect(
      downgrade(appliance(), { images: [image('cu-d', '9.12.0-100', 'x86_64', 'customer', { delta: '9.10.0-100' })] }),
    ).toBe('not_supported');
  });

  test.each([
    ['read_only before disconnected', { read_only: true, connected: false }, 'read_only'],
    ['disconnected before operation_in_progress', { connected: false, serial: 'S12AB0000BEEF' }, 'disconnected'],
    [
      'operation_in_progress before same_or_older_version',
      { serial: 'S12AB0000BEEF', current_version: { version_id: '9.12.0-100' } },
      'operation_in_progress',
    ],
    [
      'same_or_older_version before not_previously_upgraded_to',
      { serial: 'S12AB0000CAFE', current_version: { version_id: '9.10.0-100' } },
      'same_or_older_version',
    ],
    [
      'not_previously_upgraded_to before no_i386_image',
      { serial: 'S12AB0000CAFE', arch: 'i386' },
      'not_previously_upgraded_to',
    ],
  ] as const)('first failing check wins: %s', (_name, patch, expected) => {
    const a = appliance(patch);
    const result = downgradeEligibility({
      productCode: 'SH',
      appliances: [a],
      images: IMAGES,
      inProgress: new Set(['S12AB0000BEEF']),
      targetVersionId: '9.12.0-100',
      previousVersions: (serial) => (serial === 'S12AB0000CAFE' ? new Set<string>() : new Set(['9.12.0-100'])),
    });
    expect(placeOf(result, a.serial, 'downgradeable')).toBe(expected);
  });

  test('previous versions as a lookup function; every key present; other products left out; the seed schema accepts it', () => {
    const a = appliance({ current_version: { version_id: '9.16.0-100' } });
    const ex = appliance({ product_code: 'EX' });
    const result = downgradeEligibility({
      productCode: 'SH',
      appliances: [a, ex],
      images: IMAGES,
      inProgress: none,
      targetVersionId: '9.12.0-100',
      previousVersions: (serial) => (serial === a.serial ? new Set(['9.12.0-100']) : undefined),
    });
    expect(result.downgradeable).toEqual([a]);
    expect(JSON.stringify(result)).not.toContain(ex.serial);
    expect(Object.keys(result.exceptions).sort()).toEqual([...DOWNGRADE_EXCEPTION_CATEGORIES].sort());
    expect(Object.values(result.exceptions).every((list) => list.length === 0)).toBe(true);
    expect(downgradeableAppliances.safeParse(result).success).toBe(true);
  });
});

describe('reboot', () => {
  const reboot = (a: Appliance, inProgress = none) =>
    placeOf(rebootEligibility({ productCode: 'SH', appliances: [a], inProgress }), a.serial, 'rebootable');

  test.each([
    ['a clean appliance', {}, 'rebootable'],
    ['read-only', { read_only: true }, 'read_only'],
    ['disconnected', { connected: false }, 'disconnected'],
    ['not rebootable remotely', { reboot_supported: false }, 'not_supported'],
    ['read-only before disconnected', { read_only: true, connected: false }, 'read_only'],
    ['disconnected before not_supported', { connected: false, reboot_supported: false }, 'disconnected'],
    // A reboot installs nothing: entitlement, end of life, arch and version do not matter.
    [
      'unentitled, end of life, unknown arch and version',
      { entitled: false, model_eol: true, arch: undefined, current_version: undefined },
      'rebootable',
    ],
  ] as const)('%s → %s', (_name, patch, expected) => {
    expect(reboot(appliance(patch as Partial<Appliance>))).toBe(expected);
  });

  test('operation_in_progress, before not_supported', () => {
    const a = appliance({ reboot_supported: false });
    expect(reboot(a, new Set([a.serial]))).toBe('operation_in_progress');
  });

  test('every key present, other products left out, the seed schema accepts it', () => {
    const ex = appliance({ product_code: 'EX' });
    const result = rebootEligibility({ productCode: 'SH', appliances: [ex], inProgress: none });
    expect(result).toEqual({
      rebootable: [],
      exceptions: { read_only: [], disconnected: [], operation_in_progress: [], not_supported: [] },
    });
    expect(Object.keys(result.exceptions).sort()).toEqual([...REBOOT_EXCEPTION_CATEGORIES].sort());
    expect(rebootableAppliances.safeParse(result).success).toBe(true);
  });
});

describe('versions', () => {
  test('upgradeable versions: those at least one appliance can reach, oldest first', () => {
    const fleet = [
      appliance({ current_version: { version_id: '9.10.0-100' } }),
      appliance({ current_version: { version_id: '9.14.0-100' } }),
    ];
    expect(upgradeableVersions('SH', fleet, IMAGES)).toEqual([
      { product_code: 'SH', version: { version_id: '9.12.0-100' } },
      { product_code: 'SH', version: { version_id: '9.16.0-100' } },
    ]);
    expect(upgradeableVersions('SH', [appliance({ current_version: { version_id: '9.16.0-100' } })], IMAGES)).toEqual(
      [],
    );
    expect(upgradeableVersions('EX', fleet, IMAGES)).toEqual([]);
  });

  test('upgradeable versions skip appliances that could not be upgraded at all', () => {
    const busy = appliance({ current_version: { version_id: '9.10.0-100' } });
    expect(upgradeableVersions('SH', [busy], IMAGES, new Set([busy.serial]))).toEqual([]);
    expect(
      upgradeableVersions(
        'SH',
        [appliance({ read_only: true, current_version: { version_id: '9.10.0-100' } })],
        IMAGES,
      ),
    ).toEqual([]);
    // An i386 appliance can only use the i386 image of 9.12.
    expect(
      upgradeableVersions(
        'SH',
        [appliance({ arch: 'i386', current_version: { version_id: '9.10.0-100' } })],
        IMAGES,
      ).map((x) => x.version.version_id),
    ).toEqual(['9.12.0-100']);
  });

  test('version order with letters and builds', () => {
    const images = ['9.14.2b-1', '9.14.10-1', '9.14.2-1', '9.14.2a-1', '9.14.2-2'].map((id) => image(`img-${id}`, id));
    expect(
      upgradeableVersions('SH', [appliance({ current_version: { version_id: '9.12.0-1' } })], images).map(
        (x) => x.version.version_id,
      ),
    ).toEqual(['9.14.2-1', '9.14.2-2', '9.14.2a-1', '9.14.2b-1', '9.14.10-1']);
  });

  test('downgradeable versions: previously run and in the customer repository', () => {
    const a = appliance({ current_version: { version_id: '9.16.0-100' } });
    expect(downgradeableVersions('SH', [a], IMAGES, new Map([[a.serial, new Set(['9.12.0-100'])]]))).toEqual([
      { product_code: 'SH', version: { version_id: '9.12.0-100' } },
    ]);
    expect(downgradeableVersions('SH', [a], IMAGES, new Map())).toEqual([]);
    // 9.12 for i386 is only in the Riverbed repository.
    const i386 = appliance({ arch: 'i386', current_version: { version_id: '9.16.0-100' } });
    expect(downgradeableVersions('SH', [i386], IMAGES, () => new Set(['9.12.0-100', '9.16.0-100']))).toEqual([]);
  });

  test('the version lists agree with eligibility for every target', () => {
    const versions = ['9.10.0-1', '9.12.0-100', '9.13.0-1', '9.14.0-100', '9.16.0-100'];
    const images = [
      ...versions.map((id, i) => image(`full-${id}`, id, 'x86_64', i % 2 ? 'customer' : 'riverbed')),
      image('i-13', '9.13.0-1', 'i386', 'customer'),
      image('i-16d', '9.16.0-100', 'i386', 'riverbed', { delta: '9.13.0-1' }),
    ];
    const fleet = Array.from({ length: 60 }, (_, i) =>
      appliance({
        arch: i % 2 ? 'i386' : 'x86_64',
        connected: i % 7 !== 0,
        read_only: i % 9 === 0,
        current_version: { version_id: versions[i % versions.length]! },
      }),
    );
    const previous = new Map(fleet.map((a, i) => [a.serial, new Set(versions.slice(0, i % 4))]));
    const inProgress = new Set(fleet.filter((_, i) => i % 5 === 0).map((a) => a.serial));
    const up = versions.filter(
      (t) =>
        upgradeEligibility({ productCode: 'SH', appliances: fleet, images, inProgress, targetVersionId: t }).upgradeable
          .length > 0,
    );
    const down = versions.filter(
      (t) =>
        downgradeEligibility({
          productCode: 'SH',
          appliances: fleet,
          images,
          inProgress,
          previousVersions: previous,
          targetVersionId: t,
        }).downgradeable.length > 0,
    );
    expect(upgradeableVersions('SH', fleet, images, inProgress).map((x) => x.version.version_id)).toEqual(up);
    expect(downgradeableVersions('SH', fleet, images, previous, inProgress).map((x) => x.version.version_id)).toEqual(
      down,
    );
    // Not vacuous: some targets are in, some out.
    expect(up.length).toBeGreaterThan(0);
    expect(up.length).toBeLessThan(versions.length);
    expect(down.length).toBeGreaterThan(0);
    expect(down.length).toBeLessThan(versions.length);
  });
});

describe('taskStartRefusal: eligibility again when a task starts', () => {
  const ok = {
    serial: 'S12AB00000001',
    product_code: 'SH' as const,
    connected: true,
    entitled: true,
    read_only: false,
    model_eol: false,
  };
  test('an appliance that is still eligible is not refused', () => {
    for (const kind of ['upgrade', 'downgrade', 'reboot'] as const)
      expect(taskStartRefusal(kind, ok, 'SH')).toBeUndefined();
  });
  test("each check names the reason, in the classifiers' order", () => {
    expect(taskStartRefusal('upgrade', { ...ok, product_code: 'EX' }, 'SH')).toBe(
      'appliance S12AB00000001 is EX, the operation is for SH',
    );
    expect(taskStartRefusal('upgrade', { ...ok, read_only: true, connected: false })).toBe(
      'appliance S12AB00000001 is read-only',
    );
    expect(taskStartRefusal('upgrade', { ...ok, entitled: false, connected: false })).toBe(
      'appliance S12AB00000001 is not entitled to upgrades',
    );
    expect(taskStartRefusal('upgrade', { ...ok, model_eol: true })).toBe(
      'appliance S12AB00000001 is an end-of-life model',
    );
    expect(taskStartRefusal('upgrade', { ...ok, connected: false })).toBe('appliance S12AB00000001 is disconnected');
  });
  test('entitlement and end of life do not stop a downgrade or a reboot', () => {
    const old = { ...ok, entitled: false, model_eol: true };
    expect(taskStartRefusal('downgrade', old, 'SH')).toBeUndefined();
    expect(taskStartRefusal('reboot', old)).toBeUndefined();
    expect(taskStartRefusal('reboot', { ...old, read_only: true })).toBe('appliance S12AB00000001 is read-only');
  });
});
