/**
 * Rollout safety against the simulator process with faults, over the real stack (dev server,
 * worker, SQLite store, the SCC API on a socket): an appliance unhealthy after its upgrade is
 * rolled back (to its other partition, or with the previous version's image when that partition no
 * longer holds it); `rollback: "all"` rolls back the upgraded appliances once the failure threshold
 * stops the rollout; per-task retries get a flapping install through. Every device effect is
 * counted by the simulator: exactly what the plan, the rollback and each attempt need, once.
 */
import { getOperation } from '../../client/operations';
import { renderFrame, summarize } from '../../client/cli/progress';
import type { DeviceInfo } from '../../domain/device-api';
import { applianceTaskWorkflowId } from '../../domain/operation';
import type { upgradeOperation } from '../../workflows';
import { startSccApi, type SccApi } from '../helpers/scc-api';
import type { Stack } from '../helpers/stack';
import { recordHistories, replayAll } from '../helpers/histories';
import { expectedCounters } from '../helpers/upgrade-plans';

const taskQueue = 'integration-health-rollback';
const ONE_HOP = '9.16.0-100';
const TWO_HOPS = '9.18.0-100';
const HEALTH = { settle_seconds: 1, probes: 3, interval_seconds: 1 };

let api: SccApi;
let stack: Stack;
/** Appliances no scenario has used yet, with their info. */
let unused: DeviceInfo[];

beforeAll(async () => {
  api = await startSccApi({ appliances: 60, speed: 400, taskQueue });
  stack = api.stack;
  unused = await Promise.all((await stack.devices.listSerials()).map((s) => stack.devices.info(s)));
}, 180_000);
// Every history the tests produced replays, checked once they have all run (in whatever order), then the stack stops.
afterAll(async () => {
  try {
    await replayHistories();
  } finally {
    await api?.stop();
  }
});

/** `n` fresh appliances of one product code whose upgrade to `target` takes `hops` images. */
async function take(n: number, target: string, hops: number): Promise<DeviceInfo[]> {
  for (const product of ['SH', 'EX', 'IC', 'SMC', 'WW', 'GC']) {
    const fit: DeviceInfo[] = [];
    for (const info of unused.filter((i) => i.product_code === product)) {
      if ((await expectedCounters(stack.store, info, target).catch(() => undefined))?.installs === hops) fit.push(info);
      if (fit.length === n) {
        unused = unused.filter((i) => !fit.includes(i));
        return fit;
      }
    }
  }
  throw new Error(`no ${n} unused appliances of one product whose upgrade to ${target} takes ${hops} image(s)`);
}

/** Creates an upgrade over HTTP and waits for its workflow's end. */
async function upgradeOverApi(body: Record<string, unknown>) {
  const created = await api.call('POST', '/operations/upgrade', {
    body: { reboot: true, comment: 'rollout safety', ...body },
  });
  expect(created.status).toBe(201);
  const id: string = created.json.id;
  const result = await stack.env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${id}`).result();
  return { id, created: created.json, result };
}

const taskLog = async (id: string, serial: string): Promise<string[]> =>
  (await api.call('GET', `/operations/upgrade/${id}/appliances/${serial}/log`, { who: 'reader' })).json.log.map(
    (l: { log_entry: string }) => l.log_entry,
  );
const taskState = async (id: string, serial: string) =>
  (await api.call('GET', `/operations/upgrade/${id}/appliances/${serial}/state`, { who: 'reader' })).json;
/** The types of the activities (not local activities) a workflow scheduled, in order. */
const scheduledActivities = async (workflowId: string): Promise<string[]> =>
  ((await stack.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? ''] : [],
  );
const effects = async (serial: string) => {
  const { stages, patches, installs, reboots } = await stack.devices.counters(serial);
  return { stages, patches, installs, reboots };
};

test('new fields are validated (400 naming the field), shown by the API from the store, and in the OpenAPI document', async () => {
  const [a] = await take(1, ONE_HOP, 1);
  const base = {
    product_code: a!.product_code,
    target_version: { version_id: ONE_HOP },
    reboot: true,
    comment: 'x',
    appliances: [a!.serial],
  };
  for (const [extra, field] of [
    [{ health_check: { probes: 0 } }, 'health_check.probes'],
    [{ health_check: HEALTH, reboot: false }, 'health_check'],
    [{ health_check: { settle_seconds: 3000, probes: 2, interval_seconds: 100 }, task_timeout: 3000 }, 'health_check'],
    [{ rollback: 'maybe' }, 'rollback'],
    [{ task_retries: { max: 0 } }, 'task_retries.max'],
    [{ task_retries: { max: 1, on: ['crashed'] } }, 'task_retries.on.0'],
  ] as const) {
    const res = await api.call('POST', '/operations/upgrade', { body: { ...base, ...extra } });
    expect([field, res.status, res.json.field]).toEqual([field, 400, field]);
    const down = await api.call('POST', '/operations/downgrade', {
      body: { ...base, target_version: { version_id: '9.12.0-100' }, ...extra },
    });
    expect([field, down.status, down.json.field]).toEqual([field, 400, field]);
  }
  expect(
    (await api.call('GET', '/operations/upgrade', { who: 'reader' })).json.filter((o: { appliances: string[] }) =>
      o.appliances.includes(a!.serial),
    ),
  ).toEqual([]);

  const doc = await (await fetch(`${api.base}/openapi.json`)).text();
  for (const name of [
    'health_check',
    'settle_seconds',
    'probes',
    'interval_seconds',
    'on_failure',
    'task_retries',
    'backoff_seconds',
    'timed_out',
    'rolling_back',
  ])
    expect([name, doc.includes(`"${name}"`)]).toEqual([name, true]);

  const policy = { health_check: HEALTH, rollback: 'on_failure', task_retries: { max: 1, on: ['timed_out'] } };
  const { id, created } = await upgradeOverApi({ ...base, ...policy });
  const expected = { ...policy, task_retries: { max: 1, on: ['timed_out'], backoff_seconds: 0 } };
  expect(created).toMatchObject(expected);
  expect((await api.call('GET', `/operations/upgrade/${id}`, { who: 'reader' })).json).toMatchObject({
    status: 'successful',
    ...expected,
  });
  expect(await taskLog(id, a!.serial)).toEqual(
    expect.arrayContaining([
      'health check: waiting 1 second for the appliance to settle, then up to 3 probe(s) 1 second apart',
      'health check passed at probe 1 of 3',
    ]),
  );
});

test('an appliance unhealthy after its upgrade is rolled back to its other partition: it runs the old version, its task failed "rolled back to …"', async () => {
  const [sick, well] = await take(2, ONE_HOP, 1);
  await stack.devices.addFault(sick!.serial, { kind: 'unhealthy_after_upgrade' });
  const expected = await expectedCounters(stack.store, sick!, ONE_HOP);
  const { id, result } = await upgradeOverApi({
    product_code: sick!.product_code,
    target_version: { version_id: ONE_HOP },
    appliances: [sick!.serial, well!.serial],
    health_check: HEALTH,
    rollback: 'on_failure',
  });

  const before = sick!.running_version.version_id;
  // Restarts count up with the appliance's (simulated) uptime: their number is the device's.
  const sickTask = result.tasks.find((t) => t.serial === sick!.serial)!;
  const reason =
    /^health check failed: not healthy after 3 probe\(s\) over 3 seconds: services not up: optimization down; errors since boot: service_restarts \d+/.exec(
      sickTask.message ?? '',
    )?.[0];
  expect(reason).toBeDefined();
  expect(result.operation.status).toBe('partially_successful');
  expect(sickTask).toMatchObject({ status: 'failed', stage: 'failed', message: `${reason}; rolled back to ${before}` });
  expect(await taskState(id, sick!.serial)).toMatchObject({ status: 'failed', stage: 'failed' });
  const log = await taskLog(id, sick!.serial);
  const lastProbe = log.findIndex((l) =>
    /^health probe 3 of 3: services not up: optimization down; errors since boot: service_restarts \d+$/.test(l),
  );
  expect(lastProbe).toBeGreaterThan(
    log.indexOf('health check: waiting 1 second for the appliance to settle, then up to 3 probe(s) 1 second apart'),
  );
  expect(log.indexOf(`${reason}; rolling back to ${before}`)).toBeGreaterThan(lastProbe);
  expect(log).toEqual(
    expect.arrayContaining([
      `rollback: rebooting to the other partition, which still holds ${before}`,
      `appliance is running ${before}`,
    ]),
  );
  expect(log.at(-1)).toBe(`${reason}; rolled back to ${before}`);
  // The reads the rollback decided on are activities, in history once answered (not local activities).
  expect(await scheduledActivities(applianceTaskWorkflowId('upgrade', id, sick!.serial))).toEqual([
    'readApplianceHealth',
    'readApplianceHealth',
    'readApplianceHealth',
    'readApplianceInfo',
  ]);

  expect(await stack.devices.info(sick!.serial)).toMatchObject({
    running_version: { version_id: before },
    standby_version: { version_id: ONE_HOP },
  });
  expect(await effects(sick!.serial)).toEqual({ ...expected, reboots: expected.reboots + 1 });
  expect((await stack.devices.info(well!.serial)).running_version.version_id).toBe(ONE_HOP);
  expect(await taskState(id, well!.serial)).toMatchObject({ status: 'successful', stage: 'completed' });
  // The inventory follows the device back.
  const appliance = await api.call('GET', `/appliances/${sick!.product_code}/${sick!.serial}`, { who: 'reader' });
  expect(appliance.json).toMatchObject({ serial: sick!.serial, current_version: { version_id: before } });
});

test('when the other partition no longer holds the old version (two images), the rollback installs its image again', async () => {
  const [sick] = await take(1, TWO_HOPS, 2);
  await stack.devices.addFault(sick!.serial, { kind: 'unhealthy_after_upgrade' });
  const expected = await expectedCounters(stack.store, sick!, TWO_HOPS);
  const before = sick!.running_version.version_id;
  const { id, result } = await upgradeOverApi({
    product_code: sick!.product_code,
    target_version: { version_id: TWO_HOPS },
    appliances: [sick!.serial],
    health_check: HEALTH,
    rollback: 'on_failure',
  });

  expect(result.operation.status).toBe('failed');
  expect(result.tasks[0]).toMatchObject({
    status: 'failed',
    message: expect.stringMatching(
      new RegExp(`^health check failed: .*; rolled back to ${before.replace(/\./g, '\\.')}$`),
    ),
  });
  const log = await taskLog(id, sick!.serial);
  expect(log).toEqual(
    expect.arrayContaining([
      expect.stringMatching(
        new RegExp(
          `^rollback: the other partition holds 9\\.16\\.0-100, installing the image of ${before.replace(/\./g, '\\.')} again$`,
        ),
      ),
      `rollback: installing ${before}`,
      `rollback: rebooting to run ${before}`,
    ]),
  );
  expect((await stack.devices.info(sick!.serial)).running_version.version_id).toBe(before);
  // The plan's images, then one full image of the old version: each staged, installed and rebooted into once.
  expect(await effects(sick!.serial)).toEqual({
    stages: expected.stages + 1,
    patches: expected.patches,
    installs: expected.installs + 1,
    reboots: expected.reboots + 1,
  });
});

test('rollback "all": once the failure threshold stops the rollout, the appliances already upgraded are rolled back too', async () => {
  const [a, b, failing, never] = await take(4, ONE_HOP, 1);
  await stack.devices.addFault(failing!.serial, { kind: 'fail_at_stage', stage: 'install' });
  const expected = await Promise.all([a!, b!].map((info) => expectedCounters(stack.store, info, ONE_HOP)));
  const { id, result } = await upgradeOverApi({
    product_code: a!.product_code,
    target_version: { version_id: ONE_HOP },
    appliances: [a!.serial, b!.serial, failing!.serial, never!.serial],
    rollout: { waves: [2, 1], failure_threshold: { max_failures: 0 } },
    rollback: 'all',
  });

  const stop = 'rollout stopped: 1 task(s) failed, more than the 0 allowed';
  expect(result.operation.status).toBe('failed');
  expect(result.stop_reason).toBe(stop);
  const tasks = new Map(result.tasks.map((t) => [t.serial, t]));
  for (const [i, info] of [a!, b!].entries()) {
    const before = info.running_version.version_id;
    expect(tasks.get(info.serial)).toMatchObject({
      status: 'failed',
      stage: 'failed',
      message: `${stop}; rolled back to ${before}`,
    });
    expect(await taskState(id, info.serial)).toMatchObject({ status: 'failed', stage: 'failed' });
    expect(await taskLog(id, info.serial)).toEqual(
      expect.arrayContaining([
        `upgrade to ${ONE_HOP} completed`,
        `${stop}; rolling back to ${before}`,
        `rollback: rebooting to the other partition, which still holds ${before}`,
      ]),
    );
    expect((await stack.devices.info(info.serial)).running_version.version_id).toBe(before);
    expect(await effects(info.serial)).toEqual({ ...expected[i]!, reboots: expected[i]!.reboots + 1 });
  }
  // The failed install wrote nothing the appliance runs: nothing to reboot back from.
  expect(tasks.get(failing!.serial)).toMatchObject({
    status: 'failed',
    message: expect.stringMatching(
      new RegExp(
        `failed: simulated failure during install; the appliance still runs ${failing!.running_version.version_id.replace(/\./g, '\\.')}$`,
      ),
    ),
  });
  expect(await effects(failing!.serial)).toMatchObject({ installs: 0, reboots: 0 });
  expect(tasks.get(never!.serial)).toMatchObject({ status: 'cancelled', message: `not started: ${stop}` });
  expect(await effects(never!.serial)).toEqual({ stages: 0, patches: 0, installs: 0, reboots: 0 });
  expect((await api.call('GET', `/operations/upgrade/${id}`, { who: 'reader' })).json).toMatchObject({
    status: 'failed',
    rollback: 'all',
  });

  // `fleet status` (the Temporal client's view) shows each rolled-back task as its rollback ended, and the policy.
  const deadline = Date.now() + 20_000;
  let view = await getOperation(stack.env.client, id);
  while (view.tasks.find((t) => t.serial === a!.serial)?.status !== 'failed' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    view = await getOperation(stack.env.client, id);
  }
  expect(view.tasks.find((t) => t.serial === a!.serial)).toMatchObject({
    status: 'failed',
    stage: 'failed',
    message: `${stop}; rolled back to ${a!.running_version.version_id}`,
  });
  expect(renderFrame(summarize(view, Date.now()))).toContain('safety: rollback: all');
});

test("per-task retries get a flapping install through: each attempt logged, each attempt's device effects once", async () => {
  const [flaky] = await take(1, ONE_HOP, 1);
  await stack.devices.addFault(flaky!.serial, { kind: 'fail_first_installs', count: 2 });
  const expected = await expectedCounters(stack.store, flaky!, ONE_HOP);
  await stack.devices.stats({ reset: true });
  const { id, result } = await upgradeOverApi({
    product_code: flaky!.product_code,
    target_version: { version_id: ONE_HOP },
    appliances: [flaky!.serial],
    task_retries: { max: 2, on: ['failed'], backoff_seconds: 1 },
  });

  expect(result.operation.status).toBe('successful');
  expect(result.tasks[0]).toMatchObject({ status: 'successful', stage: 'completed' });
  const log = await taskLog(id, flaky!.serial);
  expect(log.filter((l) => l.startsWith(`upgrade to ${ONE_HOP} started`))).toEqual(
    [1, 2, 3].map((n) => `upgrade to ${ONE_HOP} started (attempt ${n} of 3)`),
  );
  for (const n of [1, 2])
    expect(log).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^attempt ${n} of 3 failed: install job install-\\d+ failed: simulated install failure ${n} of 2; attempt ${n + 1} in 1 second$`,
        ),
      ),
    );
  expect(log.at(-1)).toBe(`upgrade to ${ONE_HOP} completed`);
  expect((await stack.devices.info(flaky!.serial)).running_version.version_id).toBe(ONE_HOP);
  // Each attempt stages (and patches) its image once under its own keys; one install succeeded, one reboot.
  expect(await effects(flaky!.serial)).toEqual({
    stages: 3 * expected.stages,
    patches: 3 * expected.patches,
    installs: 1,
    reboots: 1,
  });
  // Every job the device started: three attempts' stage (+ patch) and install, and the one reboot.
  expect((await stack.devices.stats()).jobs_started).toBe(3 * (expected.stages + expected.patches + 1) + 1);
});

/** Replays every history the tests produced against the current workflow code (and records fixtures, asked to). */
async function replayHistories(): Promise<void> {
  // Tasks with health checks, rollbacks and retries, the rollback workflows of rollback "all", their operations.
  const query = `FleetOperationKind = 'upgrade' AND TaskQueue = '${taskQueue}'`;
  // 5 operations, 8 appliance tasks that ran, 2 rollbacks.
  expect(await replayAll(stack.env.client, query)).toBeGreaterThanOrEqual(5 + 8 + 2);
  // `FLEET_RECORD_HISTORIES=test/fixtures/histories npx jest test/integration/health-rollback.test.ts` records fixtures.
  await recordHistories(stack.env.client, query, 'safety');
}
