import { z } from 'zod';
import * as scc from '../../domain/scc';
import {
  OPERATION_READ_ONLY,
  serial,
  upgradeOperationRequest,
  upgradeOperation,
  withoutReadOnly,
} from '../../domain/scc';
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
    const parsed = upgradeOperationRequest.parse({
      ...valid,
      ticket: { id: 'CHG-1' },
      rollout: { waves: [1, '50%'] },
      target_version: { ...valid.target_version, channel: 'ga' },
    });
    expect(parsed.ticket).toEqual({ id: 'CHG-1' });
    expect(parsed.rollout).toEqual({ waves: [1, '50%'] });
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

  it.each([
    ['id', 5],
    ['status', 'done'],
    ['create_time', 1],
    ['reboot_id', 'x'],
    ['username', false],
  ])('refuses the read-only field %s of another type than documented', (field, value) => {
    const result = upgradeOperationRequest.safeParse({ ...valid, [field]: value });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual([field]);
  });

  it('takes read-only fields sent back as read, and withoutReadOnly drops them', () => {
    const echoed = {
      ...valid,
      id: '1',
      status: 'successful',
      create_time: '2026-01-01T00:00:00Z',
      reboot_id: 2,
      username: 'someone',
    };
    const parsed = upgradeOperationRequest.parse(echoed);
    expect(withoutReadOnly(parsed, OPERATION_READ_ONLY)).toEqual(upgradeOperationRequest.parse(valid));
  });

  it('round-trips a stored operation', () => {
    const stored = {
      ...valid,
      id: '1',
      username: 'admin',
      create_time: '2026-01-01T00:00:00.000Z',
      status: 'scheduled',
    };
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
  const base = { comment: '', appliances: ['S1212345678'] };

  test.each(['id', 'create_time', 'status', 'upgrade_id', 'downgrade_id'])(
    'a reboot operation request refuses read-only %s of another type',
    (field) => {
      const result = scc.rebootOperationRequest.safeParse({ ...base, [field]: { a: 1 } });
      expect(result.success).toBe(false);
      expect(result.error!.issues[0]!.path).toEqual([field]);
    },
  );

  test('a downgrade request needs what an upgrade needs and keeps extension properties', () => {
    const request = {
      ...base,
      product_code: 'SH',
      target_version: { version_id: '9.12.0-100' },
      reboot: true,
      downgrade_time: { datetime: 1, time_type: 'local' },
      ticket: 'CHG-9',
    };
    expect(scc.downgradeOperationRequest.parse(request)).toEqual(request);
    expect(scc.downgradeOperationRequest.safeParse({ ...request, reboot: undefined }).error!.issues[0]!.path).toEqual([
      'reboot',
    ]);
  });

  // The operation schemas come from one factory: this pins what it must keep (the OpenAPI document lists properties in shape order).
  test('upgrade and downgrade operations differ only in the name of their start time; every kind keeps its property order', () => {
    const jsonSchema = (schema: import('zod').ZodType) =>
      JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
    expect(jsonSchema(scc.downgradeOperationRequest).replaceAll('downgrade_time', 'upgrade_time')).toBe(
      jsonSchema(scc.upgradeOperationRequest),
    );
    expect(jsonSchema(scc.downgradeOperation).replaceAll('downgrade_time', 'upgrade_time')).toBe(
      jsonSchema(scc.upgradeOperation),
    );
    const head = ['id', 'create_time', 'status', 'username'];
    const tail = [
      'rollout',
      'task_timeout',
      'approval',
      'paused',
      'pause_reason',
      'stop_reason',
      'retry_of',
      'retried_by',
      'appliances',
    ];
    const upgradeKeys = [
      ...head,
      'product_code',
      'upgrade_time',
      'target_version',
      'reboot',
      'reboot_time',
      'esxi_force',
      'comment',
      'reboot_id',
      'health_check',
      'rollback',
      'task_retries',
      ...tail,
    ];
    const rebootKeys = [...head, 'switch_partition', 'reboot_time', 'comment', 'upgrade_id', 'downgrade_id', ...tail];
    for (const schema of [scc.upgradeOperationRequest, scc.upgradeOperation])
      expect(Object.keys(schema.shape)).toEqual(upgradeKeys);
    for (const schema of [scc.downgradeOperationRequest, scc.downgradeOperation])
      expect(Object.keys(schema.shape)).toEqual(upgradeKeys.map((k) => (k === 'upgrade_time' ? 'downgrade_time' : k)));
    for (const schema of [scc.rebootOperationRequest, scc.rebootOperation])
      expect(Object.keys(schema.shape)).toEqual(rebootKeys);
    // The answers' assigned fields, not the requests' read-only refusals.
    expect(scc.upgradeOperation.shape.reboot_id.safeParse(1).success).toBe(true);
    expect(scc.rebootOperation.shape.downgrade_id.safeParse('1').success).toBe(true);
  });

  test('a delta image definition needs its source version', () => {
    const definition = { product_code: 'SH', arch: 'i386', target_version: { version_id: '9.16.0-100' }, delta: true };
    expect(scc.imageDefinition.safeParse(definition).error!.issues[0]!.path).toEqual(['source_version']);
    expect(scc.imageDefinition.safeParse({ ...definition, source_version: { version_id: '9.14.0-100' } }).success).toBe(
      true,
    );
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
    expect(
      scc.rebootableAppliances.parse({ rebootable: [], exceptions: { disconnected: [appliance], other: 1 } })
        .exceptions!.disconnected,
    ).toEqual([appliance]);
    expect(scc.upgradeableAppliances.safeParse({ exceptions: { model_eol: [{ serial: 'bad' }] } }).success).toBe(false);
  });

  test('logging level and versions lists', () => {
    expect(scc.logging.safeParse({ level: 'emerg' }).success).toBe(false);
    expect(scc.productVersions.parse([{ product_code: 'EX', version: { version_id: '9.16.0-100' } }])).toHaveLength(1);
  });
});

/*
 * Every SCC schema against the seed (004_0a9e4182f6de5263.txt). Each sample fills in the seed's
 * own JSON template for the object, every property present; the table says which properties the
 * seed requires, which are optional and which a request must not carry (Read-only).
 */
describe('SCC seed objects, one table', () => {
  type Scc = typeof import('../../domain/scc');
  type Schema = import('zod').ZodType;

  const version = (id: string) => ({
    version_id: id,
    version_number: id.split('-')[0]!,
    build_number: id.split('-')[1]!,
    build_timestamp: 1_704_067_200,
  });
  const time = (datetime: number, time_type = 'utc') => ({ datetime, time_type });
  const applianceSample = {
    product_code: 'SH',
    arch: 'x86_64',
    serial: 'S12AB12345678',
    model: 'CX780',
    hostname: 'branch-1',
    ip_address: '10.0.0.1',
    current_version: version('9.14.0-100'),
    connected: true,
    time_zone: 'Europe/Berlin',
    entitled: true,
    read_only: false,
    groups: ['emea'],
  };
  const definition = {
    product_code: 'SH',
    arch: 'x86_64',
    target_version: version('9.16.0-100'),
    delta: false,
    source_version: version('9.14.0-100'),
  };
  const entry = { timestamp: 1_790_000_000, log_entry: 'upgrade started', severity: 'info' };
  const upgradeRequest = {
    username: 'alice',
    product_code: 'SH',
    upgrade_time: time(1_790_000_000, 'local'),
    target_version: version('9.16.0-100'),
    reboot: true,
    reboot_time: time(1_790_003_600),
    esxi_force: false,
    comment: 'q4',
    appliances: ['S12AB12345678'],
  };
  const downgradeRequest = {
    username: 'alice',
    product_code: 'SH',
    downgrade_time: time(1_790_000_000),
    target_version: version('9.12.0-100'),
    reboot: false,
    reboot_time: time(1_790_003_600),
    esxi_force: true,
    comment: 'back',
    appliances: ['S12AB12345678'],
  };
  const rebootRequest = {
    username: 'alice',
    switch_partition: true,
    reboot_time: time(1_790_003_600),
    comment: 'reboot',
    appliances: ['S12AB12345678'],
  };
  const assigned = { id: '1790000000001', create_time: '2026-09-21T10:00:00.000Z', status: 'scheduled' };
  const upgradeTask = {
    operation_id: '1',
    serial: 'S12AB12345678',
    upgrade_time: time(1_790_000_000),
    task_start_time: time(1_790_000_060),
    target_version: version('9.16.0-100'),
    reboot: true,
    reboot_time: time(1_790_003_600),
    esxi_force: false,
    current_version: version('9.14.0-100'),
    hostname: 'branch-1',
  };
  const { upgrade_time: _u, ...downgradeBase } = upgradeTask;
  const downgradeTask = {
    ...downgradeBase,
    downgrade_time: time(1_790_000_000),
    target_version: version('9.12.0-100'),
    reboot: false,
  };
  const rebootTask = {
    operation_id: '2',
    serial: 'S12AB12345678',
    switch_partition: true,
    reboot_time: time(1_790_003_600),
    task_start_time: time(1_790_003_601),
    deferred: true,
    hostname: 'branch-1',
  };
  const oneOfEach = (categories: readonly string[]) =>
    Object.fromEntries(categories.map((c) => [c, [{ ...applianceSample, serial: 'S1312345678' }]]));

  interface Row {
    schema: Schema;
    sample: Record<string, unknown>;
    required: string[];
    optional: string[];
    readOnly?: string[];
  }
  const rows: Record<string, Row> = {
    version: {
      schema: scc.version,
      sample: version('9.16.0-100'),
      required: ['version_id'],
      optional: ['version_number', 'build_number', 'build_timestamp'],
    },
    scheduled_time: {
      schema: scc.scheduledTime,
      sample: time(1_790_000_000, 'local'),
      required: ['datetime', 'time_type'],
      optional: [],
    },
    log_entry: { schema: scc.logEntry, sample: entry, required: ['timestamp', 'severity', 'log_entry'], optional: [] },
    image_definition: {
      schema: scc.imageDefinition,
      sample: definition,
      required: ['product_code', 'arch', 'target_version', 'delta'],
      optional: ['source_version'],
    },
    image: {
      schema: scc.image,
      sample: { id: 'img-1', image_definition: definition, image_sources: ['local', 'customer_url'] },
      required: ['id', 'image_definition', 'image_sources'],
      optional: [],
    },
    locally_hosted_image: {
      schema: scc.locallyHostedImage,
      sample: { id: 'lo-1', image_definition: definition, modification_time: 1_790_000_000 },
      required: ['id', 'image_definition', 'modification_time'],
      optional: [],
    },
    'locally_hosted_images upload request': {
      schema: scc.locallyHostedImageUpload,
      sample: { url: 'file:///var/tmp/sh-9.16.0.img', image_definition: definition },
      required: [],
      optional: ['url', 'image_definition'],
      readOnly: ['id'],
    },
    customer_url_hosted_image: {
      schema: scc.customerUrlHostedImage,
      sample: {
        id: 'cu-1',
        image_definition: definition,
        url: 'https://cdn.example/sh.img',
        registration_time: 1_790_000_000,
      },
      required: ['id', 'image_definition', 'url', 'registration_time'],
      optional: [],
    },
    'customer_url_hosted_images register request': {
      schema: scc.customerUrlHostedImageRegister,
      sample: { url: 'https://cdn.example/sh.img', image_definition: definition },
      required: [],
      optional: ['url', 'image_definition'],
    },
    riverbed_hosted_image: {
      schema: scc.riverbedHostedImage,
      sample: {
        id: 'rb-1',
        image_definition: definition,
        url: 'https://support.example/sh.img',
        source_versions: [version('9.12.0-100'), version('9.14.0-100')],
      },
      required: ['image_definition', 'url', 'source_versions'],
      optional: ['id'],
    },
    appliance: {
      schema: scc.appliance,
      sample: applianceSample,
      required: ['product_code', 'serial', 'connected'],
      optional: [
        'arch',
        'model',
        'hostname',
        'ip_address',
        'current_version',
        'time_zone',
        'entitled',
        'read_only',
        'groups',
      ],
    },
    upgradeable_appliances: {
      schema: scc.upgradeableAppliances,
      sample: { upgradeable: [applianceSample], exceptions: oneOfEach(scc.UPGRADE_EXCEPTION_CATEGORIES) },
      required: [],
      optional: ['upgradeable', 'exceptions'],
    },
    'upgradeable_appliances.exceptions': {
      schema: scc.upgradeExceptions,
      sample: oneOfEach(scc.UPGRADE_EXCEPTION_CATEGORIES),
      required: [],
      optional: [...scc.UPGRADE_EXCEPTION_CATEGORIES],
    },
    downgradeable_appliances: {
      schema: scc.downgradeableAppliances,
      sample: { downgradeable: [applianceSample], exceptions: oneOfEach(scc.DOWNGRADE_EXCEPTION_CATEGORIES) },
      required: [],
      optional: ['downgradeable', 'exceptions'],
    },
    'downgradeable_appliances.exceptions': {
      schema: scc.downgradeExceptions,
      sample: oneOfEach(scc.DOWNGRADE_EXCEPTION_CATEGORIES),
      required: [],
      optional: [...scc.DOWNGRADE_EXCEPTION_CATEGORIES],
    },
    rebootable_appliances: {
      schema: scc.rebootableAppliances,
      sample: { rebootable: [applianceSample], exceptions: oneOfEach(scc.REBOOT_EXCEPTION_CATEGORIES) },
      required: [],
      optional: ['rebootable', 'exceptions'],
    },
    'rebootable_appliances.exceptions': {
      schema: scc.rebootExceptions,
      sample: oneOfEach(scc.REBOOT_EXCEPTION_CATEGORIES),
      required: [],
      optional: [...scc.REBOOT_EXCEPTION_CATEGORIES],
    },
    'upgradeable_versions[items]': {
      schema: scc.productVersion,
      sample: { product_code: 'SH', version: version('9.16.0-100') },
      required: ['product_code', 'version'],
      optional: [],
    },
    'upgrade_operation (request)': {
      schema: scc.upgradeOperationRequest,
      sample: upgradeRequest,
      required: ['product_code', 'target_version', 'reboot', 'comment', 'appliances'],
      optional: ['username', 'upgrade_time', 'reboot_time', 'esxi_force'],
      readOnly: ['id', 'create_time', 'status', 'reboot_id'],
    },
    // The resource also requires id, create_time and status: the service always assigns them.
    upgrade_operation: {
      schema: scc.upgradeOperation,
      sample: { ...assigned, ...upgradeRequest, reboot_id: 1790000000002 },
      required: [
        'username',
        'product_code',
        'target_version',
        'reboot',
        'comment',
        'appliances',
        'id',
        'create_time',
        'status',
      ],
      optional: ['upgrade_time', 'reboot_time', 'esxi_force', 'reboot_id'],
    },
    'downgrade_operation (request)': {
      schema: scc.downgradeOperationRequest,
      sample: downgradeRequest,
      required: ['product_code', 'target_version', 'reboot', 'comment', 'appliances'],
      optional: ['username', 'downgrade_time', 'reboot_time', 'esxi_force'],
      readOnly: ['id', 'create_time', 'status', 'reboot_id'],
    },
    downgrade_operation: {
      schema: scc.downgradeOperation,
      sample: { ...assigned, ...downgradeRequest },
      required: [
        'username',
        'product_code',
        'target_version',
        'reboot',
        'comment',
        'appliances',
        'id',
        'create_time',
        'status',
      ],
      optional: ['downgrade_time', 'reboot_time', 'esxi_force'],
    },
    'reboot_operation (request)': {
      schema: scc.rebootOperationRequest,
      sample: rebootRequest,
      required: ['comment', 'appliances'],
      optional: ['username', 'switch_partition', 'reboot_time'],
      readOnly: ['id', 'create_time', 'status', 'upgrade_id', 'downgrade_id'],
    },
    reboot_operation: {
      schema: scc.rebootOperation,
      sample: { ...assigned, ...rebootRequest, upgrade_id: '1790000000001', downgrade_id: '1790000000003' },
      required: ['username', 'comment', 'appliances', 'id', 'create_time', 'status'],
      optional: ['switch_partition', 'reboot_time', 'upgrade_id', 'downgrade_id'],
    },
    upgrade_operation_log: {
      schema: scc.upgradeOperationLog,
      sample: { operation_id: '1', log: [entry] },
      required: ['log'],
      optional: ['operation_id'],
    },
    downgrade_operation_log: {
      schema: scc.downgradeOperationLog,
      sample: { operation_id: '1', log: [entry] },
      required: ['log'],
      optional: ['operation_id'],
    },
    reboot_operation_log: {
      schema: scc.rebootOperationLog,
      sample: { operation_id: '1', log: [] },
      required: ['log'],
      optional: ['operation_id'],
    },
    appliance_upgrade_task: {
      schema: scc.applianceUpgradeTask,
      sample: upgradeTask,
      required: ['operation_id', 'target_version', 'reboot', 'current_version'],
      optional: ['serial', 'upgrade_time', 'task_start_time', 'reboot_time', 'esxi_force', 'hostname'],
    },
    appliance_downgrade_task: {
      schema: scc.applianceDowngradeTask,
      sample: downgradeTask,
      required: ['operation_id', 'serial', 'target_version', 'reboot', 'current_version'],
      optional: ['downgrade_time', 'task_start_time', 'reboot_time', 'esxi_force', 'hostname'],
    },
    appliance_reboot_task: {
      schema: scc.applianceRebootTask,
      sample: rebootTask,
      required: ['operation_id', 'serial'],
      optional: ['switch_partition', 'reboot_time', 'task_start_time', 'deferred', 'hostname'],
    },
    appliance_upgrade_task_state: {
      schema: scc.applianceUpgradeTaskState,
      sample: { operation_id: '1', serial: 'S12AB12345678', status: 'running', stage: 'patching' },
      required: ['status', 'stage'],
      optional: ['operation_id', 'serial'],
    },
    appliance_downgrade_task_state: {
      schema: scc.applianceDowngradeTaskState,
      sample: { operation_id: '1', serial: 'S12AB12345678', status: 'running', stage: 'installing' },
      required: ['status', 'stage'],
      optional: ['operation_id', 'serial'],
    },
    appliance_reboot_task_state: {
      schema: scc.applianceRebootTaskState,
      sample: { operation_id: '2', serial: 'S12AB12345678', status: 'running', stage: 'reboot_wait' },
      required: ['status', 'stage'],
      optional: ['operation_id', 'serial'],
    },
    'appliance_upgrade_task_state (set)': {
      schema: scc.applianceUpgradeTaskStateSetRequest,
      sample: { status: 'failed', stage: 'failed' },
      required: ['status', 'stage'],
      optional: [],
      readOnly: ['operation_id', 'serial'],
    },
    'appliance_downgrade_task_state (set)': {
      schema: scc.applianceDowngradeTaskStateSetRequest,
      sample: { status: 'cancelled', stage: 'cancelled' },
      required: ['status', 'stage'],
      optional: [],
      readOnly: ['operation_id', 'serial'],
    },
    'appliance_reboot_task_state (set)': {
      schema: scc.applianceRebootTaskStateSetRequest,
      sample: { status: 'successful', stage: 'completed' },
      required: ['status', 'stage'],
      optional: [],
      readOnly: ['operation_id', 'serial'],
    },
    appliance_upgrade_task_log: {
      schema: scc.applianceUpgradeTaskLog,
      sample: { operation_id: '1', serial: 'S12AB12345678', log: [entry] },
      required: ['log'],
      optional: ['operation_id', 'serial'],
    },
    appliance_downgrade_task_log: {
      schema: scc.applianceDowngradeTaskLog,
      sample: { operation_id: '1', serial: 'S12AB12345678', log: [entry] },
      required: ['log'],
      optional: ['operation_id', 'serial'],
    },
    appliance_reboot_task_log: {
      schema: scc.applianceRebootTaskLog,
      sample: { operation_id: '2', serial: 'S12AB12345678', log: [entry, { ...entry, severity: 'emerg' }] },
      required: ['log'],
      optional: ['operation_id', 'serial'],
    },
    logging: { schema: scc.logging, sample: { level: 'notice' }, required: ['level'], optional: [] },
  };
  const table = Object.entries(rows);

  // Against the schema itself: it declares every seed property of the table and requires exactly the required ones
  // (what it adds beyond the seed, the extensions, is optional: a client following the seed is never refused for it).
  test.each(table)(
    "%s: the schema declares the table's properties, requires just the required ones, and the sample sets each",
    (_name, row) => {
      const json = z.toJSONSchema(row.schema, { io: 'input', unrepresentable: 'any' }) as {
        properties?: object;
        required?: string[];
      };
      expect(Object.keys(json.properties ?? {})).toEqual(
        expect.arrayContaining([...row.required, ...row.optional, ...(row.readOnly ?? [])]),
      );
      expect([...(json.required ?? [])].sort()).toEqual([...row.required].sort());
      expect(Object.keys(row.sample).sort()).toEqual([...row.required, ...row.optional].sort());
    },
  );

  test.each(table)('%s: the seed-shaped sample parses to itself', (_name, row) => {
    const result = row.schema.safeParse(row.sample);
    expect(result.error?.issues).toBeUndefined();
    expect(result.data).toEqual(row.sample);
  });

  const requiredCases = table.flatMap(([name, row]) => row.required.map((field) => [name, field, row] as const));
  test.each(requiredCases)('%s: without required %s it fails at that field', (_name, field, row) => {
    const { [field]: _dropped, ...rest } = row.sample;
    const result = row.schema.safeParse(rest);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toContain(field);
  });

  const optionalCases = table.flatMap(([name, row]) => row.optional.map((field) => [name, field, row] as const));
  test.each(optionalCases)('%s: optional %s may be left out', (_name, field, row) => {
    const { [field]: _dropped, ...rest } = row.sample;
    expect(row.schema.safeParse(rest).data).toEqual(rest);
  });

  const readOnlyCases = table.flatMap(([name, row]) =>
    (row.readOnly ?? []).map((field) => [name, field, row] as const),
  );
  test.each(readOnlyCases)(
    '%s: read-only %s is documented readOnly, and refused (naming it) when of another type',
    (_name, field, row) => {
      const json = z.toJSONSchema(row.schema, { io: 'input', unrepresentable: 'any' }) as {
        properties: Record<string, { readOnly?: boolean }>;
      };
      expect(json.properties[field]!.readOnly).toBe(true);
      for (const value of [null, { a: 1 }]) {
        const result = row.schema.safeParse({ ...row.sample, [field]: value });
        expect(result.success).toBe(false);
        expect(result.error!.issues).toEqual([expect.objectContaining({ path: [field] })]);
      }
    },
  );

  test.each(table)('%s: an extension property survives a parse, also inside nested seed objects', (_name, row) => {
    const extended = { ...row.sample, x_rollout: { canary: 1, waves: [5, 100] } };
    const parsed = row.schema.parse(extended) as Record<string, unknown>;
    expect(parsed.x_rollout).toEqual({ canary: 1, waves: [5, 100] });
    expect(parsed).toEqual(extended);
  });

  test('nested seed objects keep their own extension properties', () => {
    const operation = {
      ...upgradeRequest,
      target_version: { ...upgradeRequest.target_version, channel: 'ga' },
      upgrade_time: { ...upgradeRequest.upgrade_time, zone_hint: 'tz' },
    };
    expect(scc.upgradeOperationRequest.parse(operation)).toEqual(operation);
    const withNestedExceptions = {
      exceptions: { ...oneOfEach(scc.REBOOT_EXCEPTION_CATEGORIES), vendor_hold: [applianceSample] },
    };
    expect(scc.rebootableAppliances.parse(withNestedExceptions)).toEqual(withNestedExceptions);
    const definitionExt = {
      ...definition,
      vendor: 'x',
      source_version: { ...definition.source_version, hotfix: true },
    };
    expect(
      scc.riverbedHostedImage.parse({ image_definition: definitionExt, url: 'u', source_versions: [] })
        .image_definition,
    ).toEqual(definitionExt);
  });

  test.each([
    [
      'target_version.version_id',
      scc.upgradeOperation,
      { ...assigned, ...upgradeRequest, target_version: { version_number: '9.16.0' } },
    ],
    ['reboot_time.datetime', scc.downgradeOperationRequest, { ...downgradeRequest, reboot_time: { time_type: 'utc' } }],
    ['reboot_time.time_type', scc.rebootOperationRequest, { ...rebootRequest, reboot_time: { datetime: 1 } }],
    ['current_version.version_id', scc.applianceUpgradeTask, { ...upgradeTask, current_version: {} }],
    [
      'image_definition.arch',
      scc.locallyHostedImage,
      { id: 'x', image_definition: { ...definition, arch: undefined }, modification_time: 1 },
    ],
    [
      'source_versions.0.version_id',
      scc.riverbedHostedImage,
      { image_definition: definition, url: 'u', source_versions: [{}] },
    ],
    [
      'exceptions.not_supported.0.connected',
      scc.downgradeableAppliances,
      { exceptions: { not_supported: [{ ...applianceSample, connected: undefined }] } },
    ],
    ['log.0.severity', scc.applianceTaskLog, { log: [{ timestamp: 1, log_entry: 'x' }] }],
  ] as const)('a missing required property of a nested object is named by its path: %s', (path, schema, value) => {
    const result = (schema as Schema).safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  test('enumerations are exactly the seed values', () => {
    expect(scc.PRODUCT_CODES).toEqual(['SH', 'EX', 'IC', 'SMC', 'WW', 'GC']);
    expect(scc.ARCHES).toEqual(['x86_64', 'i386']);
    expect(scc.TIME_TYPES).toEqual(['utc', 'local']);
    expect(scc.IMAGE_REPOSITORIES).toEqual(['customer', 'riverbed']);
    expect(scc.IMAGE_SOURCES).toEqual(['local', 'customer_url', 'riverbed']);
    expect(scc.OPERATION_STATUSES).toEqual([
      'scheduled',
      'running',
      'successful',
      'partially_successful',
      'failed',
      'cancelled',
    ]);
    expect(scc.APPLIANCE_TASK_STATUSES).toEqual(['scheduled', 'running', 'successful', 'failed', 'cancelled']);
    // The seed's stages, with the extension stages of rollout safety (health_check, rolling_back) before the final ones.
    expect(scc.SAFETY_TASK_STAGES).toEqual(['health_check', 'rolling_back']);
    expect(scc.UPGRADE_TASK_STAGES).toEqual([
      'waiting',
      'initiating',
      'downloading',
      'patching',
      'installing',
      'health_check',
      'rolling_back',
      'completed',
      'failed',
      'cancelled',
    ]);
    expect(scc.DOWNGRADE_TASK_STAGES).toEqual([
      'waiting',
      'initiating',
      'downloading',
      'installing',
      'health_check',
      'rolling_back',
      'completed',
      'failed',
      'cancelled',
    ]);
    expect(scc.REBOOT_TASK_STAGES).toEqual([
      'waiting',
      'initiating',
      'rebooting',
      'reboot_wait',
      'completed',
      'failed',
      'cancelled',
    ]);
    expect(scc.LOG_SEVERITIES).toEqual(['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug']);
    expect(scc.LOGGING_LEVELS).toEqual(['crit', 'err', 'warning', 'notice', 'info', 'debug']);
    expect(scc.UPGRADE_EXCEPTION_CATEGORIES).toEqual([
      'unentitled',
      'model_eol',
      'read_only',
      'disconnected',
      'not_supported',
      'no_i386_image',
      'no_x86_64_image',
      'operation_in_progress',
      'same_or_newer_version',
    ]);
    expect(scc.DOWNGRADE_EXCEPTION_CATEGORIES).toEqual([
      'read_only',
      'disconnected',
      'not_supported',
      'not_previously_upgraded_to',
      'no_i386_image',
      'no_x86_64_image',
      'operation_in_progress',
      'same_or_older_version',
    ]);
    expect(scc.REBOOT_EXCEPTION_CATEGORIES).toEqual([
      'read_only',
      'disconnected',
      'not_supported',
      'operation_in_progress',
    ]);
    expect(scc.REPOSITORY_OF_SOURCE).toEqual({ local: 'customer', customer_url: 'customer', riverbed: 'riverbed' });
  });

  const enumCases: { name: string; schema: Schema; good: unknown; bad: unknown }[] = [
    { name: 'product_code', schema: scc.productCode, good: 'SMC', bad: 'smc' },
    { name: 'arch', schema: scc.arch, good: 'i386', bad: 'arm64' },
    { name: 'operation_status', schema: scc.operationStatus, good: 'partially_successful', bad: 'partial' },
    { name: 'appliance_task_status', schema: scc.applianceTaskStatus, good: 'cancelled', bad: 'partially_successful' },
    { name: 'appliance_upgrade_task_stage', schema: scc.applianceUpgradeTaskStage, good: 'patching', bad: 'rebooting' },
    {
      name: 'appliance_downgrade_task_stage',
      schema: scc.applianceDowngradeTaskStage,
      good: 'installing',
      bad: 'patching',
    },
    {
      name: 'appliance_reboot_task_stage',
      schema: scc.applianceRebootTaskStage,
      good: 'reboot_wait',
      bad: 'downloading',
    },
    { name: 'image_repository', schema: scc.imageRepository, good: 'riverbed', bad: 'local' },
    { name: 'image_source', schema: scc.imageSource, good: 'customer_url', bad: 'customer' },
    { name: 'logging_level', schema: scc.loggingLevel, good: 'debug', bad: 'emerg' },
    { name: 'logging_level', schema: scc.loggingLevel, good: 'crit', bad: 'alert' },
    { name: 'username', schema: scc.username, good: 'alice', bad: 7 },
    { name: 'timestamp', schema: scc.timestamp, good: 1_790_000_000.5, bad: '1790000000' },
    { name: 'serial', schema: scc.serial, good: 'S12AB12345678', bad: 'S12-12345678' },
  ];
  test.each(enumCases)('$name accepts $good and refuses $bad', ({ schema, good, bad }) => {
    expect(schema.safeParse(good).success).toBe(true);
    expect(schema.safeParse(bad).success).toBe(false);
  });

  test('the exception objects have one key per category of the seed', () => {
    expect(Object.keys(scc.upgradeExceptions.shape)).toEqual([...scc.UPGRADE_EXCEPTION_CATEGORIES]);
    expect(Object.keys(scc.downgradeExceptions.shape)).toEqual([...scc.DOWNGRADE_EXCEPTION_CATEGORIES]);
    expect(Object.keys(scc.rebootExceptions.shape)).toEqual([...scc.REBOOT_EXCEPTION_CATEGORIES]);
    // What domain/eligibility.ts answers (every category present) is a valid resource, checked by the compiler:
    const answer = (a: scc.UpgradeableAppliances): z.input<Scc['upgradeableAppliances']> => a;
    const downgrade = (a: scc.DowngradeableAppliances): z.input<Scc['downgradeableAppliances']> => a;
    const reboot = (a: scc.RebootableAppliances): z.input<Scc['rebootableAppliances']> => a;
    expect([answer, downgrade, reboot]).toHaveLength(3);
  });

  test('a delta image definition needs source_version; a full one may omit it', () => {
    const { source_version: _s, ...full } = definition;
    expect(scc.imageDefinition.parse(full)).toEqual(full);
    const result = scc.imageDefinition.safeParse({ ...full, delta: true });
    expect(result.error!.issues).toEqual([
      expect.objectContaining({ path: ['source_version'], message: 'a delta image needs a source_version' }),
    ]);
  });

  test('the per-kind stages of task states are the seed lists', () => {
    for (const stage of scc.UPGRADE_TASK_STAGES)
      expect(scc.applianceUpgradeTaskState.safeParse({ status: 'running', stage }).success).toBe(true);
    expect(
      scc.applianceDowngradeTaskStateSetRequest.safeParse({ status: 'running', stage: 'patching' }).error!.issues[0]!
        .path,
    ).toEqual(['stage']);
    expect(
      scc.applianceRebootTaskStateSetRequest.safeParse({ status: 'running', stage: 'installing' }).error!.issues[0]!
        .path,
    ).toEqual(['stage']);
    expect(
      scc.applianceUpgradeTaskStateSetRequest.safeParse({ status: 'partially_successful', stage: 'failed' }).error!
        .issues[0]!.path,
    ).toEqual(['status']);
  });

  test('lists: images, hosted images, appliances, versions, operations, connected product codes', () => {
    const each: [Schema, unknown[]][] = [
      [scc.images, [rows.image!.sample]],
      [scc.imageRepositories, ['customer', 'riverbed']],
      [scc.locallyHostedImages, [rows.locally_hosted_image!.sample]],
      [scc.customerUrlHostedImages, [rows.customer_url_hosted_image!.sample]],
      [scc.riverbedHostedImages, [rows.riverbed_hosted_image!.sample]],
      [scc.appliances, [applianceSample, { product_code: 'EX', serial: 'S1312345678', connected: false }]],
      [scc.upgradeableVersions, [rows['upgradeable_versions[items]']!.sample]],
      [scc.downgradeableVersions, [{ product_code: 'EX', version: { version_id: '9.12.0-100' } }]],
      [scc.upgradeOperations, [rows.upgrade_operation!.sample]],
      [scc.downgradeOperations, [rows.downgrade_operation!.sample]],
      [scc.rebootOperations, [rows.reboot_operation!.sample]],
      [scc.log, [entry]],
      [scc.connectedProductCodes, ['SH', 'EX', 'GC']],
    ];
    for (const [schema, items] of each) {
      expect(schema.parse(items)).toEqual(items);
      expect(schema.parse([])).toEqual([]);
      expect(schema.safeParse([...items, 42]).success).toBe(false);
      expect(schema.safeParse({}).success).toBe(false);
    }
    expect(scc.connectedProductCodes.safeParse(['SH', 'SH']).error!.issues[0]!.message).toBe(
      'product codes must be unique',
    );
  });

  test('operation list and image list queries', () => {
    expect(
      scc.operationsQuery.parse({
        username: 'alice',
        status: 'running',
        time_lower_bound: '1790000000',
        time_upper_bound: '1790003600.5',
      }),
    ).toEqual({
      username: 'alice',
      status: 'running',
      time_lower_bound: 1_790_000_000,
      time_upper_bound: 1_790_003_600.5,
    });
    expect(scc.operationsQuery.parse({})).toEqual({});
    for (const [query, field] of [
      [{ time_lower_bound: '-1' }, 'time_lower_bound'],
      [{ time_upper_bound: 'soon' }, 'time_upper_bound'],
      [{ time_upper_bound: '' }, 'time_upper_bound'],
      [{ status: 'done' }, 'status'],
    ] as const) {
      const result = scc.operationsQuery.safeParse(query);
      expect(result.error!.issues[0]!.path).toEqual([field]);
    }
    expect(scc.operationsQuery.safeParse({ time_lower_bound: '-1' }).error!.issues[0]!.message).toContain(
      'time_lower_bound',
    );
    expect(scc.operationsQuery.safeParse({ page: '2' }).success).toBe(false);
    expect(scc.imagesQuery.parse({ product_code: 'SH' })).toEqual({ product_code: 'SH' });
    expect(scc.imagesQuery.safeParse({ product_code: 'XX' }).error!.issues[0]!.path).toEqual(['product_code']);
  });
});
