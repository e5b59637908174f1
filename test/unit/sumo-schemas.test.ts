import { z } from 'zod';
import * as sumo from '../../domain/sumo';
import {
  collector,
  createUpgradeTaskRequest,
  targets,
  upgradableCollectorsQuery,
  upgradeTaskResponse,
} from '../../domain/sumo';

test('the seed samples parse, unknown fields kept', () => {
  const sample = {
    id: 100000000,
    name: 'SumoCollector_Local',
    hostName: 'TestHost',
    collectorType: 'Installable',
    collectorVersion: '20.1-2749',
    alive: true,
    lastSeenAlive: 1465848876035,
    fields: { team: 'a' },
  };
  expect(collector.parse(sample)).toEqual(sample);
  expect(
    targets.parse({
      targets: [
        { version: '19.115-37', latest: false },
        { version: '20.1-2749', latest: true },
      ],
    }).targets,
  ).toHaveLength(2);
  expect(
    upgradeTaskResponse.parse({
      upgrade: {
        id: 12345,
        collectorId: 100000000,
        toVersion: '19.152-1',
        requestTime: 1465855411044,
        status: 2,
        message: '',
      },
    }).upgrade.status,
  ).toBe(2);
});

test('only the documented status codes', () => {
  const task = { collectorId: 1, toVersion: '19.152-1', requestTime: 1, message: '' };
  for (const status of [0, 1, 2, 3, 6])
    expect(upgradeTaskResponse.safeParse({ upgrade: { ...task, status } }).success).toBe(true);
  for (const status of [4, 5, 7, -1])
    expect(upgradeTaskResponse.safeParse({ upgrade: { ...task, status } }).success).toBe(false);
});

test('collector type and alive are required', () => {
  const result = collector.safeParse({ id: 1, name: 'x', alive: true });
  expect(result.success).toBe(false);
  expect(result.error!.issues[0]!.path).toEqual(['collectorType']);
});

test('list query: defaults offset 0 and limit 50, strings coerced, bad values named', () => {
  expect(upgradableCollectorsQuery.parse({})).toEqual({ offset: 0, limit: 50 });
  expect(upgradableCollectorsQuery.parse({ offset: '10', limit: '5', toVersion: '19.152-1' })).toEqual({
    offset: 10,
    limit: 5,
    toVersion: '19.152-1',
  });
  for (const [query, field] of [
    [{ limit: '0' }, 'limit'],
    [{ limit: 'x' }, 'limit'],
    [{ offset: '-1' }, 'offset'],
    [{ offset: '1.5' }, 'offset'],
  ] as const) {
    const result = upgradableCollectorsQuery.safeParse(query);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual([field]);
    expect(result.error!.issues[0]!.message).toContain(field);
  }
  expect(upgradableCollectorsQuery.safeParse({ page: '1' }).success).toBe(false);
});

test('create request: collectorId required, toVersion optional', () => {
  expect(createUpgradeTaskRequest.parse({ collectorId: 100000000 })).toEqual({ collectorId: 100000000 });
  const missing = createUpgradeTaskRequest.safeParse({ toVersion: '19.152-1' });
  expect(missing.error!.issues[0]!.message).toBe('collectorId is required (a collector id, a number)');
});

/*
 * Every Sumo schema against the seed (000_4a2ab05fa86effe6.txt): its sample documents verbatim
 * (the targets sample without its "..." line), what is required, what may be left out, and that
 * unknown fields survive.
 */
describe('Sumo seed objects, one table', () => {
  type Schema = import('zod').ZodType;

  const seedCollector = {
    id: 100000000,
    name: 'SumoCollector_Local',
    hostName: 'TestHost',
    timeZone: 'UTC',
    links: [{ rel: 'sources', href: '/v1/collectors/100000000/sources' }],
    ephemeral: false,
    sourceSyncMode: 'UI',
    collectorType: 'Installable',
    collectorVersion: '20.1-2749',
    osVersion: '10.11.5',
    osName: 'Mac OS X',
    osArch: 'x86_64',
    lastSeenAlive: 1465848876035,
    alive: true,
  };
  const seedTask = {
    id: 12345,
    collectorId: 100000000,
    toVersion: '19.152-1',
    requestTime: 1465855411044,
    status: 2,
    message: '',
  };

  interface Row {
    schema: Schema;
    sample: Record<string, unknown>;
    required: string[];
    optional: string[];
  }
  const rows: Record<string, Row> = {
    collector: {
      schema: sumo.collector,
      sample: seedCollector,
      required: ['id', 'name', 'collectorType', 'alive'],
      optional: [
        'hostName',
        'timeZone',
        'links',
        'ephemeral',
        'sourceSyncMode',
        'collectorVersion',
        'osVersion',
        'osName',
        'osArch',
        'lastSeenAlive',
      ],
    },
    'upgradable collectors (answer)': {
      schema: sumo.upgradableCollectors,
      sample: { collectors: [seedCollector] },
      required: ['collectors'],
      optional: [],
    },
    link: {
      schema: sumo.collectorLink,
      sample: { rel: 'self', href: '/v1/collectors/upgrades/12345' },
      required: ['rel', 'href'],
      optional: [],
    },
    target: {
      schema: sumo.target,
      sample: { version: '20.1-2749', latest: true },
      required: ['version', 'latest'],
      optional: [],
    },
    'targets (answer)': {
      schema: sumo.targets,
      sample: {
        targets: [
          { version: '19.115-37', latest: false },
          { version: '20.1-2749', latest: true },
        ],
      },
      required: ['targets'],
      optional: [],
    },
    'upgrade task status': {
      schema: sumo.upgradeTask,
      sample: seedTask,
      required: ['collectorId', 'toVersion', 'requestTime', 'status', 'message'],
      optional: ['id'],
    },
    'upgrade task status (answer)': {
      schema: sumo.upgradeTaskResponse,
      sample: { upgrade: seedTask },
      required: ['upgrade'],
      optional: [],
    },
    'create request': {
      schema: sumo.createUpgradeTaskRequest,
      sample: { collectorId: 100000000, toVersion: '19.152-1' },
      required: ['collectorId'],
      optional: ['toVersion'],
    },
    'create answer': {
      schema: sumo.createUpgradeTaskResponse,
      sample: { id: '12345', link: { rel: 'self', href: '/v1/collectors/upgrades/12345' } },
      required: ['id', 'link'],
      optional: [],
    },
    'error body': {
      schema: sumo.sumoError,
      sample: { status: 400, id: 'R5T2K-9XQ3P', code: 'collector.not.alive', message: 'The Collector is not running.' },
      required: ['status', 'id', 'code', 'message'],
      optional: [],
    },
  };
  const table = Object.entries(rows);

  // Against the schema itself: it declares every seed field of the table and requires exactly the required ones
  // (what it adds beyond the seed, the extensions, is optional: a client following the seed is never refused for it).
  test.each(table)(
    "%s: the schema declares the table's fields, requires just the required ones, and the sample sets each",
    (_name, row) => {
      const json = z.toJSONSchema(row.schema, { io: 'input', unrepresentable: 'any' }) as {
        properties?: object;
        required?: string[];
      };
      expect(Object.keys(json.properties ?? {})).toEqual(expect.arrayContaining([...row.required, ...row.optional]));
      expect([...(json.required ?? [])].sort()).toEqual([...row.required].sort());
      expect(Object.keys(row.sample).sort()).toEqual([...row.required, ...row.optional].sort());
    },
  );

  test.each(table)('%s: the seed sample parses to itself', (_name, row) => {
    const result = row.schema.safeParse(row.sample);
    expect(result.error?.issues).toBeUndefined();
    expect(result.data).toEqual(row.sample);
  });

  const requiredCases = table.flatMap(([name, row]) => row.required.map((field) => [name, field, row] as const));
  test.each(requiredCases)('%s: without %s it fails at that field', (_name, field, row) => {
    const { [field]: _dropped, ...rest } = row.sample;
    const result = row.schema.safeParse(rest);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toContain(field);
  });

  const optionalCases = table.flatMap(([name, row]) => row.optional.map((field) => [name, field, row] as const));
  test.each(optionalCases)('%s: %s may be left out', (_name, field, row) => {
    const { [field]: _dropped, ...rest } = row.sample;
    expect(row.schema.safeParse(rest).data).toEqual(rest);
  });

  test.each(table)('%s: an unknown field survives a parse', (_name, row) => {
    const extended = { ...row.sample, fields: { team: 'ops' } };
    expect(row.schema.parse(extended)).toEqual(extended);
  });

  test('nested unknown fields survive too (a collector inside the list answer, a task inside its answer)', () => {
    const answer = {
      collectors: [{ ...seedCollector, category: 'prod', links: [{ rel: 'sources', href: '/x', method: 'GET' }] }],
    };
    expect(sumo.upgradableCollectors.parse(answer)).toEqual(answer);
    const task = { upgrade: { ...seedTask, timeoutSeconds: 1800 } };
    expect(sumo.upgradeTaskResponse.parse(task)).toEqual(task);
  });

  test("the field table spelling requestedTime is accepted next to the sample's requestTime, and must be a number", () => {
    expect(sumo.upgradeTask.parse({ ...seedTask, requestedTime: seedTask.requestTime }).requestedTime).toBe(
      1465855411044,
    );
    expect(sumo.upgradeTask.safeParse({ ...seedTask, requestedTime: 'now' }).error!.issues[0]!.path).toEqual([
      'requestedTime',
    ]);
  });

  test("status codes: exactly 0, 1, 2, 3 and 6, named in the seed's words", () => {
    expect(sumo.UPGRADE_TASK_STATUS_CODES).toEqual([0, 1, 2, 3, 6]);
    expect(sumo.UPGRADE_TASK_STATUS).toEqual({ notStarted: 0, pending: 1, succeeded: 2, failed: 3, progressing: 6 });
    expect(sumo.UPGRADE_TASK_STATUS_TEXT).toEqual({
      0: 'not started',
      1: 'pending, the upgrade is issued awaiting a response from the Collector',
      2: 'succeeded',
      3: 'failed',
      6: 'progressing, the upgrade is running on the Collector',
    });
    for (const code of [0, 1, 2, 3, 6]) expect(sumo.upgradeTaskStatusCode.parse(code)).toBe(code);
    for (const bad of [4, 5, 7, -1, 2.5, '2', null]) {
      const result = sumo.upgradeTask.safeParse({ ...seedTask, status: bad });
      expect(result.error!.issues).toEqual([
        expect.objectContaining({
          path: ['status'],
          message: 'status must be one of the upgrade task status codes 0, 1, 2, 3, 6',
        }),
      ]);
    }
    expect(sumo.UNFINISHED_UPGRADE_TASK_STATUSES).toEqual([0, 1, 6]);
  });

  test('collector type is Installable or Hosted; ids are integers', () => {
    expect(sumo.collector.parse({ ...seedCollector, collectorType: 'Hosted' }).collectorType).toBe('Hosted');
    expect(sumo.collector.safeParse({ ...seedCollector, collectorType: 'Cloud' }).error!.issues[0]!.path).toEqual([
      'collectorType',
    ]);
    expect(sumo.collector.safeParse({ ...seedCollector, id: 1.5 }).error!.issues[0]!.path).toEqual(['id']);
    expect(sumo.collector.safeParse({ ...seedCollector, id: '100000000' }).error!.issues[0]!.path).toEqual(['id']);
  });

  test('create request: collectorId must be an integer (named), toVersion a non-empty build', () => {
    for (const bad of [undefined, '100000000', 1.5, null]) {
      const issue = sumo.createUpgradeTaskRequest.safeParse({ collectorId: bad }).error!.issues[0]!;
      expect(issue.path).toEqual(['collectorId']);
      expect(issue.message).toContain('collectorId');
    }
    for (const bad of ['', 19, ['19.152-1']]) {
      const issue = sumo.createUpgradeTaskRequest.safeParse({ collectorId: 1, toVersion: bad }).error!.issues[0]!;
      expect(issue.path).toEqual(['toVersion']);
      expect(issue.message).toContain('toVersion');
    }
  });

  test('list query: coerced from query strings, defaults 0 and 50, bad values refused naming the parameter', () => {
    expect(sumo.upgradableCollectorsQuery.parse({ offset: '0', limit: '1' })).toEqual({ offset: 0, limit: 1 });
    expect(sumo.upgradableCollectorsQuery.parse({ offset: 7, limit: 500 })).toEqual({ offset: 7, limit: 500 });
    expect(sumo.upgradableCollectorsQuery.parse({ toVersion: '20.1-2749' })).toEqual({
      toVersion: '20.1-2749',
      offset: 0,
      limit: 50,
    });
    const bad: [Record<string, unknown>, 'offset' | 'limit' | 'toVersion'][] = [
      [{ offset: '-1' }, 'offset'],
      [{ offset: -1 }, 'offset'],
      [{ offset: '2.5' }, 'offset'],
      [{ offset: '' }, 'offset'],
      [{ offset: '0x10' }, 'offset'],
      [{ offset: '1e3' }, 'offset'],
      [{ offset: ['1', '2'] }, 'offset'],
      [{ limit: '-5' }, 'limit'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '10.0001' }, 'limit'],
      [{ limit: 'fifty' }, 'limit'],
      [{ toVersion: '' }, 'toVersion'],
      [{ toVersion: ['19.115-37', '20.1-2749'] }, 'toVersion'],
    ];
    for (const [query, field] of bad) {
      const issue = sumo.upgradableCollectorsQuery.safeParse(query).error!.issues[0]!;
      expect(issue.path).toEqual([field]);
      expect(issue.message).toContain(field);
    }
  });

  test('upgradeTaskID path parameter: a Long in digits', () => {
    expect(sumo.upgradeTaskIdParam.parse('12345')).toBe(12345);
    for (const bad of ['', 'abc', '-1', '1.5', '1234567890123456'])
      expect(sumo.upgradeTaskIdParam.safeParse(bad).error!.issues[0]!.message).toContain('upgradeTaskID');
  });

  test("error codes, their descriptions and the documented statuses are the seed's", () => {
    expect(sumo.UPGRADE_ERROR_CODES).toEqual([
      'collector.invalid',
      'collector.type.invalid',
      'collector.not.alive',
      'collector.in.upgrading',
      'collector.version.invalid',
    ]);
    expect(Object.keys(sumo.UPGRADE_ERROR_DESCRIPTIONS)).toEqual([...sumo.UPGRADE_ERROR_CODES]);
    expect(sumo.UPGRADE_ERROR_DESCRIPTIONS['collector.type.invalid']).toBe(
      'The Collector is not an Installed Collector (it is a Hosted Collector).',
    );
    for (const code of sumo.UPGRADE_ERROR_CODES) expect(sumo.upgradeErrorCode.parse(code)).toBe(code);
    expect(sumo.upgradeErrorCode.safeParse('collector.unknown').success).toBe(false);
    expect(sumo.SUMO_STATUS_TEXT).toEqual({
      200: 'OK',
      202: 'Accepted',
      400: 'Bad Request',
      404: 'Not found',
      415: 'Unsupported Media Type',
    });
    expect(
      sumo.sumoError.safeParse({ status: '400', id: 'x', code: 'collector.invalid', message: 'm' }).error!.issues[0]!
        .path,
    ).toEqual(['status']);
  });
});
