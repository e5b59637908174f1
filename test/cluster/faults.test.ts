/**
 * The cluster profile survives its parts failing mid-rollout: 240 appliances upgraded (two
 * operations, tasks starting over time) while, in turn, one of the two workers is killed with
 * SIGKILL, the Temporal server is restarted, and PostgreSQL (Temporal's persistence and
 * visibility, and the store) is restarted. Every appliance ends on the target having done exactly
 * what its image plan needs, once, and no workflow is left running.
 */
import type { upgradeOperation } from '../../workflows';
import { createOperation } from '../../client/operations';
import type { Operation } from '../../domain/operation';
import type { ApplianceTaskStatus, ProductCode } from '../../domain/scc';
import { startClusterStack, type ClusterStack } from '../helpers/cluster';
import { workerPolls } from '../helpers/servers';
import { expectedCounters } from '../helpers/upgrade-plans';

const taskQueue = 'cluster-faults';
// 9.18.0 takes two images from most releases (an intermediate install and reboot): long tasks.
const TARGET = '9.18.0-100';
const SPEED = 40;
const PRODUCTS: ProductCode[] = ['SH', 'EX'];
const PER_OPERATION = 120;
const TASKS = PRODUCTS.length * PER_OPERATION;
/** Per operation, so tasks start over time: each fault lands while some are done and others running. */
const MAX_IN_FLIGHT = 30;

let stack: ClusterStack;

beforeAll(async () => {
  // Six product codes in turn: 720 appliances hold 120 of each of the two used.
  stack = await startClusterStack({
    taskQueue,
    appliances: 3 * TASKS,
    speed: SPEED,
    profile: 'clean',
    workerEnv: { FLEET_MAX_TASKS_IN_FLIGHT: String(TASKS) },
  });
}, 300_000);
afterAll(() => stack?.stop(), 120_000);

/** Task statuses over the operations, from the store; undefined while the store cannot answer (PostgreSQL restarting). */
async function statusCounts(
  operations: Operation[],
): Promise<Partial<Record<ApplianceTaskStatus, number>> | undefined> {
  const total: Partial<Record<ApplianceTaskStatus, number>> = {};
  try {
    for (const op of operations) {
      for (const [status, n] of Object.entries(await stack.store.taskStatusCounts(op.id)) as [
        ApplianceTaskStatus,
        number,
      ][])
        total[status] = (total[status] ?? 0) + n;
    }
  } catch {
    return undefined;
  }
  return total;
}

/** Waits until `more` further tasks have succeeded than at the call (progress made since the last fault); answers the counts. */
async function progress(operations: Operation[], more: number, what: string) {
  const start = (await statusCounts(operations))?.successful ?? 0;
  const deadline = Date.now() + 180_000;
  for (;;) {
    const counts = await statusCounts(operations);
    if (counts && (counts.successful ?? 0) >= start + more && (counts.running ?? 0) > 0) return counts;
    if (Date.now() > deadline) throw new Error(`no progress before ${what}: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** An operation's result, read again while the client reconnects after the restarts. */
async function outcome(id: string) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      return await stack.env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${id}`).result();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Visibility is eventually consistent: the workflows still running on the task queue, once it has settled (or at the deadline). */
async function runningWorkflows(): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const running: string[] = [];
    for await (const wf of stack.env.client.workflow.list({
      query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
    })) {
      if (!wf.workflowId.startsWith('task-slots')) running.push(wf.workflowId);
    }
    if (running.length === 0 || Date.now() > deadline) return running;
    await new Promise((r) => setTimeout(r, 500));
  }
}

test(`${TASKS} appliances upgraded through a worker SIGKILL, a Temporal server restart and a PostgreSQL restart: all on the target, each effect once`, async () => {
  const { devices, env, store } = stack;
  const serials = new Map<ProductCode, string[]>();
  for (const product of PRODUCTS) serials.set(product, (await devices.listSerials(product)).slice(0, PER_OPERATION));
  const all = [...serials.values()].flat();
  expect(all).toHaveLength(TASKS);
  const infos = await Promise.all(all.map((s) => devices.info(s)));
  const expected = new Map(
    await Promise.all(infos.map(async (info) => [info.serial, await expectedCounters(store, info, TARGET)] as const)),
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
          comment: 'cluster faults',
          appliances: serials.get(product)!,
          rollout: { max_in_flight: MAX_IN_FLIGHT },
        },
        { taskQueue, username: 'tester' },
      ).then(({ operation }) => operation),
    ),
  );
  const log = (what: string, counts: unknown) =>
    console.log(
      `cluster-faults: ${what} after ${((Date.now() - startedAt) / 1000).toFixed(1)} s; tasks then ${JSON.stringify(counts)}`,
    );

  // 1. One worker killed with SIGKILL while it holds work.
  const atKill = await progress(operations, 10, 'the worker kill');
  const [victim, survivor] = stack.workers;
  expect(await workerPolls(env.client, taskQueue, victim!.pid)).toBe(true);
  victim!.kill('SIGKILL');
  expect(await victim!.exited).toEqual({ code: null, signal: 'SIGKILL' });
  log(`worker ${victim!.pid} killed`, atKill);

  // 2. The Temporal server stopped and started again (same databases, same ports).
  const atServer = await progress(operations, 10, 'the Temporal server restart');
  await stack.restartTemporal();
  log('Temporal server restarted', atServer);

  // 3. PostgreSQL stopped and started again: every connection of the server, the store and the worker cut.
  const atPostgres = await progress(operations, 10, 'the PostgreSQL restart');
  await stack.restartPostgres();
  log('PostgreSQL restarted', atPostgres);

  const outcomes = await Promise.all(operations.map((op) => outcome(op.id)));
  console.log(`cluster-faults: ${TASKS} tasks done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  expect(survivor!.lines.filter((l) => l.includes('"level":60'))).toEqual([]);
  // The other worker lived through both restarts (signal 0 only checks).
  expect(() => process.kill(survivor!.pid, 0)).not.toThrow();

  // Nothing lost: every task successful, in the workflows' results and in the store.
  for (const [i, result] of outcomes.entries()) {
    expect([operations[i]!.id, result.operation.status]).toEqual([operations[i]!.id, 'successful']);
    expect(result.tasks.filter((t) => t.status !== 'successful' || t.stage !== 'completed')).toEqual([]);
    expect((await store.getOperation('upgrade', operations[i]!.id))?.status).toBe('successful');
  }
  expect(await statusCounts(operations)).toEqual({ successful: TASKS });

  // Nothing done twice: each appliance on the target, each effect exactly what its plan needs.
  const after = await Promise.all(
    all.map(async (serial) => ({ serial, info: await devices.info(serial), counters: await devices.counters(serial) })),
  );
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
  expect([stats.jobs_started, stats.jobs_running]).toEqual([expectedJobs, 0]);
  const replays = after.reduce((n, a) => n + a.counters.idempotent_replays, 0);
  console.log(
    `cluster-faults: ${replays} idempotent replays on the devices (retried calls answered without a second effect)`,
  );

  // No workflow left running (the fleet-wide task-slots coordinator may live on).
  expect(await runningWorkflows()).toEqual([]);
}, 900_000);
