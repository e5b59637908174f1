/**
 * A worker dies mid-rollout and nothing is lost or done twice: two worker processes serve one
 * task queue; once some of 150 appliance tasks have finished and others are running, one worker
 * is killed with SIGKILL (no drain, no goodbye); the other finishes every task. Each appliance
 * ends on the target having done exactly what its image plan needs, once (a retried call is
 * an idempotent replay on the device), and no workflow is left running.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DeviceClient } from '../../activities/device-client';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { createOperation } from '../../client/operations';
import type { Operation } from '../../domain/operation';
import type { SimulatorStats } from '../../domain/device-api';
import type { ApplianceTaskStatus, ProductCode } from '../../domain/scc';
import { FleetStore } from '../../store/fleet-store';
import type { upgradeOperation } from '../../workflows';
import { expectedCounters } from '../helpers/upgrade-plans';
import {
  startDevServer,
  startSimulator,
  startWorkerProcess,
  workerPolls,
  workerProcessEnv,
  type SimulatorProcess,
  type WorkerProcess,
} from '../helpers/servers';
import { TEST_IMAGE_BASE_URL } from '../helpers/stack';

const taskQueue = 'integration-worker-kill';
// 9.18.0 takes two images from most releases (an intermediate install and reboot): long tasks.
const TARGET = '9.18.0-100';
const SPEED = 40;
const PRODUCTS: ProductCode[] = ['SH', 'EX'];
const PER_OPERATION = 75;
const TASKS = PRODUCTS.length * PER_OPERATION;
/** Per operation, so tasks start over time and some finish while others have not begun. */
const MAX_IN_FLIGHT = 30;

let dir: string;
let storeUrl: string;
let env: TestWorkflowEnvironment;
let sim: SimulatorProcess;
let store: FleetStore;
let devices: DeviceClient;
const workers: WorkerProcess[] = [];

const workerEnv = (): Record<string, string> =>
  workerProcessEnv(
    { env, taskQueue, storeUrl, deviceApiUrl: sim.url, imageBaseUrl: TEST_IMAGE_BASE_URL },
    { FLEET_MAX_TASKS_IN_FLIGHT: String(TASKS) },
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-worker-kill-'));
  storeUrl = `sqlite:${join(dir, 'fleet.db')}`;
  // Six product codes in turn: 450 appliances hold 75 of each of the two used.
  [env, sim, store] = await Promise.all([
    startDevServer(),
    startSimulator({ appliances: 3 * TASKS, speed: SPEED, profile: 'clean' }),
    FleetStore.open(storeUrl),
  ]);
  await ensureRiverbedCatalog(store, TEST_IMAGE_BASE_URL);
  devices = new DeviceClient({ baseUrl: sim.url });
  const started = await Promise.allSettled(
    [0, 1].map(() => startWorkerProcess(workerEnv(), { ready: (pid) => workerPolls(env.client, taskQueue, pid) })),
  );
  for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
}, 180_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all([sim?.stop(), store?.close()]);
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function statusCounts(operations: Operation[]): Promise<Partial<Record<ApplianceTaskStatus, number>>> {
  const total: Partial<Record<ApplianceTaskStatus, number>> = {};
  for (const op of operations) {
    for (const [status, n] of Object.entries(await store.taskStatusCounts(op.id)) as [ApplianceTaskStatus, number][])
      total[status] = (total[status] ?? 0) + n;
  }
  return total;
}

/** Visibility is eventually consistent: the workflows still running on the task queue, once it has settled (or at the deadline). */
async function runningWorkflows(): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const running: string[] = [];
    for await (const wf of env.client.workflow.list({
      query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
    })) {
      if (!wf.workflowId.startsWith('task-slots')) running.push(wf.workflowId);
    }
    if (running.length === 0 || Date.now() > deadline) return running;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * What the killed worker's identity (`<pid>@<host>`) did, as the histories of the task queue's
 * workflows record it: `takenOver` counts the workflows it had worked on that another worker then
 * went on with (it held them when it died).
 */
async function workDoneBy(pid: number) {
  const prefix = `${pid}@`;
  const seen = {
    workflows: 0,
    takenOver: 0,
    workflowTasks: 0,
    activities: 0,
    activityRetries: 0,
    workflowTaskTimeouts: 0,
    activityTimeouts: 0,
  };
  for await (const wf of env.client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    let touched = false;
    let takenOver = false;
    for (const event of history.events ?? []) {
      const completedBy = event.workflowTaskCompletedEventAttributes?.identity;
      if (completedBy?.startsWith(prefix)) {
        seen.workflowTasks++;
        touched = true;
      } else if (completedBy && touched) {
        takenOver = true;
      }
      // Device calls are local activities (markers, no identity); these are the others.
      if (event.activityTaskStartedEventAttributes?.identity?.startsWith(prefix)) {
        seen.activities++;
        touched = true;
      }
      if ((event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) seen.activityRetries++;
      if (event.workflowTaskTimedOutEventAttributes) seen.workflowTaskTimeouts++;
      if (event.activityTaskTimedOutEventAttributes) seen.activityTimeouts++;
    }
    if (touched) seen.workflows++;
    if (takenOver) seen.takenOver++;
  }
  return seen;
}

test(`SIGKILL of one of two workers mid-rollout: the other finishes all ${TASKS} tasks, nothing lost, nothing done twice`, async () => {
  expect(workers).toHaveLength(2);
  const serials = new Map<ProductCode, string[]>();
  for (const product of PRODUCTS) serials.set(product, (await devices.listSerials(product)).slice(0, PER_OPERATION));
  const all = [...serials.values()].flat();
  expect(all).toHaveLength(TASKS);
  const before = new Map((await Promise.all(all.map((s) => devices.info(s)))).map((info) => [info.serial, info]));
  const expected = new Map(
    await Promise.all(
      [...before].map(async ([serial, info]) => [serial, await expectedCounters(store, info, TARGET)] as const),
    ),
  );

  const startedAt = Date.now();
  const operations = await Promise.all(
    PRODUCTS.map((product) =>
      createOperation(
        env.client,
        'upgrade',
        {
          product_code: product,
          target_version: { version_id: TARGET },
          reboot: true,
          comment: 'worker kill',
          appliances: serials.get(product)!,
          rollout: { max_in_flight: MAX_IN_FLIGHT },
        },
        { taskQueue, username: 'tester' },
      ).then(({ operation }) => operation),
    ),
  );
  const results = operations.map((op) =>
    env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${op.id}`).result(),
  );
  // Settle early failures here too, so none goes unhandled while the test polls.
  for (const r of results) r.catch(() => undefined);

  // Mid-rollout: some tasks finished, others running on the devices.
  const deadline = Date.now() + 120_000;
  let atKill: { counts: Partial<Record<ApplianceTaskStatus, number>>; stats: SimulatorStats };
  for (;;) {
    const [counts, stats] = await Promise.all([statusCounts(operations), devices.stats()]);
    if ((counts.successful ?? 0) >= 10 && (counts.running ?? 0) >= 20 && stats.jobs_running > 0) {
      atKill = { counts, stats };
      break;
    }
    if (Date.now() > deadline)
      throw new Error(`the rollout never had 10 tasks finished and 20 running: ${JSON.stringify({ counts, stats })}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const [victim, survivor] = workers as [WorkerProcess, WorkerProcess];
  // It is alive (signal 0 only checks) and still polls the task queue when it is killed.
  expect(() => process.kill(victim.pid, 0)).not.toThrow();
  expect(await workerPolls(env.client, taskQueue, victim.pid)).toBe(true);
  victim.kill('SIGKILL');
  expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
  const killedAfter = (Date.now() - startedAt) / 1000;
  console.log(
    `worker-kill: killed worker ${victim.pid} after ${killedAfter.toFixed(1)} s; tasks then ${JSON.stringify(atKill.counts)}; simulator jobs_running ${atKill.stats.jobs_running}, jobs_started ${atKill.stats.jobs_started}`,
  );

  const outcomes = await Promise.all(results);
  const seconds = (Date.now() - startedAt) / 1000;
  expect(survivor.lines.filter((l) => l.includes('"level":60'))).toEqual([]);

  // Nothing lost: every task successful, in the workflows' results and in the store.
  for (const [i, outcome] of outcomes.entries()) {
    expect([operations[i]!.id, outcome.operation.status]).toEqual([operations[i]!.id, 'successful']);
    expect(outcome.tasks).toHaveLength(PER_OPERATION);
    expect(outcome.tasks.filter((t) => t.status !== 'successful' || t.stage !== 'completed')).toEqual([]);
    expect((await store.getOperation('upgrade', operations[i]!.id))?.status).toBe('successful');
  }
  expect(await statusCounts(operations)).toEqual({ successful: TASKS });

  // Nothing done twice: each appliance on the target, each effect exactly what its plan needs.
  const after = await Promise.all(
    all.map(async (serial) => ({ serial, info: await devices.info(serial), counters: await devices.counters(serial) })),
  );
  const replays = after.reduce((n, a) => n + a.counters.idempotent_replays, 0);
  const replayed = after.filter((a) => a.counters.idempotent_replays > 0).length;
  expect(
    after
      .filter((a) => a.info.running_version.version_id !== TARGET)
      .map((a) => `${a.serial}: ${a.info.running_version.version_id}`),
  ).toEqual([]);
  const miscounted = after
    .map(({ serial, counters }) => ({ serial, counters, expected: expected.get(serial)! }))
    .filter((a) =>
      (['stages', 'patches', 'installs', 'reboots'] as const).some((k) => a.counters[k] !== a.expected[k]),
    );
  expect(miscounted).toEqual([]);
  const expectedJobs = [...expected.values()].reduce((n, c) => n + c.stages + c.patches + c.installs + c.reboots, 0);
  const stats = await devices.stats();
  expect(stats.jobs_started).toBe(expectedJobs);
  expect(stats.jobs_running).toBe(0);

  // No workflow left running (the fleet-wide task-slots coordinator may live on).
  expect(await runningWorkflows()).toEqual([]);

  // The killed worker really had work: its identity is in the histories.
  const done = await workDoneBy(victim.pid);
  console.log(
    `worker-kill: ${TASKS} tasks in ${seconds.toFixed(1)} s; idempotent_replays ${replays} on ${replayed} appliances; ` +
      `the killed worker had completed ${done.workflowTasks} workflow tasks and started ${done.activities} (non-local) activities in ${done.workflows} workflows, ` +
      `${done.takenOver} of which the other worker went on with; ${done.workflowTaskTimeouts} workflow task timeouts, ${done.activityTimeouts} activity timeouts, ${done.activityRetries} activity retries`,
  );
  expect(done.workflowTasks).toBeGreaterThan(0);
  expect(done.takenOver).toBeGreaterThan(0);
}, 420_000);
