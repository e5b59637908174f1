/**
 * Concurrent upgrade operations with realistic device time, beside the floor doing the same
 * device work with nothing else.
 *   npm run bench -- fleet-rollout [--sizes 1000,3600,10000] [--speed 20] [--timeout 3600] [--limit 1000] [--skip-baseline] [--seed 1] [--stack dev|cluster|dev,cluster]
 * `--stack`: the dev stack (default) and/or the cluster profile (bench/lib/temporal.ts startBenchServer): a row per stack.
 *
 * Per size, on one Temporal dev server shared by every size (its Prometheus endpoint on a known port):
 *  - ours: `size` appliances of the seeded clean fleet (the simulator as its own process, jobs at
 *    `--speed`: a two-image upgrade is about 30 s of device time at 20), the inventory read by the
 *    refresh workflow into a SQLite store holding the Riverbed catalog, and the real worker in its
 *    own process with FLEET_MAX_TASKS_IN_FLIGHT = `--limit`; six upgrade operations, one per
 *    product code, to RIVERBED_TWO_HOP_VERSION (two images from every release the fleet runs) with
 *    `reboot: true`, created at once through client/operations.ts as the API creates them;
 *  - the baseline (bench/baseline-workflows.ts baselineRollout), on a fresh simulator of the same
 *    fleet, its own task queue and worker process: one child per appliance starting each job of
 *    the appliance's image plan (computed up front, bench/lib/device-plans.ts) with a short
 *    activity and sleeping for the time the device expects, in batches of at most 500 children,
 *    at most `--limit` children at once.
 * Printed for each (bench/lib/rollout-report.ts): wall time and ours ÷ baseline, tasks/s, the peak
 * of device jobs at once (simulator /admin/stats) and its share of the limit, the peak activity
 * backlog, worker peak RSS, history events per task and per second, Temporal RPCs per second (the
 * server's service_requests), device-API requests per second, and every appliance's counters
 * against its plan (exactly once). Figures only, never asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { ensureRiverbedCatalog, RIVERBED_TWO_HOP_VERSION } from '../api/bootstrap';
import { runInventoryRefresh } from '../client/inventory';
import { createOperation } from '../client/operations';
import { upgradeEligibility } from '../domain/eligibility';
import { operationWorkflowId } from '../domain/operation';
import { PRODUCT_CODES, type ProductCode } from '../domain/scc';
import { fleetFacts, ineligibleAppliances } from '../store/fleet-facts';
import { FleetStore } from '../store/fleet-store';
import { startSimulator, type SimulatorProcess } from '../test/helpers/servers';
import type { OperationState } from '../workflows/types';
import type { BaselineRolloutInput, BaselineRolloutResult } from './baseline-workflows';
import { planUpgrades, type FleetPlans } from './lib/device-plans';
import { historyEvents, terminateAll } from './lib/history-stats';
import { cpuSnapshot, cpuSpent } from './lib/proc-sampling';
import { parseBenchOptions, parseSizes } from './lib/options';
import { count, seconds, sleep } from './lib/report';
import { printRun, printSummary, type RunFigures, type SizeFigures } from './lib/rollout-report';
import { checkCounters, resetSimulatorStats, simulatorStats } from './lib/simulator-admin';
import {
  BacklogSampler,
  frontendRequests,
  parseStacks,
  requestsBetween,
  onEachStack,
  resultWithin,
  type BenchServer,
  type StackName,
} from './lib/temporal';
import { startWorker, type WorkerProcess } from './lib/worker-process';
import { Teardown } from './teardown';

const TARGET = RIVERBED_TWO_HOP_VERSION;
const BATCH_SIZE = 500;

interface Options {
  speed: number;
  seed: number;
  timeoutMs: number;
  limit: number;
  skipBaseline: boolean;
  stacks: StackName[];
}

/** What one measured run needs: where it runs and what its appliances must have done. */
interface Run {
  client: Client;
  metricsUrl: string;
  taskQueue: string;
  sim: SimulatorProcess;
  worker: WorkerProcess;
  fleet: FleetPlans;
}

interface Outcome {
  outcome: string;
  successful: number;
  finished: boolean;
}

const workerEnv = (
  server: BenchServer,
  taskQueue: string,
  sim: SimulatorProcess,
  extra: Record<string, string> = {},
): Record<string, string> => ({
  FLEET_TEMPORAL_ADDRESS: server.env.address,
  FLEET_TEMPORAL_NAMESPACE: server.env.namespace ?? 'default',
  FLEET_TASK_QUEUE: taskQueue,
  FLEET_DEVICE_API_URL: sim.url,
  FLEET_IMAGE_BASE_URL: `${sim.url}/images`,
  ...extra,
});

/**
 * Runs `go` and measures it: the simulator's stats reset before and read at once after, the
 * worker's memory, the activity backlog every 2 s, the server's RPCs (the counter read 2 s after
 * a quiet moment, as the server publishes it about every second), the histories of every
 * workflow started on the task queue meanwhile, and each appliance's counters.
 */
async function measure(run: Run, go: () => Promise<Outcome>): Promise<RunFigures> {
  await resetSimulatorStats(run.sim.url);
  await run.worker.reset();
  await sleep(2000);
  const rpcsBefore = await frontendRequests(run.metricsUrl);
  const cpuBefore = cpuSnapshot();
  const since = new Date().toISOString();
  const backlog = new BacklogSampler(run.client, run.taskQueue);
  const started = performance.now();
  const result = await go();
  const wallSeconds = seconds(started);
  const stats = await simulatorStats(run.sim.url);
  const backlogSeen = await backlog.stop();
  const cpu = cpuSpent(cpuBefore, cpuSnapshot());
  await sleep(2000);
  const rpcs = requestsBetween(rpcsBefore, await frontendRequests(run.metricsUrl));
  const worker = await run.worker.stop();
  const history = await historyEvents(run.client, `TaskQueue = '${run.taskQueue}' AND StartTime >= '${since}'`);
  const outcome = result.outcome + (await terminateLeft(run.client, history.running));
  const counters = await checkCounters(run.sim.url, run.fleet);
  return {
    outcome,
    tasks: run.fleet.appliances.length,
    successful: result.successful,
    wallSeconds,
    stats,
    backlog: backlogSeen,
    worker,
    history,
    rpcs,
    counters,
    cpu,
  };
}

/** Terminates the workflows still open after a run (the task-slots workflow, or all of a run stopped at its timeout); says which. */
async function terminateLeft(client: Client, running: { workflowId: string; type: string }[]): Promise<string> {
  if (!running.length) return '';
  const types = new Map<string, number>();
  for (const { type } of running) types.set(type, (types.get(type) ?? 0) + 1);
  const terminated = await terminateAll(
    client,
    running.map((r) => r.workflowId),
    'benchmark run over',
  );
  return `; still open afterwards, terminated: ${terminated} of ${[...types].map(([type, n]) => `${n} ${type}`).join(', ')}`;
}

/** The eligible appliances of each product code, and their plans. */
async function eligibleByProduct(
  store: FleetStore,
  imageBaseUrl: string,
): Promise<{ byProduct: Map<ProductCode, string[]>; fleet: FleetPlans; ineligible: number }> {
  const byProduct = new Map<ProductCode, string[]>();
  const fleet: FleetPlans = { plans: [], appliances: [] };
  let ineligible = 0;
  for (const productCode of PRODUCT_CODES) {
    const facts = await fleetFacts(store, productCode);
    const { upgradeable } = upgradeEligibility({
      productCode,
      appliances: facts.appliances,
      images: facts.index,
      inProgress: facts.inProgress,
      targetVersionId: TARGET,
    });
    ineligible += facts.appliances.length - upgradeable.length;
    if (!upgradeable.length) continue;
    byProduct.set(
      productCode,
      upgradeable.map((a) => a.serial),
    );
    await planUpgrades(store, productCode, upgradeable, TARGET, imageBaseUrl, fleet);
  }
  return { byProduct, fleet, ineligible };
}

/** The six operations, created at once as the API creates them, each awaited until the deadline. */
async function runOperations(
  client: Client,
  store: FleetStore,
  taskQueue: string,
  byProduct: Map<ProductCode, string[]>,
  options: Options,
  size: number,
): Promise<Outcome> {
  const eligibility = (
    kind: Parameters<typeof ineligibleAppliances>[1],
    request: Parameters<typeof ineligibleAppliances>[2],
  ) => ineligibleAppliances(store, kind, request);
  const created = await Promise.all(
    [...byProduct].map(([product_code, appliances]) =>
      createOperation(
        client,
        'upgrade',
        {
          product_code,
          target_version: { version_id: TARGET },
          reboot: true,
          comment: `bench fleet-rollout ${size} ${product_code}`,
          appliances,
        },
        { taskQueue, username: 'bench', eligibility },
      ),
    ),
  );
  console.log(
    `[${count(size)}] ours: ${created.length} operations created (${created.map((c) => `${c.operation.product_code} ${count(c.operation.appliances.length)}`).join(', ')}); running…`,
  );
  const results = await Promise.all(
    created.map(({ operation }) =>
      resultWithin(
        client.workflow
          .getHandle<(input: unknown) => Promise<OperationState>>(operationWorkflowId('upgrade', operation.id))
          .result(),
        options.timeoutMs,
      ),
    ),
  );
  const statuses = new Map<string, number>();
  for (const r of results) {
    const status = r.value ? r.value.operation.status : (r.error ?? 'unknown');
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  let successful = 0;
  for (const { operation } of created) successful += (await store.taskStatusCounts(operation.id)).successful ?? 0;
  return {
    outcome: `operations: ${[...statuses].map(([s, n]) => `${n} ${s}`).join(', ')}`,
    successful,
    finished: results.every((r) => r.value),
  };
}

/** Ours: simulator, store, worker, inventory, then the six operations measured. */
async function runOurs(
  server: BenchServer,
  size: number,
  options: Options,
  teardown: Teardown,
): Promise<{ figures: RunFigures; fleet: FleetPlans }> {
  let step = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-rollout-'));
  teardown.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
  const sim = await startSimulator({ appliances: size, speed: options.speed, seed: options.seed, profile: 'clean' });
  teardown.add('simulator', () => sim.stop());
  const storeUrl = await server.newStoreUrl(dir, 'fleet');
  const store = await FleetStore.open(storeUrl);
  teardown.add('store', () => store.close());
  const images = await ensureRiverbedCatalog(store, `${sim.url}/images`);
  const taskQueue = `bench-fleet-rollout-${size}-${Date.now()}`;
  const worker = await startWorker(
    'fleet worker',
    workerEnv(server, taskQueue, sim, { FLEET_STORE_URL: storeUrl, FLEET_MAX_TASKS_IN_FLIGHT: String(options.limit) }),
  );
  teardown.add('fleet worker', () => worker.kill());
  console.log(
    `[${count(size)}] simulator (${count(size)} appliances, speed ${options.speed}), store (${images} Riverbed images) and worker up in ${seconds(step).toFixed(1)}s`,
  );

  step = performance.now();
  const inventory = await runInventoryRefresh(server.env.client, taskQueue);
  const { byProduct, fleet, ineligible } = await eligibleByProduct(store, `${sim.url}/images`);
  console.log(
    `[${count(size)}] inventory: ${inventory.discovered} discovered in ${seconds(step).toFixed(1)}s; ${count(fleet.appliances.length)} upgradeable to ${TARGET} (${ineligible} not), ${fleet.plans.length} distinct plans of ${Math.min(...fleet.plans.map((p) => p.steps.length))}–${Math.max(...fleet.plans.map((p) => p.steps.length))} device jobs`,
  );
  if (!fleet.appliances.length) throw new Error('no appliance is upgradeable: nothing to measure');
  const run: Run = { client: server.env.client, metricsUrl: server.metricsUrl!, taskQueue, sim, worker, fleet };
  const figures = await measure(run, () =>
    runOperations(server.env.client, store, taskQueue, byProduct, options, size),
  );
  return { figures, fleet };
}

/** The baseline over the same appliances and plans, on a fresh simulator of the same fleet. */
async function runBaseline(
  server: BenchServer,
  size: number,
  fleet: FleetPlans,
  options: Options,
): Promise<RunFigures> {
  const teardown = new Teardown();
  try {
    const sim = await startSimulator({ appliances: size, speed: options.speed, seed: options.seed, profile: 'clean' });
    teardown.add('baseline simulator', () => sim.stop());
    const taskQueue = `bench-rollout-baseline-${size}-${Date.now()}`;
    const worker = await startWorker('baseline worker', workerEnv(server, taskQueue, sim), ['--baseline']);
    teardown.add('baseline worker', () => worker.kill());
    const input: BaselineRolloutInput = {
      plans: fleet.plans.map((p) => p.steps),
      appliances: fleet.appliances.map((a) => [a.serial, a.plan]),
      limit: options.limit,
      batchSize: BATCH_SIZE,
    };
    console.log(
      `[${count(size)}] baseline: ${count(input.appliances.length)} children in batches of ${BATCH_SIZE}, at most ${count(options.limit)} at once; running…`,
    );
    const run: Run = { client: server.env.client, metricsUrl: server.metricsUrl!, taskQueue, sim, worker, fleet };
    return await measure(run, async () => {
      const handle = await server.env.client.workflow.start<
        (input: BaselineRolloutInput) => Promise<BaselineRolloutResult>
      >('baselineRollout', { taskQueue, workflowId: `baseline-rollout-${size}-${Date.now()}`, args: [input] });
      const r = await resultWithin(handle.result(), options.timeoutMs);
      const failures = r.value?.failures.length ? `; failures: ${r.value.failures.join('; ')}` : '';
      return {
        outcome: r.value
          ? `completed: ${r.value.completed} tasks, ${r.value.failed} failed${failures}`
          : `did not complete: ${r.error}`,
        successful: r.value?.completed ?? 0,
        finished: r.value !== undefined,
      };
    });
  } finally {
    await teardown.run();
  }
}

async function runSize(server: BenchServer, size: number, options: Options): Promise<SizeFigures> {
  const teardown = new Teardown();
  let ours: { figures: RunFigures; fleet: FleetPlans };
  try {
    ours = await runOurs(server, size, options, teardown);
  } finally {
    // Nothing of ours runs during the baseline.
    await teardown.run();
  }
  printRun(size, `ours ${server.stack}`, ours.figures, options.limit);
  const figures: SizeFigures = { stack: server.stack, size, ours: ours.figures };
  if (options.skipBaseline) return figures;
  try {
    figures.baseline = await runBaseline(server, size, ours.fleet, options);
    printRun(size, `baseline ${server.stack}`, figures.baseline, options.limit);
  } catch (err) {
    figures.baselineError = (err as Error).message;
    console.log(`[${count(size)}] baseline failed: ${figures.baselineError}`);
  }
  return figures;
}

function parseOptions(argv: string[]): Options & { sizes: number[] } {
  const values = parseBenchOptions(argv, {
    numbers: {
      speed: { default: 20 },
      timeout: { default: 3600 },
      limit: { default: 1000, min: 1, whole: true },
      seed: { default: 1, min: 0, whole: true },
    },
    texts: { sizes: '1000,3600,10000', stack: 'dev' },
    flags: ['skip-baseline'],
  });
  return {
    sizes: parseSizes(values.sizes, PRODUCT_CODES.length),
    stacks: parseStacks(values.stack),
    speed: values.speed,
    timeoutMs: values.timeout * 1000,
    limit: values.limit,
    seed: values.seed,
    skipBaseline: values['skip-baseline'],
  };
}

export async function fleetRolloutBenchmark(argv: string[] = []): Promise<void> {
  const options = parseOptions(argv);
  const all: SizeFigures[] = [];
  await onEachStack(options.stacks, { metrics: true }, async (server) => {
    for (const size of options.sizes) {
      try {
        all.push(await runSize(server, size, options));
      } catch (err) {
        console.error(`[${count(size)}] ${server.stack}: failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
  });
  printSummary(all, options.limit, TARGET);
}
