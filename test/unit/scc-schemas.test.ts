import { serial, upgradeOperationRequest, upgradeOperation } from '../../domain/scc';
import { generateAppliances } from '../../simulator/fleet';

const valid = {
  product_code: 'SH',
  target_version: { version_id: '9.16.0-100', version_number: '9.16.0', build_number: '100' },
  reboot: true,
  comment: 'quarterly',
  appliances: ['S12AB12345678'],
};

describe('serial', () => {
  it.each(['S1212345678', 'S12A12345678', 'S12AB12345678', 'a1fxy0000ffff'])('accepts %s', (s) => {
    expect(serial.safeParse(s).success).toBe(true);
  });
  it.each(['', '112AB12345678', 'S12ABC12345678', 'S1G12345678', 'S12123456789', 'S121234567'])('rejects %s', (s) => {
    expect(serial.safeParse(s).success).toBe(false);
  });
});

describe('upgrade operation request', () => {
  it('accepts a seed-shaped request and keeps extension properties', () => {
    const parsed = upgradeOperationRequest.parse({ ...valid, rollout: { canary: 1 }, target_version: { ...valid.target_version, channel: 'ga' } });
    expect(parsed.rollout).toEqual({ canary: 1 });
    expect(parsed.target_version.channel).toBe('ga');
  });

  it.each([
    ['product_code', { product_code: 'XX' }],
    ['appliances.0', { appliances: ['not-a-serial'] }],
    ['appliances', { appliances: [] }],
    ['target_version.version_id', { target_version: { version_id: '' } }],
    ['reboot', { reboot: 'yes' }],
    ['upgrade_time.time_type', { upgrade_time: { datetime: 1, time_type: 'mars' } }],
  ])('names the bad field %s', (field, patch) => {
    const result = upgradeOperationRequest.safeParse({ ...valid, ...patch });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path.join('.')).toBe(field);
  });

  it.each(['id', 'status', 'create_time', 'reboot_id'])('rejects the read-only field %s', (field) => {
    const result = upgradeOperationRequest.safeParse({ ...valid, [field]: 'x' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual([field]);
  });

  it('round-trips a stored operation', () => {
    const stored = { ...valid, id: '1', username: 'admin', create_time: '2026-01-01T00:00:00.000Z', status: 'scheduled' };
    expect(upgradeOperation.parse(JSON.parse(JSON.stringify(stored)))).toEqual(stored);
  });
});

describe('simulated fleet', () => {
  it('is repeatable from its seed and every serial matches the seed pattern', () => {
    const a = generateAppliances(500, 7);
    expect(generateAppliances(500, 7)).toEqual(a);
    expect(new Set(a.map((x) => x.serial)).size).toBe(500);
    for (const appliance of a) expect(serial.safeParse(appliance.serial).success).toBe(true);
    expect(new Set(a.map((x) => x.product_code))).toEqual(new Set(['SH', 'EX', 'IC', 'SMC', 'WW', 'GC']));
  });
});

describe('the rest of the SCC seed', () => {
  const scc = require('../../domain/scc') as typeof import('../../domain/scc');
  const base = { comment: '', appliances: ['S1212345678'] };

  test.each(['id', 'create_time', 'status', 'upgrade_id', 'downgrade_id'])('a reboot operation request refuses read-only %s', (field) => {
    const result = scc.rebootOperationRequest.safeParse({ ...base, [field]: 'x' });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual([field]);
    expect(result.error!.issues[0]!.message).toBe(`${field} is read-only`);
  });

  test('a downgrade request needs what an upgrade needs and keeps extension properties', () => {
    const request = { ...base, product_code: 'SH', target_version: { version_id: '9.12.0-100' }, reboot: true, downgrade_time: { datetime: 1, time_type: 'local' }, ticket: 'CHG-9' };
    expect(scc.downgradeOperationRequest.parse(request)).toEqual(request);
    expect(scc.downgradeOperationRequest.safeParse({ ...request, reboot: undefined }).error!.issues[0]!.path).toEqual(['reboot']);
  });

  test('a delta image definition needs its source version', () => {
    const definition = { product_code: 'SH', arch: 'i386', target_version: { version_id: '9.16.0-100' }, delta: true };
    expect(scc.imageDefinition.safeParse(definition).error!.issues[0]!.path).toEqual(['source_version']);
    expect(scc.imageDefinition.safeParse({ ...definition, source_version: { version_id: '9.14.0-100' } }).success).toBe(true);
  });

  test('task stages per kind', () => {
    expect(scc.applianceDowngradeTaskState.safeParse({ status: 'running', stage: 'patching' }).success).toBe(false);
    expect(scc.applianceRebootTaskState.safeParse({ status: 'running', stage: 'reboot_wait' }).success).toBe(true);
    expect(scc.applianceUpgradeTaskState.safeParse({ status: 'running', stage: 'patching' }).success).toBe(true);
  });

  test('eligibility objects have every category of the seed', () => {
    expect(scc.UPGRADE_EXCEPTION_CATEGORIES).toHaveLength(9);
    expect(scc.DOWNGRADE_EXCEPTION_CATEGORIES).toContain('not_previously_upgraded_to');
    const appliance = { product_code: 'SH', serial: 'S1212345678', connected: false };
    expect(scc.rebootableAppliances.parse({ rebootable: [], exceptions: { disconnected: [appliance], other: 1 } }).exceptions!.disconnected).toEqual([appliance]);
    expect(scc.upgradeableAppliances.safeParse({ exceptions: { model_eol: [{ serial: 'bad' }] } }).success).toBe(false);
  });

  test('logging level and versions lists', () => {
    expect(scc.logging.safeParse({ level: 'emerg' }).success).toBe(false);
    expect(scc.productVersions.parse([{ product_code: 'EX', version: { version_id: '9.16.0-100' } }])).toHaveLength(1);
  });
});
