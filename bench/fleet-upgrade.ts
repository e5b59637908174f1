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
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureRiverbedCatalog, RIVERBED_CATALOG_VERSIONS } from '../api/bootstrap';
import { runInventoryRefresh } from '../client/inventory';
import { createOperation } from '../client/operations';
import { upgradeEligibility } from '../domain/eligibility';
import { operationWorkflowId } from '../domain/operation';
import { PRODUCT_CODES, type ApplianceTaskStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { generateAppliances } from '../simulator/fleet';
import { fleetFacts, ineligibleAppliances } from '../store/fleet-facts';
import { FleetStore } from '../store/fleet-store';
import { startSimulator, type SimulatorProcess } from '../test/helpers/servers';
import type { OperationState } from '../workflows/types';
import type { BaselineFanOutResult } from './baseline-workflows';
import { currentHistoryLengths, historyFacts, listAll, listOperationWorkflows, terminateAll, type HistoryFacts, type Largest } from './lib/history-stats';
import { cpuSnapshot, cpuSpent } from './lib/proc-sampling';
import { count, kib, mib, parseSizes, seconds, table } from './lib/report';
import { parseStacks, resultWithin, startBenchServer, type BenchServer, type StackName } from './lib/temporal';
import { startWorker, type WorkerReport } from './lib/worker-process';
import { Teardown } from './teardown';

/** The catalog's newest release: every release the fleet runs reaches it in two images. */
const TARGET = RIVERBED_CATALOG_VERSIONS[RIVERBED_CATALOG_VERSIONS.length - 1]!;
const PRODUCT = 'SH' as const;
/** Temporal's defaults: hard limits (the workflow is terminated) and warnings. */
const HISTORY_EVENTS_LIMIT = 51_200;
const HISTORY_EVENTS_WARN = 10_240;
const PAYLOAD_LIMIT = 2 * 1024 * 1024;
const PAYLOAD_WARN = 512 * 1024;

// ---------------------------------------------------------------------------------------------
// One fleet size

interface RunFigures {
  /** What happened: `completed <status>`, or why it did not. */
  outcome: string;
  tasks: number;
  finished: number;
  successful: number;
  wallSeconds: number;
  tasksPerSecond: number;
  /** The root workflow's own history (events). */
  rootEvents: number;
  largestHistory: { events: number; workflowId: string; type: string; bytes?: number };
  workflows: number;
  largestPayload: Largest;
  inputBytes: number;
  resultBytes: number;
  /** Events in every workflow of the run (those of running tasks partly estimated: totalEventsEstimated). */
  totalEvents: number;
  totalEventsEstimated?: boolean;
  /** CPU seconds by process during the run (2 cores: at most twice the wall time). */
  cpu: string;
  /** One task's work, from its history (the largest completed task's; the baseline's first child's); `completed: false`: no task had completed. */
  perTask?: Pick<HistoryFacts, 'events' | 'activities' | 'localActivities' | 'workflowTasks'> & { completed: boolean };
  worker: WorkerReport;
}

interface SizeFigures {
  stack: StackName;
  size: number;
  eligible: number;
  ineligible: string;
  inventorySeconds: number;
  createSeconds: number;
  orchestrator: RunFigures;
  baseline?: RunFigures;
  baselineError?: string;
}

/** The SH appliances of the seeded clean fleet, `size` of them, as a simulator fleet file. */
function writeFleetFile(path: string, size: number, seed: number): void {
  const appliances = generateAppliances(size * PRODUCT_CODES.length, seed, 'clean')
    .filter((a) => a.product_code === PRODUCT)
    .slice(0, size);
  writeFileSync(path, JSON.stringify({ appliances, collectors: [] }));
}

async function runSize(server: BenchServer, size: number, options: { speed: number; seed: number; timeoutMs: number; skipBaseline: boolean }): Promise<SizeFigures> {
  const { env } = server;
  const client = env.client;
  const teardown = new Teardown();
  try {
    let step = performance.now();
    const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-upgrade-'));
    teardown.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
    const fleetFile = join(dir, 'fleet.json');
    writeFleetFile(fleetFile, size, options.seed);
    const sim: SimulatorProcess = await startSimulator({ appliances: 0, speed: options.speed, seed: options.seed, profile: 'clean', fleetFile });
    teardown.add('simulator', () => sim.stop());
    const storeUrl = await server.newStoreUrl(dir, 'fleet');
    // Opened (and migrated) here before the worker opens it.
    const store = await FleetStore.open(storeUrl);
    teardown.add('store', () => store.close());
    const imageBaseUrl = `${sim.url}/images`;
    const images = await ensureRiverbedCatalog(store, imageBaseUrl);
    const taskQueue = `bench-fleet-upgrade-${size}-${Date.now()}`;
    const worker = await startWorker('fleet worker', {
      FLEET_TEMPORAL_ADDRESS: env.address,
      FLEET_TEMPORAL_NAMESPACE: env.namespace ?? 'default',
      FLEET_TASK_QUEUE: taskQueue,
      FLEET_STORE_URL: storeUrl,
      FLEET_DEVICE_API_URL: sim.url,
      FLEET_IMAGE_BASE_URL: imageBaseUrl,
    });
    teardown.add('fleet worker', () => worker.kill());
    console.log(`[${count(size)}] simulator (${count(size)} ${PRODUCT} appliances, speed ${options.speed}), store (${images} Riverbed images) and worker process up in ${seconds(step).toFixed(1)}s`);

    // The inventory as production fills it: the refresh workflow discovers and reads every device.
    step = performance.now();
    const inventory = await runInventoryRefresh(client, taskQueue);
    const inventorySeconds = seconds(step);
    const facts = await fleetFacts(store, PRODUCT);
    const eligibility = upgradeEligibility({ productCode: PRODUCT, appliances: facts.appliances, images: facts.index, inProgress: facts.inProgress, targetVersionId: TARGET });
    const serials = eligibility.upgradeable.map((a) => a.serial);
    const ineligible = Object.entries(eligibility.exceptions)
      .filter(([, list]) => (list as unknown[]).length)
      .map(([category, list]) => `${(list as unknown[]).length} ${category}`)
      .join(', ');
    console.log(
      `[${count(size)}] inventory: ${inventory.discovered} discovered, ${inventory.connected} connected, ${inventory.disconnected} disconnected in ${inventorySeconds.toFixed(1)}s; ` +
        `${serials.length} of ${facts.appliances.length} ${PRODUCT} appliances upgradeable to ${TARGET}${ineligible ? ` (not: ${ineligible})` : ''}`,
    );
    if (!serials.length) throw new Error('no appliance is upgradeable: nothing to measure');

    // The operation, created as the API creates it (eligibility checked against the store).
    await worker.reset();
    const cpuBefore = cpuSnapshot();
    const started = performance.now();
    const { operation } = await createOperation(
      client,
      'upgrade',
      { product_code: PRODUCT, target_version: { version_id: TARGET }, reboot: true, comment: `bench fleet-upgrade ${size}`, appliances: serials },
      { taskQueue, username: 'bench', eligibility: (kind, request) => ineligibleAppliances(store, kind, request) },
    );
    const createSeconds = seconds(started);
    const operationWfId = operationWorkflowId('upgrade', operation.id);
    const handle = client.workflow.getHandle<(input: unknown) => Promise<OperationState>>(operationWfId);
    console.log(`[${count(size)}] operation ${operation.id} created in ${createSeconds.toFixed(1)}s (eligibility checked); running…`);
    const progress = setInterval(() => {
      void store.taskStatusCounts(operation.id).then(
        (c) => console.log(`[${count(size)}]   ${seconds(started).toFixed(0)}s: ${Object.entries(c).map(([s, n]) => `${n} ${s}`).join(', ')}`),
        () => undefined,
      );
    }, 20_000);
    const result = await resultWithin(handle.result(), options.timeoutMs).finally(() => clearInterval(progress));
    const wallSeconds = seconds(started);
    const cpu = cpuSpent(cpuBefore, cpuSnapshot());
    // Stopped first, so nothing moves while the figures are read.
    const report = await worker.stop();
    const counts: Partial<Record<ApplianceTaskStatus, number>> = await store.taskStatusCounts(operation.id);
    const finished = (counts.successful ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0);
    let outcome = result.value ? `completed ${result.value.operation.status}` : `did not complete: ${result.error}`;
    console.log(`[${count(size)}] ${outcome} in ${wallSeconds.toFixed(1)}s: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}`);

    // Histories: every workflow of the operation from visibility, then the histories themselves of
    // the operation, of the workflows it started that carry no serial (batches, if any) and of the
    // largest task. Workflows still running (a run stopped at the timeout) are read as they are.
    const listed = await listOperationWorkflows(client, operation.id, serials.length + 1, result.value !== undefined);
    const inProgress = new Set((await store.listTasks(operation.id)).filter((t) => t.status === 'running').map((t) => t.serial));
    const estimatedEvents = await currentHistoryLengths(client, listed, inProgress);
    const byLength = [...listed].sort((a, b) => b.historyLength - a.historyLength);
    const rootFacts = await historyFacts(client, operationWfId);
    const checked = new Map<string, HistoryFacts>([[operationWfId, rootFacts]]);
    const direct = listed.filter((e) => e.workflowId !== operationWfId && e.typedSearchAttributes.get(SA.serial) === undefined);
    const largestTask = byLength.find((e) => e.typedSearchAttributes.get(SA.serial) !== undefined);
    // One task's whole work: the largest completed task (when none has completed, the largest).
    const sampleTask = byLength.find((e) => e.typedSearchAttributes.get(SA.serial) !== undefined && e.status.name === 'COMPLETED') ?? largestTask;
    for (const e of new Set([...direct, ...(largestTask ? [largestTask] : []), ...(sampleTask ? [sampleTask] : [])])) checked.set(e.workflowId, await historyFacts(client, e.workflowId));
    let largestHistory = { events: rootFacts.events, workflowId: operationWfId, type: 'upgradeOperation', bytes: undefined as number | undefined };
    for (const e of listed) {
      const events = Math.max(e.historyLength, checked.get(e.workflowId)?.events ?? 0);
      if (events > largestHistory.events) largestHistory = { events, workflowId: e.workflowId, type: e.type, bytes: e.historySize };
    }
    if (largestHistory.workflowId === operationWfId) largestHistory.bytes = listed.find((e) => e.workflowId === operationWfId)?.historySize;
    const largestPayload = [...checked.values()].reduce<Largest>((max, f) => (f.largestPayload.bytes > max.bytes ? f.largestPayload : max), { bytes: 0, where: '' });
    if (rootFacts.closedBy) outcome += `; operation workflow ${rootFacts.closedBy}`;
    const taskFacts = sampleTask ? { ...checked.get(sampleTask.workflowId)!, completed: sampleTask.status.name === 'COMPLETED' } : undefined;
    if (!result.value) {
      // What still runs is stopped before the baseline: the operation and its batches first, so
      // no parent starts anything more. Any left after 30 s stay open but idle (no worker polls
      // their task queue) until the dev server stops.
      const first = new Set([operationWfId, ...direct.map((e) => e.workflowId)]);
      const running = listed.filter((e) => e.status.name === 'RUNNING').sort((x, y) => Number(first.has(y.workflowId)) - Number(first.has(x.workflowId)));
      const terminated = await terminateAll(client, running.map((e) => e.workflowId), 'benchmark timeout');
      outcome += ` (${terminated} of ${running.length} workflows still running terminated)`;
    }

    const orchestrator: RunFigures = {
      outcome,
      tasks: serials.length,
      finished,
      successful: counts.successful ?? 0,
      wallSeconds,
      tasksPerSecond: finished / wallSeconds,
      rootEvents: rootFacts.events,
      largestHistory,
      workflows: listed.length,
      totalEvents: estimatedEvents + listed.reduce((sum, e) => sum + Math.max(e.historyLength, checked.get(e.workflowId)?.events ?? 0), 0),
      totalEventsEstimated: estimatedEvents > 0,
      cpu,
      largestPayload,
      inputBytes: rootFacts.inputBytes,
      resultBytes: rootFacts.resultBytes,
      ...(taskFacts ? { perTask: taskFacts } : {}),
      worker: report,
    };
    printRun(size, `orchestrator ${server.stack}`, orchestrator);

    // Nothing of the orchestrator runs during the baseline.
    await teardown.run();
    const figures: SizeFigures = { stack: server.stack, size, eligible: serials.length, ineligible, inventorySeconds, createSeconds, orchestrator };
    if (options.skipBaseline) return figures;
    try {
      figures.baseline = await runBaseline(env, size, serials, options.timeoutMs);
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

/** The minimal fan-out over the same serials, on its own worker process and task queue. */
async function runBaseline(env: TestWorkflowEnvironment, size: number, serials: string[], timeoutMs: number): Promise<RunFigures> {
  const client = env.client;
  const teardown = new Teardown();
  try {
    const taskQueue = `bench-baseline-${size}-${Date.now()}`;
    const worker = await startWorker('baseline worker', { FLEET_TEMPORAL_ADDRESS: env.address, FLEET_TEMPORAL_NAMESPACE: env.namespace ?? 'default', FLEET_TASK_QUEUE: taskQueue }, ['--baseline']);
    teardown.add('baseline worker', () => worker.kill());
    await worker.reset();
    const workflowId = `baseline-${size}-${Date.now()}`;
    console.log(`[${count(size)}] baseline: ${count(serials.length)} child workflows at once, one no-op activity each; running…`);
    const cpuBefore = cpuSnapshot();
    const started = performance.now();
    const handle = await client.workflow.start<(input: { serials: string[] }) => Promise<BaselineFanOutResult>>('baselineFanOut', { taskQueue, workflowId, args: [{ serials }] });
    const result = await resultWithin(handle.result(), timeoutMs);
    const wallSeconds = seconds(started);
    const cpu = cpuSpent(cpuBefore, cpuSnapshot());
    let outcome = result.value ? 'completed' : `did not complete: ${result.error}`;
    if (!result.value) {
      const running = await handle.describe().then((d) => d.status.name === 'RUNNING', () => false);
      if (running) {
        await handle.terminate('benchmark timeout').catch(() => undefined);
        outcome += ' (terminated)';
      }
    }
    const report = await worker.stop();
    const facts = await historyFacts(client, workflowId);
    if (facts.closedBy) outcome += `; ${facts.closedBy}`;
    // Children that finished: from visibility, as ids are `${workflowId}-${serial}`.
    const children = await listAll(client, `WorkflowType = 'baselineTask' AND ExecutionStatus = 'Completed' AND WorkflowId STARTS_WITH '${workflowId}-'`).catch(() => undefined);
    const finished = result.value?.completed ?? children?.length ?? 0;
    const child = children?.[0] ? await historyFacts(client, children[0].workflowId) : undefined;
    const figures: RunFigures = {
      outcome,
      tasks: serials.length,
      finished,
      successful: finished,
      wallSeconds,
      tasksPerSecond: finished / wallSeconds,
      rootEvents: facts.events,
      largestHistory: { events: Math.max(facts.events, child?.events ?? 0), workflowId, type: 'baselineFanOut' },
      workflows: 1 + (children?.length ?? 0),
      totalEvents: facts.events + (children ?? []).reduce((sum, e) => sum + e.historyLength, 0),
      cpu,
      largestPayload: child && child.largestPayload.bytes > facts.largestPayload.bytes ? child.largestPayload : facts.largestPayload,
      inputBytes: facts.inputBytes,
      resultBytes: facts.resultBytes,
      ...(child ? { perTask: { ...child, completed: true } } : {}),
      worker: report,
    };
    return figures;
  } finally {
    await teardown.run();
  }
}

function printRun(size: number, name: string, r: RunFigures): void {
  const limits = (events: number): string => (events > HISTORY_EVENTS_LIMIT ? ' OVER THE 51,200 LIMIT' : events > HISTORY_EVENTS_WARN ? ' (over the 10,240 warning)' : '');
  console.log(`[${count(size)}] ${name}: ${r.outcome}`);
  console.log(`    ${count(r.finished)} of ${count(r.tasks)} tasks finished (${count(r.successful)} successful) in ${r.wallSeconds.toFixed(1)}s: ${r.tasksPerSecond.toFixed(1)} tasks/s`);
  const eventsPerSecond = r.totalEvents / r.wallSeconds;
  console.log(`    ${r.totalEventsEstimated ? '≈' : ''}${count(r.totalEvents)} history events in all (${eventsPerSecond.toFixed(0)} events/s); CPU during the run: ${r.cpu}`);
  if (r.finished < r.tasks && r.perTask?.completed && eventsPerSecond > 0) {
    // Each task's own history, and the root's share, as it grew per finished task so far.
    const needed = Math.round(r.tasks * r.perTask.events + (r.rootEvents * r.tasks) / Math.max(1, r.finished));
    console.log(`    unfinished: the ${count(r.tasks)} tasks take ≈${count(needed)} events (${r.perTask.events} each, and the root's); at the ${eventsPerSecond.toFixed(0)} events/s seen so far that is ≈${(needed / eventsPerSecond / 60).toFixed(0)} minutes in all (a rough guess)`);
  }
  console.log(`    histories: root workflow ${count(r.rootEvents)} events; largest ${count(r.largestHistory.events)} events${r.largestHistory.bytes ? ` (${kib(r.largestHistory.bytes)})` : ''} in ${r.largestHistory.type} ${r.largestHistory.workflowId}${limits(r.largestHistory.events)}; ${count(r.workflows)} workflows`);
  console.log(`    payloads: largest ${kib(r.largestPayload.bytes)} (${r.largestPayload.where})${r.largestPayload.bytes > PAYLOAD_LIMIT ? ' OVER THE 2 MiB LIMIT' : r.largestPayload.bytes > PAYLOAD_WARN ? ' (over the 512 KiB warning)' : ''}; root input ${kib(r.inputBytes)}, result ${kib(r.resultBytes)}`);
  if (r.perTask) console.log(`    one ${r.perTask.completed ? 'completed' : 'unfinished'} task: ${r.perTask.events} events, ${r.perTask.activities} activities, ${r.perTask.localActivities} local activities, ${r.perTask.workflowTasks} workflow tasks`);
  console.log(
    `    worker process: peak RSS ${mib(r.worker.peakRssBytes)} during the run (${mib(r.worker.startRssBytes)} when it began; high-water mark ${mib(r.worker.hwmBytes)} with start-up and bundling), main-thread heap peak ${mib(r.worker.peakHeapBytes)}`,
  );
  console.log(`    worker warnings: ${r.worker.warnings}`);
}

const SUMMARY_COLUMNS = [
  { title: 'appliances', width: 10 },
  { title: 'run', width: 22 },
  { title: 'wall s', width: 9 },
  { title: 'tasks/s', width: 9 },
  { title: 'events/s', width: 10 },
  { title: 'root events', width: 13 },
  { title: 'max events', width: 12 },
  { title: 'max payload', width: 13 },
  { title: 'worker peak', width: 13 },
  { title: 'ratio', width: 8 },
  { title: 'outcome', width: 0, left: true },
];

function printSummary(all: SizeFigures[]): void {
  console.log(`\nfleet upgrade: one upgrade operation (${PRODUCT} to ${TARGET}, two images each, reboot) per fleet size, real worker in its own process, on each stack (dev: Temporal dev server, SQLite store; cluster: Temporal server with 8 history shards and the store on PostgreSQL); baseline: one parent, one child per appliance at once, one no-op activity each`);
  const rows: string[][] = [];
  for (const s of all) {
    for (const [run, r] of [['orchestrator', s.orchestrator], ['baseline', s.baseline]] as const) {
      const name = `${run} ${s.stack}`;
      if (!r) {
        rows.push([count(s.eligible), name, '', '', '', '', '', '', '', '', s.baselineError ?? 'not run']);
        continue;
      }
      const ratio = run === 'orchestrator' && s.baseline && s.baseline.tasksPerSecond > 0 ? (s.orchestrator.tasksPerSecond / s.baseline.tasksPerSecond).toFixed(3) : '';
      rows.push([count(s.eligible), name, r.wallSeconds.toFixed(1), r.tasksPerSecond.toFixed(1), (r.totalEvents / r.wallSeconds).toFixed(0), count(r.rootEvents), count(r.largestHistory.events), kib(r.largestPayload.bytes), mib(r.worker.peakRssBytes), ratio, r.outcome]);
    }
  }
  for (const line of table(SUMMARY_COLUMNS, rows, 10)) console.log(line);
  console.log('ratio: orchestrator tasks/s ÷ baseline tasks/s. Limits: 51,200 events and 2 MiB per payload (warnings at 10,240 events, 512 KiB).');
}

export async function fleetUpgradeBenchmark(argv: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      sizes: { type: 'string', default: '1000,10000' },
      speed: { type: 'string', default: '100000' },
      timeout: { type: 'string', default: '360' },
      seed: { type: 'string', default: '1' },
      'skip-baseline': { type: 'boolean', default: false },
      stack: { type: 'string', default: 'dev' },
    },
  });
  const sizes = parseSizes(values.sizes);
  const stacks = parseStacks(values.stack);
  const speed = Number(values.speed);
  const timeoutMs = Number(values.timeout) * 1000;
  const seed = Number(values.seed);
  if (!sizes.length || sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--sizes must be positive whole numbers, e.g. 1000,10000');
  if (!Number.isFinite(speed) || speed <= 0) throw new Error('--speed must be a positive number');
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error('--timeout must be a positive number of seconds');

  const teardown = new Teardown();
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: tearing down`);
    void teardown.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const all: SizeFigures[] = [];
  try {
    // With room for the baseline's pending children.
    const pendingChildren = Math.max(2000, ...sizes) + 100;
    for (const stack of stacks) {
      const step = performance.now();
      const server = await startBenchServer(stack, { dynamicConfig: { 'limit.numPendingChildExecutions.error': pendingChildren } });
      teardown.add(`temporal (${stack})`, () => server.stop());
      console.log(`temporal (${stack} stack) up in ${seconds(step).toFixed(1)}s (limit.numPendingChildExecutions.error=${pendingChildren} for the baseline)`);
      for (const size of sizes) {
        try {
          all.push(await runSize(server, size, { speed, seed, timeoutMs, skipBaseline: values['skip-baseline'] === true }));
        } catch (err) {
          console.error(`[${count(size)}] ${stack}: failed: ${(err as Error).stack ?? String(err)}`);
        }
      }
      await teardown.run();
    }
    printSummary(all);
  } finally {
    await teardown.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
