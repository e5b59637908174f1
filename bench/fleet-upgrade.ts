/**
 * One upgrade operation over a whole simulated fleet, end to end, at each fleet size (1,000 then
 * 10,000 by default), beside the smallest Temporal fan-out doing the same number of child
 * workflows (the baseline: one child per appliance, all at once, one no-op activity each).
 *
 * Per size, on one real Temporal dev server shared by every size:
 *  - the simulator as its own process, serving `size` SH appliances (a fleet file of the seeded
 *    clean fleet's SH appliances: connected, entitled, writable, on 9.12.0 / 9.12.1 / 9.14.0), jobs
 *    sped up `--speed` times so a device job takes about a millisecond; no faults;
 *  - a SQLite store in a temp dir holding the Riverbed catalog (api/bootstrap.ts) and the
 *    appliances, read into it by the inventory refresh workflow (client/inventory.ts) run by…
 *  - the real worker (worker/create-worker.ts) as its own process (bench/fleet-worker.ts), so its
 *    peak RSS is measured apart from this driver;
 *  - one upgrade operation to the catalog's newest release (two images from every release the
 *    fleet runs; `reboot: true`) over every appliance the eligibility rules accept, created as the
 *    API creates it (createOperation with the store's eligibility check); timed from the create
 *    call to the operation's result;
 *  - afterwards, every workflow of the operation (search attribute FleetOperationId) from
 *    visibility: the largest history (events) and the operation workflow's own, checked by
 *    fetching the histories of the operation, of the workflows it started directly and of the
 *    largest task; the largest payload in those histories (inputs, results, memos, markers);
 *  - then the baseline (bench/baseline-workflows.ts) on its own worker process and task queue,
 *    over the same serials.
 *
 * The baseline starts every child at once, as the operation does without a rollout policy;
 * Temporal refuses more than 2,000 pending children per workflow by default
 * (limit.numPendingChildExecutions.error), so the dev server here raises that limit for the
 * baseline (the orchestrator's batches never come near it). Figures only, never asserted.
 *   npm run bench -- fleet-upgrade [--sizes 1000,10000] [--speed 100000] [--timeout 360] [--seed 1] [--skip-baseline] [--stack dev|cluster|dev,cluster]
 * `--stack`: the dev stack (default: the CLI dev server, one history shard, the store in SQLite) and/or the
 * cluster profile (the full Temporal server on PostgreSQL, 8 history shards, the store on the same
 * PostgreSQL: bench/lib/temporal.ts startBenchServer); a summary row per stack and size.
 * `--timeout`: seconds each run (operation or baseline) may take before it is stopped and reported
 * as unfinished, with what it had done.
 * Modules (bench/fleet-upgrade/): fleet-parts (simulator, store, worker process), histories (walking
 * the operation's workflows), baseline, report (figures, per-run lines, the summary table).
 */
import type { Client } from '@temporalio/client';
import { RIVERBED_CATALOG_VERSIONS } from '../api/bootstrap';
import { runInventoryRefresh } from '../client/inventory';
import { createOperation } from '../client/operations';
import { upgradeEligibility } from '../domain/eligibility';
import { operationWorkflowId } from '../domain/operation';
import type { ApplianceTaskStatus } from '../domain/scc';
import { fleetFacts, ineligibleAppliances } from '../store/fleet-facts';
import type { FleetStore } from '../store/fleet-store';
import type { OperationState } from '../workflows/types';
import { runBaseline } from './fleet-upgrade/baseline';
import { startFleetParts, type FleetParts } from './fleet-upgrade/fleet-parts';
import { operationHistories, stopRunning } from './fleet-upgrade/histories';
import { printRun, printSummary, type RunFigures, type SizeFigures } from './fleet-upgrade/report';
import { parseBenchOptions, parseSizes } from './lib/options';
import { cpuSnapshot, cpuSpent } from './lib/proc-sampling';
import { count, seconds } from './lib/report';
import { onEachStack, parseStacks, resultWithin, type BenchServer } from './lib/temporal';
import { Teardown } from './teardown';

/** The catalog's newest release: every release the fleet runs reaches it in two images. */
const TARGET = RIVERBED_CATALOG_VERSIONS[RIVERBED_CATALOG_VERSIONS.length - 1]!;
const PRODUCT = 'SH' as const;

interface SizeOptions {
  speed: number;
  seed: number;
  timeoutMs: number;
  skipBaseline: boolean;
}

/** The inventory as production fills it (the refresh workflow reads every device), then who may upgrade. */
async function eligibleSerials(client: Client, store: FleetStore, size: number, taskQueue: string) {
  const step = performance.now();
  const inventory = await runInventoryRefresh(client, taskQueue);
  const inventorySeconds = seconds(step);
  const facts = await fleetFacts(store, PRODUCT);
  const eligibility = upgradeEligibility({
    productCode: PRODUCT,
    appliances: facts.appliances,
    images: facts.index,
    inProgress: facts.inProgress,
    targetVersionId: TARGET,
  });
  const serials = eligibility.upgradeable.map((a) => a.serial);
  const ineligible = Object.entries(eligibility.exceptions)
    .filter(([, list]) => (list as unknown[]).length)
    .map(([category, list]) => `${(list as unknown[]).length} ${category}`)
    .join(', ');
  console.log(
    `[${count(size)}] inventory: ${inventory.discovered} discovered, ${inventory.connected} connected, ${inventory.disconnected} disconnected ` +
      `in ${inventorySeconds.toFixed(1)}s; ${serials.length} of ${facts.appliances.length} ${PRODUCT} appliances upgradeable to ${TARGET}` +
      `${ineligible ? ` (not: ${ineligible})` : ''}`,
  );
  if (!serials.length) throw new Error('no appliance is upgradeable: nothing to measure');
  return { serials, ineligible, inventorySeconds };
}

/** Prints the task counts every 20 s while the operation runs; answers how to stop. */
function printProgress(store: FleetStore, size: number, operationId: string, started: number): () => void {
  const progress = setInterval(() => {
    void store.taskStatusCounts(operationId).then(
      (c) =>
        console.log(
          `[${count(size)}]   ${seconds(started).toFixed(0)}s: ${Object.entries(c)
            .map(([s, n]) => `${n} ${s}`)
            .join(', ')}`,
        ),
      () => undefined, // a missed progress line is no matter
    );
  }, 20_000);
  return () => clearInterval(progress);
}

/** The operation, created as the API creates it (eligibility checked against the store), run to its end or the timeout. */
async function runOperation(client: Client, parts: FleetParts, size: number, serials: string[], timeoutMs: number) {
  const { store, taskQueue } = parts;
  await parts.worker.reset();
  const cpuBefore = cpuSnapshot();
  const started = performance.now();
  const { operation } = await createOperation(
    client,
    'upgrade',
    {
      product_code: PRODUCT,
      target_version: { version_id: TARGET },
      reboot: true,
      comment: `bench fleet-upgrade ${size}`,
      appliances: serials,
    },
    { taskQueue, username: 'bench', eligibility: (kind, request) => ineligibleAppliances(store, kind, request) },
  );
  const createSeconds = seconds(started);
  const workflowId = operationWorkflowId('upgrade', operation.id);
  console.log(
    `[${count(size)}] operation ${operation.id} created in ${createSeconds.toFixed(1)}s (eligibility checked); running…`,
  );
  const stopProgress = printProgress(store, size, operation.id, started);
  const handle = client.workflow.getHandle<(input: unknown) => Promise<OperationState>>(workflowId);
  const result = await resultWithin(handle.result(), timeoutMs).finally(stopProgress);
  const wallSeconds = seconds(started);
  const cpu = cpuSpent(cpuBefore, cpuSnapshot());
  // Stopped first, so nothing moves while the figures are read.
  const report = await parts.worker.stop();
  const counts: Partial<Record<ApplianceTaskStatus, number>> = await store.taskStatusCounts(operation.id);
  const outcome = result.value ? `completed ${result.value.operation.status}` : `did not complete: ${result.error}`;
  console.log(
    `[${count(size)}] ${outcome} in ${wallSeconds.toFixed(1)}s: ${Object.entries(counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ')}`,
  );
  return {
    operationId: operation.id,
    workflowId,
    finished: result.value !== undefined,
    outcome,
    counts,
    createSeconds,
    wallSeconds,
    cpu,
    report,
  };
}

/** The orchestrator's figures: the run's, and what its histories hold. */
async function orchestratorFigures(
  client: Client,
  store: FleetStore,
  tasks: number,
  run: Awaited<ReturnType<typeof runOperation>>,
): Promise<RunFigures> {
  const histories = await operationHistories(client, store, {
    id: run.operationId,
    workflowId: run.workflowId,
    tasks,
    finished: run.finished,
  });
  let outcome = run.outcome;
  if (histories.root.closedBy) outcome += `; operation workflow ${histories.root.closedBy}`;
  if (!run.finished) outcome += await stopRunning(client, histories.running);
  const finished = (run.counts.successful ?? 0) + (run.counts.failed ?? 0) + (run.counts.cancelled ?? 0);
  return {
    outcome,
    tasks,
    finished,
    successful: run.counts.successful ?? 0,
    wallSeconds: run.wallSeconds,
    tasksPerSecond: finished / run.wallSeconds,
    rootEvents: histories.root.events,
    largestHistory: histories.largestHistory,
    workflows: histories.workflows,
    totalEvents: histories.totalEvents,
    totalEventsEstimated: histories.totalEventsEstimated,
    cpu: run.cpu,
    largestPayload: histories.largestPayload,
    inputBytes: histories.root.inputBytes,
    resultBytes: histories.root.resultBytes,
    ...(histories.perTask ? { perTask: histories.perTask } : {}),
    worker: run.report,
  };
}

/** One fleet size: the operation on its own parts, then (those torn down) the baseline over the same serials. */
async function runSize(server: BenchServer, size: number, options: SizeOptions): Promise<SizeFigures> {
  const client = server.env.client;
  const teardown = new Teardown();
  try {
    const parts = await startFleetParts(
      server,
      { product: PRODUCT, size, speed: options.speed, seed: options.seed },
      teardown,
    );
    const { serials, ineligible, inventorySeconds } = await eligibleSerials(client, parts.store, size, parts.taskQueue);
    const run = await runOperation(client, parts, size, serials, options.timeoutMs);
    const orchestrator = await orchestratorFigures(client, parts.store, serials.length, run);
    printRun(size, `orchestrator ${server.stack}`, orchestrator);
    // Nothing of the orchestrator runs during the baseline.
    await teardown.run();
    const figures: SizeFigures = {
      stack: server.stack,
      size,
      eligible: serials.length,
      ineligible,
      inventorySeconds,
      createSeconds: run.createSeconds,
      orchestrator,
    };
    if (options.skipBaseline) return figures;
    try {
      figures.baseline = await runBaseline(server.env, size, serials, options.timeoutMs);
      printRun(size, `baseline ${server.stack}`, figures.baseline);
    } catch (err) {
      figures.baselineError = (err as Error).message;
      console.log(`[${count(size)}] baseline failed: ${figures.baselineError}`);
    }
    return figures;
  } finally {
    await teardown.run();
  }
}

function parseOptions(argv: string[]) {
  const values = parseBenchOptions(argv, {
    numbers: { speed: { default: 100_000 }, timeout: { default: 360 }, seed: { default: 1, min: 0, whole: true } },
    texts: { sizes: '1000,10000', stack: 'dev' },
    flags: ['skip-baseline'],
  });
  return {
    sizes: parseSizes(values.sizes),
    stacks: parseStacks(values.stack),
    size: {
      speed: values.speed,
      seed: values.seed,
      timeoutMs: values.timeout * 1000,
      skipBaseline: values['skip-baseline'],
    },
  };
}

export async function fleetUpgradeBenchmark(argv: string[] = []): Promise<void> {
  const options = parseOptions(argv);
  const all: SizeFigures[] = [];
  // With room for the baseline's pending children.
  const pendingChildren = Math.max(2000, ...options.sizes) + 100;
  await onEachStack(
    options.stacks,
    { dynamicConfig: { 'limit.numPendingChildExecutions.error': pendingChildren } },
    async (server) => {
      console.log(`  (limit.numPendingChildExecutions.error=${pendingChildren} for the baseline)`);
      for (const size of options.sizes) {
        try {
          all.push(await runSize(server, size, options.size));
        } catch (err) {
          console.error(`[${count(size)}] ${server.stack}: failed: ${(err as Error).stack ?? String(err)}`);
        }
      }
    },
  );
  printSummary(all, PRODUCT, TARGET);
}
