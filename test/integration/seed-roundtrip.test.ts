/**
 * Every seed object round-trips through zod and the store, on both backends (SQLite in a file,
 * PostgreSQL on a private server: test/helpers/store-backends.ts, as test/integration/store.test.ts
 * uses it): each object is valid by its schema, goes in through the store's own call, comes back
 * deep-equal (extension properties, nested ones too, included) and is still valid by its schema.
 */
import type { z } from 'zod';
import * as scc from '../../domain/scc';
import * as sumo from '../../domain/sumo';
import { FleetStore, type TaskRecord } from '../../store/fleet-store';
import { BACKENDS, type Backend } from '../helpers/store-backends';

// Seed objects, every documented property filled in, plus extension properties ----------------

const version = (id: string) => ({
  version_id: id,
  version_number: id.split('-')[0]!,
  build_number: id.split('-')[1]!,
  build_timestamp: 1_790_000_000,
  channel: 'ga',
});
const at = (datetime: number, time_type: 'utc' | 'local' = 'utc') => ({ datetime, time_type, note: 'x' });
const definition = (delta = false) => ({
  product_code: 'SH' as const,
  arch: 'x86_64' as const,
  target_version: version('9.16.0-100'),
  delta,
  ...(delta ? { source_version: version('9.14.0-100') } : {}),
  vendor_note: 'n',
});
const SERIAL = 'S12AB12345678';

const appliance = {
  product_code: 'SH',
  arch: 'x86_64',
  serial: SERIAL,
  model: 'CX780',
  hostname: 'branch-1',
  ip_address: '10.0.0.1',
  current_version: version('9.14.0-100'),
  connected: true,
  time_zone: 'Europe/Berlin',
  entitled: true,
  read_only: false,
  groups: ['emea', 'lab'],
  rack: { row: 3, unit: 'B7' },
};
const minimalAppliance = { product_code: 'EX', serial: 'S1312345678', connected: false };

const upgradeOp = {
  id: '1790000000001',
  username: 'alice',
  create_time: '2026-09-21T10:00:00.000Z',
  status: 'scheduled',
  product_code: 'SH',
  upgrade_time: at(1_790_000_000, 'local'),
  target_version: version('9.16.0-100'),
  reboot: true,
  reboot_time: at(1_790_003_600),
  esxi_force: false,
  comment: 'q4 ünïcode ✓',
  reboot_id: 1790000000002,
  appliances: [SERIAL],
  ticket: 'CHG-1',
  change: { canary: 1 },
  rollout: { max_in_flight: 10 },
};
const downgradeOp = {
  id: '1790000000003',
  username: 'bob',
  create_time: '2026-09-22T10:00:00.000Z',
  status: 'running',
  product_code: 'SH',
  downgrade_time: at(1_790_000_000),
  target_version: version('9.12.0-100'),
  reboot: true,
  reboot_time: at(1_790_003_600, 'local'),
  esxi_force: true,
  comment: 'back',
  reboot_id: 1790000000004,
  appliances: [SERIAL],
  ticket: 'CHG-2',
};
const rebootOp = {
  id: '1790000000002',
  username: 'alice',
  create_time: '2026-09-21T10:00:01.000Z',
  status: 'scheduled',
  switch_partition: true,
  reboot_time: at(1_790_003_600),
  comment: 'after upgrade',
  upgrade_id: '1790000000001',
  downgrade_id: '1790000000003',
  appliances: [SERIAL],
  ticket: 'CHG-1',
};

// A stored appliance task is the seed's appliance_*_task with its appliance_*_task_state (status, stage) beside it.
const upgradeTask = {
  operation_id: upgradeOp.id,
  serial: SERIAL,
  status: 'scheduled',
  stage: 'waiting',
  upgrade_time: at(1_790_000_000),
  task_start_time: at(1_790_000_100),
  target_version: version('9.16.0-100'),
  reboot: true,
  reboot_time: at(1_790_003_600),
  esxi_force: false,
  current_version: version('9.14.0-100'),
  hostname: 'branch-1',
  hop_plan: ['9.14.0-100', '9.16.0-100'],
};
const downgradeTask = {
  operation_id: downgradeOp.id,
  serial: SERIAL,
  status: 'running',
  stage: 'installing',
  downgrade_time: at(1_790_000_000),
  task_start_time: at(1_790_000_100),
  target_version: version('9.12.0-100'),
  reboot: true,
  reboot_time: at(1_790_003_600),
  esxi_force: true,
  current_version: version('9.16.0-100'),
  hostname: 'branch-1',
  extra: 2,
};
const rebootTask = {
  operation_id: rebootOp.id,
  serial: SERIAL,
  status: 'scheduled',
  stage: 'waiting',
  switch_partition: true,
  reboot_time: at(1_790_003_600),
  task_start_time: at(1_790_003_601),
  deferred: true,
  hostname: 'branch-1',
  extra: { n: 3 },
};
/** A state set for each kind: the last stage before completion of that kind. */
const stateSet = {
  upgrade: { status: 'running', stage: 'patching' },
  downgrade: { status: 'running', stage: 'downloading' },
  reboot: { status: 'running', stage: 'reboot_wait' },
} as const;

const logLine = (log_entry: string, severity: scc.LogEntry['severity'], timestamp = 1_790_000_000.25) => ({
  timestamp,
  log_entry,
  severity,
  source: 'test',
  context: { hop: 1 },
});

const collector = {
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
  category: 'prod',
  fields: { team: 'ops' },
};
/** A Long id at the edge of what JSON numbers carry exactly. */
const hostedCollector = { id: Number.MAX_SAFE_INTEGER, name: 'hosted', collectorType: 'Hosted', alive: false };

/** Parses with the schema (it must be valid) and checks the parse kept everything. */
function valid<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  expect(result.error?.issues).toBeUndefined();
  expect(result.data).toEqual(value);
  return result.data as z.output<T>;
}

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  let store: FleetStore;
  beforeAll(async () => {
    backend = await makeBackend();
    store = await FleetStore.open(await backend.freshUrl());
  });
  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  test('appliance and the appliances list', async () => {
    await store.upsertAppliance(valid(scc.appliance, appliance), {
      address: 'https://10.0.0.1',
      username: 'admin',
      password: 'secret',
    });
    await store.upsertAppliance(valid(scc.appliance, minimalAppliance));
    expect(valid(scc.appliance, await store.getAppliance(SERIAL))).toEqual(appliance);
    expect(valid(scc.appliance, await store.getAppliance(minimalAppliance.serial))).toEqual(minimalAppliance);
    expect(valid(scc.appliances, await store.listAppliances({ product_code: 'SH' }))).toEqual([appliance]);
    // Eligibility objects carry stored appliances as they are.
    valid(scc.upgradeableAppliances, {
      upgradeable: [await store.getAppliance(SERIAL)],
      exceptions: { disconnected: [await store.getAppliance(minimalAppliance.serial)] },
    });
  });

  const images = [
    [
      'riverbed_hosted_image (full image)',
      'riverbed',
      'riverbed',
      scc.riverbedHostedImage,
      {
        id: 'rb-1',
        image_definition: definition(),
        url: 'https://support.example/sh.img',
        source_versions: [version('9.12.0-100'), version('9.14.0-100')],
        size: 1,
      },
    ],
    [
      'riverbed_hosted_image (delta image)',
      'riverbed',
      'riverbed',
      scc.riverbedHostedImage,
      {
        id: 'rb-2',
        image_definition: definition(true),
        url: 'https://support.example/sh-delta.img',
        source_versions: [],
      },
    ],
    [
      'locally_hosted_image',
      'customer',
      'local',
      scc.locallyHostedImage,
      { id: 'lo-1', image_definition: definition(true), modification_time: 1_790_000_000, size: 2 },
    ],
    [
      'customer_url_hosted_image',
      'customer',
      'customer_url',
      scc.customerUrlHostedImage,
      {
        id: 'cu-1',
        image_definition: definition(),
        url: 'https://cdn.example/sh.img',
        registration_time: 1_790_000_000.5,
        size: 3,
      },
    ],
    // Another definition than cu-1's: the customer repository holds each definition once.
    [
      'image',
      'customer',
      'local',
      scc.image,
      { id: 'img-1', image_definition: { ...definition(), arch: 'i386' as const }, image_sources: ['local'], size: 4 },
    ],
  ] as const;
  /** Stores the table's image unless a test of the file already did (they run in any order). */
  const addOnce = async ([, repository, source, schema, image]: (typeof images)[number]) => {
    if (!(await store.getImage(image.id)))
      await store.addImage({ repository, source, image: valid(schema as z.ZodType, image) as never });
  };
  test.each(images)('%s, in repository %s from source %s', async (_name, repository, source, schema, image) => {
    expect(scc.REPOSITORY_OF_SOURCE[source]).toBe(repository);
    await addOnce([_name, repository, source, schema, image] as (typeof images)[number]);
    const stored = await store.getImage(image.id);
    expect(stored).toEqual({ repository, source, image });
    expect(valid(schema as z.ZodType, stored!.image)).toEqual(image);
    valid(scc.image, { ...stored!.image, image_sources: [stored!.source] });
  });

  test('image lists per source', async () => {
    for (const row of images) await addOnce(row);
    const local = (await store.listImages({ source: 'local' })).map((s) => s.image);
    // Stored by whichever test came first: the order of the two is not this test's.
    expect(local.map((i) => i.id).sort()).toEqual(['img-1', 'lo-1']);
    valid(
      scc.locallyHostedImages,
      local.filter((i) => i.id === 'lo-1'),
    );
    valid(
      scc.riverbedHostedImages,
      (await store.listImages({ source: 'riverbed' })).map((s) => s.image),
    );
    valid(
      scc.customerUrlHostedImages,
      (await store.listImages({ source: 'customer_url' })).map((s) => s.image),
    );
    valid(
      scc.images,
      (await store.listImages()).map(({ source, image }) => ({ ...image, image_sources: [source] })),
    );
  });

  test.each([
    [
      'upgrade',
      scc.upgradeOperation,
      scc.upgradeOperations,
      upgradeOp,
      scc.applianceUpgradeTask,
      upgradeTask,
      scc.applianceUpgradeTaskState,
      scc.applianceUpgradeTaskStateSetRequest,
      scc.upgradeOperationLog,
      scc.applianceUpgradeTaskLog,
    ],
    [
      'downgrade',
      scc.downgradeOperation,
      scc.downgradeOperations,
      downgradeOp,
      scc.applianceDowngradeTask,
      downgradeTask,
      scc.applianceDowngradeTaskState,
      scc.applianceDowngradeTaskStateSetRequest,
      scc.downgradeOperationLog,
      scc.applianceDowngradeTaskLog,
    ],
    [
      'reboot',
      scc.rebootOperation,
      scc.rebootOperations,
      rebootOp,
      scc.applianceRebootTask,
      rebootTask,
      scc.applianceRebootTaskState,
      scc.applianceRebootTaskStateSetRequest,
      scc.rebootOperationLog,
      scc.applianceRebootTaskLog,
    ],
  ] as const)(
    '%s operation, its appliance task, task state (get and set) and logs',
    async (
      kind,
      opSchema,
      listSchema,
      op,
      taskSchema,
      task,
      stateSchema,
      stateSetSchema,
      opLogSchema,
      taskLogSchema,
    ) => {
      const { status, stage, ...taskOnly } = task;
      valid(taskSchema as z.ZodType, taskOnly);
      await store.insertOperation(kind, valid(opSchema as z.ZodType, op) as never, [
        valid(stateSchema as z.ZodType, task) as TaskRecord,
      ]);

      expect(valid(opSchema as z.ZodType, await store.getOperation(kind, op.id))).toEqual(op);
      // The list answers in the seed's shape; other tests of the file add operations of their own.
      expect(valid(listSchema as z.ZodType, await store.listOperations(kind))).toEqual(expect.arrayContaining([op]));
      const storedTask = await store.getTask(op.id, task.serial);
      expect(storedTask).toEqual(task);
      valid(taskSchema as z.ZodType, storedTask);
      expect(
        valid(stateSchema as z.ZodType, {
          operation_id: op.id,
          serial: task.serial,
          status: storedTask!.status,
          stage: storedTask!.stage,
        }),
      ).toEqual({ operation_id: op.id, serial: SERIAL, status, stage });

      // appliance_*_task_state: set, then read back through the store.
      const set = valid(stateSetSchema as z.ZodType, stateSet[kind]) as { status: string; stage: string };
      await store.updateTask(op.id, task.serial, set);
      const updated = await store.getTask(op.id, task.serial);
      expect(updated).toEqual({ ...task, ...stateSet[kind] });
      valid(taskSchema as z.ZodType, updated);
      valid(stateSchema as z.ZodType, {
        operation_id: op.id,
        serial: SERIAL,
        status: updated!.status,
        stage: updated!.stage,
      });

      // The operation's log and the appliance task's log are kept apart, each in order.
      const opLines = [
        logLine(`${kind} of 1 appliance(s) created`, 'notice'),
        logLine('waiting for the start time', 'info', 1_790_000_001),
      ];
      const taskLines = [
        logLine('task line', 'debug'),
        logLine('device answered 503', 'warning', 1_790_000_002),
        logLine('gave up', 'emerg', 1_790_000_003),
      ];
      for (const line of opLines) await store.appendLog(op.id, valid(scc.logEntry, line));
      for (const line of taskLines) await store.appendLog(op.id, valid(scc.logEntry, line), task.serial);
      expect(valid(opLogSchema, { operation_id: op.id, log: await store.getLog(op.id) })).toEqual({
        operation_id: op.id,
        log: opLines,
      });
      expect(
        valid(taskLogSchema, { operation_id: op.id, serial: task.serial, log: await store.getLog(op.id, task.serial) }),
      ).toEqual({ operation_id: op.id, serial: SERIAL, log: taskLines });
    },
  );

  test('an operation and its task made from a request (the create path)', async () => {
    const request = {
      product_code: 'SH',
      target_version: version('9.16.0-100'),
      reboot: false,
      comment: 'from a request',
      appliances: [SERIAL],
      rollout: { waves: [1, 50, 100] },
    };
    const parsed = scc.upgradeOperationRequest.parse(request);
    const operation = {
      ...parsed,
      id: '1790000000099',
      username: 'carol',
      create_time: '2026-09-23T08:00:00.000Z',
      status: 'scheduled',
    };
    const task = {
      operation_id: operation.id,
      serial: SERIAL,
      status: 'scheduled',
      stage: 'waiting',
      target_version: parsed.target_version,
      reboot: false,
      current_version: appliance.current_version,
    };
    await store.insertOperation('upgrade', valid(scc.upgradeOperation, operation), [task]);
    expect(valid(scc.upgradeOperation, await store.getOperation('upgrade', operation.id))).toEqual({
      ...request,
      id: operation.id,
      username: 'carol',
      create_time: operation.create_time,
      status: 'scheduled',
    });
    expect(valid(scc.applianceUpgradeTask, await store.getTask(operation.id, SERIAL))).toEqual(task);
  });

  test.each(scc.LOGGING_LEVELS)('logging level %s', async (level) => {
    await store.setSetting('logging_level', valid(scc.loggingLevel, level));
    expect(valid(scc.logging, { level: await store.getSetting('logging_level') })).toEqual({ level });
  });

  test('Sumo collectors and the upgradable collectors answer', async () => {
    await store.upsertCollector(valid(sumo.collector, collector));
    await store.upsertCollector(valid(sumo.collector, hostedCollector));
    expect(valid(sumo.collector, await store.getCollector(collector.id))).toEqual(collector);
    expect(valid(sumo.collector, await store.getCollector(hostedCollector.id))).toEqual(hostedCollector);
    expect(valid(sumo.upgradableCollectors, { collectors: await store.listCollectors() })).toEqual({
      collectors: [collector, hostedCollector],
    });
  });

  test.each(sumo.UPGRADE_TASK_STATUS_CODES)('Sumo upgrade task ending in status %s', async (status) => {
    // One collector per case: the store allows one unfinished task (0, 1, 6) per collector.
    const collectorId = 9_000_000_000_000 + status;
    const request = valid(sumo.createUpgradeTaskRequest, { collectorId, toVersion: '19.152-1' });
    const created = await store.insertCollectorUpgradeTask({
      collectorId: request.collectorId,
      toVersion: request.toVersion!,
      requestTime: 1465855411044,
      status: sumo.UPGRADE_TASK_STATUS.notStarted,
      message: '',
    });
    const message = status === 3 ? 'timed out after 30 minutes' : '';
    await store.updateCollectorUpgradeTask(created.id, { status, message });
    const stored = await store.getCollectorUpgradeTask(created.id);
    expect(valid(sumo.upgradeTaskResponse, { upgrade: stored })).toEqual({
      upgrade: { id: created.id, collectorId, toVersion: '19.152-1', requestTime: 1465855411044, status, message },
    });
    valid(sumo.createUpgradeTaskResponse, {
      id: String(created.id),
      link: { rel: 'self', href: `/v1/collectors/upgrades/${created.id}` },
    });
  });
});
