/**
 * Rollout safety on real parts (dev server, worker, simulator process with faults, SQLite store,
 * the API over a socket, the fleet CLI as a process): the approval between waves (approve,
 * reject), the success threshold (pause, abort), the retry of what did not succeed (links both
 * ways, exactly-once device counters), 400s for bad fields, 409s, and the read_only role refused.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SA } from '../../domain/search-attributes';
import { recordHistories, replayAll } from '../helpers/histories';
import { startSccApi, type SccApi } from '../helpers/scc-api';

jest.setTimeout(240_000);

const taskQueue = 'integration-rollout-safety';
const TARGET = '9.16.0-100';
const run = promisify(execFile);
const root = join(__dirname, '..', '..');

let api: SccApi;
let sh: string[];

beforeAll(async () => {
  api = await startSccApi({ taskQueue, appliances: 160, speed: 400 });
  sh = await api.stack.devices.listSerials('SH');
});
// Every history the tests produced replays, checked once they have all run (in whatever order), then the stack stops.
afterAll(async () => {
  try {
    await replayHistories();
  } finally {
    await api?.stop();
  }
});

const call: SccApi['call'] = (method, path, options) => api.call(method, path, options);
const take = (n: number): string[] => {
  if (sh.length < n) throw new Error('not enough SH appliances left');
  return sh.splice(0, n);
};

const fleet = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'client/cli.ts'), ...args], {
    cwd: root,
    env: {
      ...process.env,
      FLEET_TEMPORAL_ADDRESS: api.stack.env.address,
      FLEET_TASK_QUEUE: taskQueue,
      FLEET_DEVICE_API_URL: api.stack.sim.url,
      FLEET_STORE_URL: api.stack.storeUrl,
      FLEET_LOG_LEVEL: 'warn',
    },
  });

async function create(appliances: string[], rollout: unknown): Promise<string> {
  const res = await call('POST', '/operations/upgrade', {
    body: {
      product_code: 'SH',
      target_version: { version_id: TARGET },
      reboot: true,
      comment: 'rollout safety',
      appliances,
      rollout,
    },
  });
  expect(res.status).toBe(201);
  return res.json.id as string;
}

/** The stored operation once `done` holds (read through the API, as a client would). */
async function until(id: string, done: (operation: any) => boolean): Promise<any> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await call('GET', `/operations/upgrade/${id}`, { who: 'reader' });
    if (done(res.json)) return res.json;
    if (Date.now() > deadline) throw new Error(`operation ${id} never reached the state; last: ${res.text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const finished = (op: any): boolean =>
  ['successful', 'partially_successful', 'failed', 'cancelled'].includes(op.status);
const logOf = async (id: string): Promise<string[]> =>
  (await call('GET', `/operations/upgrade/${id}/log`, { who: 'reader' })).json.log.map(
    (l: { log_entry: string }) => l.log_entry,
  );
const taskStatuses = async (id: string, serials: string[]): Promise<string[]> =>
  Promise.all(
    serials.map(
      async (s) => (await call('GET', `/operations/upgrade/${id}/appliances/${s}`, { who: 'reader' })).json.status,
    ),
  );
const readHold = async (id: string): Promise<string | undefined> =>
  (await api.stack.env.client.workflow.getHandle(`upgrade-${id}`).describe()).typedSearchAttributes.get(SA.rolloutHold);
/**
 * The search attribute once it says `expected` (or the last value read): the store write is a
 * local activity, so the store can say "awaiting" a moment before the workflow task that upserts
 * the attribute has completed.
 */
async function hold(id: string, expected: string): Promise<string | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await readHold(id);
    if (value === expected || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('approval between waves', () => {
  test('the operation waits, visibly, after wave 1; read_only may not approve; an operator approves over the API and the rest runs', async () => {
    const appliances = take(3);
    const id = await create(appliances, { waves: [1], approval: { after_waves: [1], timeout_seconds: 3600 } });
    const waiting = await until(id, (op) => op.approval?.state === 'awaiting');
    expect(waiting.approval).toMatchObject({ state: 'awaiting', after_wave: 1 });
    expect(waiting.approval.timeout_time - waiting.approval.since).toBe(3600);
    expect(await logOf(id)).toContain(
      'awaiting approval after wave 1 (within 1 hour, then abort): approve or reject to go on',
    );
    expect(await hold(id, 'awaiting_approval')).toBe('awaiting_approval');
    expect(await taskStatuses(id, appliances)).toEqual(['successful', 'scheduled', 'scheduled']);
    const { stdout } = await fleet('status', id);
    expect(stdout).toContain(
      `rollout: awaiting approval after wave 1 (until ${new Date(waiting.approval.timeout_time * 1000).toISOString()}): fleet approve|reject ${id}`,
    );

    const refused = await call('POST', `/operations/upgrade/${id}/approve`, { who: 'reader' });
    expect(refused.status).toBe(403);
    expect((await call('GET', `/operations/upgrade/${id}`, { who: 'reader' })).json.approval.state).toBe('awaiting');

    const approved = await call('POST', `/operations/upgrade/${id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ id, approval: { state: 'approved', after_wave: 1, decided_by: 'operator' } });
    // Decided: a second answer is a conflict.
    const again = await call('POST', `/operations/upgrade/${id}/reject`);
    expect(again.status).toBe(409);
    expect(again.json.error_id).toMatch(/^(NOT_AWAITING_APPROVAL|ALREADY_FINISHED)$/);

    const done = await until(id, finished);
    expect(done.status).toBe('successful');
    expect(await logOf(id)).toContain('approved by operator: wave 2 starts');
    expect(await hold(id, 'none')).toBe('none');
    expect((await call('POST', `/operations/upgrade/${id}/approve`)).json.error_id).toBe('ALREADY_FINISHED');
    for (const serial of appliances) expect(await api.stack.devices.counters(serial)).toMatchObject({ installs: 1 });
    // The audit trail has the approve, and the read_only caller's refused attempt.
    const trail = await api.stack.store.listAudit({ limit: 10_000 });
    expect(trail).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: 'operator',
          action: 'postOperationsUpgradeByIdApprove',
          outcome: 'ok',
          details: { id },
        }),
        expect.objectContaining({
          actor: 'reader',
          action: 'postOperationsUpgradeByIdApprove',
          outcome: '403 FORBIDDEN',
          details: { id },
        }),
      ]),
    );
  });

  test('fleet reject: the rollout stops, the tasks not started end cancelled and are never touched', async () => {
    const appliances = take(3);
    const id = await create(appliances, { waves: [1], approval: { after_waves: [1] } });
    await until(id, (op) => op.approval?.state === 'awaiting');
    const { stdout } = await fleet('reject', id, '--user', 'alice');
    expect(stdout).toContain(`operation ${id}: approval after wave 1 rejected`);
    const done = await until(id, finished);
    expect(done).toMatchObject({
      status: 'partially_successful',
      stop_reason: 'rollout rejected by alice after wave 1',
      approval: { state: 'rejected', decided_by: 'alice' },
    });
    expect(await taskStatuses(id, appliances)).toEqual(['successful', 'cancelled', 'cancelled']);
    for (const serial of appliances.slice(1))
      expect(await api.stack.devices.counters(serial)).toMatchObject({ stages: 0, installs: 0 });
    // The CLI's change is in the audit trail beside the API's.
    expect(await api.stack.store.listAudit({ limit: 10_000 })).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: 'fleet reject', outcome: 'ok', details: { id } })]),
    );
  });

  test('an operation without an approval pending: approve is 409; an unknown one 404', async () => {
    const id = await create(take(1), { waves: [1] });
    const res = await call('POST', `/operations/upgrade/${id}/approve`);
    expect(res.status).toBe(409);
    expect(res.json.error_id).toMatch(/^(NOT_AWAITING_APPROVAL|ALREADY_FINISHED)$/);
    expect((await call('POST', '/operations/upgrade/1234567/approve')).status).toBe(404);
    await until(id, finished);
  });
});

describe('success threshold per wave', () => {
  test('abort: below the threshold the next waves never start, the reason is logged; fleet retry then upgrades what did not succeed', async () => {
    const appliances = take(4);
    await api.stack.devices.addFault(appliances[0]!, { kind: 'fail_at_stage', stage: 'install' });
    const id = await create(appliances, { waves: [2], success_threshold_percent: 100, on_below_threshold: 'abort' });
    const done = await until(id, finished);
    const reason = 'rollout aborted: wave 1: 1 of 2 task(s) succeeded (50.0%), below the 100% success threshold';
    expect(done).toMatchObject({ status: 'partially_successful', stop_reason: reason });
    expect(await taskStatuses(id, appliances)).toEqual(['failed', 'successful', 'cancelled', 'cancelled']);
    expect(await logOf(id)).toContain(reason);

    await api.stack.devices.clearFaults(appliances[0]!);
    const { stdout } = await fleet('retry', id, '--json');
    const retried = JSON.parse(stdout);
    expect(retried).toMatchObject({
      retry_of: id,
      appliances: [appliances[0], appliances[2], appliances[3]],
      rollout: { waves: [2], success_threshold_percent: 100 },
    });
    expect((await until(retried.id, finished)).status).toBe('successful');
    expect((await call('GET', `/operations/upgrade/${id}`, { who: 'reader' })).json.retried_by).toBe(retried.id);
    // Each appliance installed exactly once over both operations (the failed one's install never landed).
    expect(await api.stack.devices.counters(appliances[1]!)).toMatchObject({ installs: 1 });
    for (const serial of [appliances[2]!, appliances[3]!])
      expect(await api.stack.devices.counters(serial)).toMatchObject({ installs: 1 });
  });

  test('pause: the operation pauses with the reason; fleet resume lets the next wave run', async () => {
    const appliances = take(4);
    await api.stack.devices.addFault(appliances[1]!, { kind: 'fail_at_stage', stage: 'stage' });
    const id = await create(appliances, { waves: [2], success_threshold_percent: 75 });
    const paused = await until(id, (op) => op.paused === true);
    const reason = 'wave 1: 1 of 2 task(s) succeeded (50.0%), below the 75% success threshold';
    expect(paused.pause_reason).toBe(reason);
    expect(await logOf(id)).toContain(`paused: ${reason}; resume to go on`);
    expect(await hold(id, 'paused')).toBe('paused');
    expect((await fleet('status', id)).stdout).toContain(`rollout: paused: ${reason}`);
    expect(await taskStatuses(id, appliances.slice(2))).toEqual(['scheduled', 'scheduled']);
    await fleet('resume', id);
    const done = await until(id, finished);
    expect(done.status).toBe('partially_successful');
    expect(done.pause_reason).toBeUndefined();
    expect(await taskStatuses(id, appliances)).toEqual(['successful', 'failed', 'successful', 'successful']);
  });
});

describe('retry', () => {
  test('a retried operation upgrades only the failures, linked both ways; retrying again, or one without failures, is 409', async () => {
    const appliances = take(4);
    const failing = [appliances[1]!, appliances[3]!];
    for (const serial of failing) await api.stack.devices.addFault(serial, { kind: 'fail_at_stage', stage: 'install' });
    const id = await create(appliances, { max_in_flight: 2 });
    const notYet = await call('POST', `/operations/upgrade/${id}/retry`);
    // Still running (409 NOT_FINISHED) unless it finished already.
    if (notYet.status !== 201) expect(notYet.json.error_id).toBe('NOT_FINISHED');
    else throw new Error('retry of a running operation was accepted');
    expect((await until(id, finished)).status).toBe('partially_successful');
    for (const serial of failing) await api.stack.devices.clearFaults(serial);
    const before = await Promise.all(appliances.map((s) => api.stack.devices.counters(s)));

    expect((await call('POST', `/operations/upgrade/${id}/retry`, { who: 'reader' })).status).toBe(403);
    const res = await call('POST', `/operations/upgrade/${id}/retry`);
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      retry_of: id,
      appliances: failing,
      username: 'operator',
      rollout: { max_in_flight: 2 },
      comment: 'rollout safety',
    });
    expect(res.headers.get('location')).toBe(`/api/cmc.upgrades/1.0/operations/upgrade/${res.json.id}`);
    const retry = res.json.id as string;
    expect((await call('GET', `/operations/upgrade/${id}`, { who: 'reader' })).json.retried_by).toBe(retry);
    expect((await call('GET', `/operations/upgrade/${retry}`, { who: 'reader' })).json.retry_of).toBe(id);
    expect((await until(retry, finished)).status).toBe('successful');

    const after = await Promise.all(appliances.map((s) => api.stack.devices.counters(s)));
    // The ones that had succeeded were not touched again; each failure was installed once more.
    expect(after.map((c, i) => c.installs - before[i]!.installs)).toEqual([0, 1, 0, 1]);
    expect(after.map((c) => c.installs)).toEqual([1, 1, 1, 1]);

    const twice = await call('POST', `/operations/upgrade/${id}/retry`);
    expect([twice.status, twice.json.error_id]).toEqual([409, 'ALREADY_RETRIED']);
    const none = await call('POST', `/operations/upgrade/${retry}/retry`);
    expect([none.status, none.json.error_id]).toEqual([409, 'NO_FAILURES']);
    // The audit trail has the retry with the id it created.
    const trail = await api.stack.store.listAudit({ limit: 10_000 });
    expect(trail).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'postOperationsUpgradeByIdRetry',
          outcome: 'ok',
          details: { id, created_id: retry },
        }),
      ]),
    );
  });

  test('eligibility is checked again: an appliance that can no longer take the upgrade is refused, naming it', async () => {
    const appliances = take(2);
    await api.stack.devices.addFault(appliances[1]!, { kind: 'fail_at_stage', stage: 'stage' });
    const id = await create(appliances, {});
    expect((await until(id, finished)).status).toBe('partially_successful');
    // It now runs the target: no longer upgradeable to it.
    await api.stack.store.recordApplianceVersion(appliances[1]!, { version_id: TARGET }, 'test');
    const res = await call('POST', `/operations/upgrade/${id}/retry`);
    expect(res.status).toBe(400);
    expect(res.json.field).toBe('appliances');
    expect(res.json.error_text).toContain(appliances[1]);
    expect((await call('GET', `/operations/upgrade/${id}`, { who: 'reader' })).json.retried_by).toBeUndefined();
  });
});

describe('validation', () => {
  test.each([
    [{ approval: { after_waves: [0] } }, 'rollout.approval.after_waves.0'],
    [{ approval: { after_waves: [1], on_timeout: 'later' } }, 'rollout.approval.on_timeout'],
    [{ approval: { after_waves: [1], timeout_seconds: 1.5 } }, 'rollout.approval.timeout_seconds'],
    [{ approval: { timeout_seconds: 60 } }, 'rollout.approval.after_waves'],
    [{ approval: { after_waves: [1], reviewers: ['x'] } }, 'rollout.approval.reviewers'],
    [{ success_threshold_percent: 150 }, 'rollout.success_threshold_percent'],
    [{ on_below_threshold: 'stop' }, 'rollout.on_below_threshold'],
    [{ progress_deadline_seconds: -1 }, 'rollout.progress_deadline_seconds'],
    [{ on_progress_deadline: 'continue' }, 'rollout.on_progress_deadline'],
  ])('%j is refused with 400 naming %s, and nothing is created', async (rollout, field) => {
    const before = (await call('GET', '/operations/upgrade', { who: 'reader' })).json.length;
    const res = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'bad',
        appliances: sh.slice(0, 1),
        rollout,
      },
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error_id: 'INVALID_REQUEST', field });
    expect((await call('GET', '/operations/upgrade', { who: 'reader' })).json.length).toBe(before);
  });
});

/** Replays every history the tests produced against the current workflow code (and records fixtures, asked to). */
async function replayHistories(): Promise<void> {
  // Approvals given and refused, thresholds that paused or stopped a rollout, retries.
  const query = `WorkflowType = 'upgradeOperation' AND TaskQueue = '${taskQueue}'`;
  expect(await replayAll(api.stack.env.client, query)).toBeGreaterThanOrEqual(6);
  // `FLEET_RECORD_HISTORIES=test/fixtures/histories npx jest test/integration/rollout-safety.test.ts` records fixtures.
  await recordHistories(api.stack.env.client, query, 'gates');
}
