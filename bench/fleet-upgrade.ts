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
 *   npm run bench -- fleet-upgrade [--sizes 1000,10000] [--speed 100000] [--timeout 360] [--seed 1]
 * `--timeout`: seconds each run (operation or baseline) may take before it is stopped and reported
 * as unfinished, with what it had done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { WorkflowFailedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureRiverbedCatalog, RIVERBED_CATALOG_VERSIONS } from '../api/bootstrap';
import { runInventoryRefresh } from '../client/inventory';
import { createOperation } from '../client/operations';
import { upgradeEligibility } from '../domain/eligibility';
import { operationWorkflowId } from '../domain/operation';
import { PRODUCT_CODES, type ApplianceTaskStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { temporalCliPath } from '../scripts/toolchain';
import { generateAppliances } from '../simulator/fleet';
import { fleetFacts, ineligibleAppliances } from '../store/fleet-facts';
import { FleetStore } from '../store/fleet-store';
import { quietRuntime, startSimulator, type SimulatorProcess } from '../test/helpers/servers';
import type { OperationState } from '../workflows/types';
import type { BaselineFanOutResult } from './baseline-workflows';
import { Teardown } from './teardown';

const root = join(__dirname, '..');
/** The catalog's newest release: every release the fleet runs reaches it in two images. */
const TARGET = RIVERBED_CATALOG_VERSIONS[RIVERBED_CATALOG_VERSIONS.length - 1]!;
const PRODUCT = 'SH' as const;
/** Temporal's defaults: hard limits (the workflow is terminated) and warnings. */
const HISTORY_EVENTS_LIMIT = 51_200;
const HISTORY_EVENTS_WARN = 10_240;
const PAYLOAD_LIMIT = 2 * 1024 * 1024;
const PAYLOAD_WARN = 512 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: number): number => (performance.now() - since) / 1000;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const kib = (bytes: number): string => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);
const count = (n: number): string => n.toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------
// CPU time of this process and the processes it started (dev server, simulator, workers)

type CpuSnapshot = Map<string, number>;
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) by role: this driver, and each child process of it by its command line. */
function cpuSnapshot(): CpuSnapshot {
  const own = process.cpuUsage();
  const byRole: CpuSnapshot = new Map([['driver', (own.user + own.system) / 1e6]]);
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state ppid … utime(14) stime(15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const role = cmdline.includes('fleet-worker.ts') ? 'worker' : cmdline.includes('simulator/main.ts') ? 'simulator' : /temporal/.test(cmdline) ? 'dev server' : 'other';
      const cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      byRole.set(role, (byRole.get(role) ?? 0) + cpu);
    } catch {
      // The process ended meanwhile.
    }
  }
  return byRole;
}

/** CPU seconds spent by each role between two snapshots (a process that ended counts what was last seen of it). */
function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): string {
  return [...after.entries()]
    .map(([role, cpu]) => [role, cpu - (before.get(role) ?? 0)] as const)
    .filter(([, cpu]) => cpu > 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([role, cpu]) => `${role} ${cpu.toFixed(0)}s`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------
// Worker processes

interface WorkerReport {
  peakRssBytes: number;
  startRssBytes: number;
  peakHeapBytes: number;
  hwmBytes: number;
  rssBytes: number;
  /** The SDK's warnings of an overloaded worker, counted (they would flood the output). */
  warnings: string;
}

/**
 * Counts the SDK core's overload warnings on a worker's stderr instead of printing each:
 * TMPRL1104 (a workflow task took over 5 s; by workflow type, with the highest attempt number: an
 * attempt above 1 means the task timed out and was retried) and "Task not found when completing"
 * (a workflow task finished after the server had timed it out). Other lines pass through.
 */
class WarningTally {
  private readonly slow = new Map<string, { n: number; maxAttempt: number; maxMs: number }>();
  private lateCompletions = 0;
  constructor(private readonly label: string) {}
  line(raw: string): void {
    const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
    if (line.includes('TMPRL1104')) {
      const type = /workflow_type=(\S+)/.exec(line)?.[1] ?? '?';
      const entry = this.slow.get(type) ?? { n: 0, maxAttempt: 0, maxMs: 0 };
      entry.n++;
      entry.maxAttempt = Math.max(entry.maxAttempt, Number(/ attempt=(\d+)/.exec(line)?.[1] ?? 0));
      entry.maxMs = Math.max(entry.maxMs, Number(/workflow_task_duration=(\d+)/.exec(line)?.[1] ?? 0));
      this.slow.set(type, entry);
    } else if (line.includes('Task not found when completing')) this.lateCompletions++;
    else if (line.trim()) console.error(`${this.label}: ${line}`);
  }
  summary(): string {
    const slow = [...this.slow.entries()].map(([type, e]) => `${e.n} ${type} (longest ${(e.maxMs / 1000).toFixed(1)}s, attempt up to ${e.maxAttempt})`);
    const parts = [...(slow.length ? [`workflow tasks over 5 s: ${slow.join(', ')}`] : []), ...(this.lateCompletions ? [`${this.lateCompletions} workflow tasks completed after the server had timed them out`] : [])];
    return parts.join('; ') || 'none';
  }
}

interface WorkerProcess {
  /** The peak restarts from the RSS now. */
  reset(): Promise<void>;
  /** Shuts the worker down (draining) and answers its memory. */
  stop(): Promise<WorkerReport>;
  /** Stops it however it can (teardown). */
  kill(): Promise<void>;
}

/** bench/fleet-worker.ts as a process; resolves once its worker polls. */
async function startWorker(label: string, env: Record<string, string>, args: string[] = []): Promise<WorkerProcess> {
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fleet-worker.ts'), ...args], {
    cwd: root,
    env: { ...process.env, FLEET_LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const tally = new WarningTally(label);
  createInterface({ input: proc.stderr! }).on('line', (line) => tally.line(line));
  const waiting = new Map<string, { resolve: (m: Record<string, number>) => void; reject: (e: Error) => void }>();
  let exited: Error | undefined;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.once('exit', (code, signal) => {
    exited = new Error(`${label} exited with ${code ?? signal}`);
    for (const w of waiting.values()) w.reject(exited);
    waiting.clear();
  });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let message: Record<string, unknown> | undefined;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // The SDK core logs as text on stdout.
    }
    const event = message?.fleetWorker;
    if (typeof event !== 'string') return tally.line(line);
    waiting.get(event)?.resolve(message as Record<string, number>);
    waiting.delete(event);
  });
  const next = (event: string, timeoutMs: number): Promise<Record<string, number>> =>
    exited
      ? Promise.reject(exited)
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${label}: no '${event}' within ${timeoutMs / 1000}s`)), timeoutMs);
          waiting.set(event, {
            resolve: (m) => (clearTimeout(timer), resolve(m)),
            reject: (e) => (clearTimeout(timer), reject(e)),
          });
        });
  const kill = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(timer);
  };
  try {
    await next('ready', 180_000);
  } catch (err) {
    await kill();
    throw err;
  }
  return {
    async reset() {
      const reset = next('reset', 10_000);
      proc.stdin!.write('reset\n');
      await reset;
    },
    async stop() {
      const stopped = next('stopped', 60_000);
      proc.stdin!.end('stop\n');
      try {
        const m = await stopped;
        return { peakRssBytes: m.peakRssBytes ?? 0, startRssBytes: m.startRssBytes ?? 0, peakHeapBytes: m.peakHeapBytes ?? 0, hwmBytes: m.hwmBytes ?? 0, rssBytes: m.rssBytes ?? 0, warnings: tally.summary() };
      } finally {
        await kill();
      }
    },
    kill,
  };
}

// ---------------------------------------------------------------------------------------------
// Histories and payloads

interface Largest {
  bytes: number;
  where: string;
}

const EVENT_TYPE = temporal.api.enums.v1.EventType;
const eventName = (type: number | null | undefined): string =>
  (EVENT_TYPE[type ?? 0] ?? String(type))
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The largest payload (its data's bytes) anywhere in a decoded proto object. */
function largestPayloadIn(value: unknown): number {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  if (Array.isArray(value)) return value.reduce((max: number, v) => Math.max(max, largestPayloadIn(v)), 0);
  const object = value as Record<string, unknown>;
  if (object.data instanceof Uint8Array && 'metadata' in object) return object.data.length;
  let max = 0;
  for (const v of Object.values(object)) max = Math.max(max, largestPayloadIn(v));
  return max;
}

/** Sum of a Payloads' data bytes (a workflow's input or result). */
const payloadsBytes = (payloads: temporal.api.common.v1.IPayloads | null | undefined): number => (payloads?.payloads ?? []).reduce((sum, p) => sum + (p.data?.length ?? 0), 0);

interface HistoryFacts {
  events: number;
  largestPayload: Largest;
  inputBytes: number;
  resultBytes: number;
  /** Why it closed when not completed (terminated, failed: the failure's message). */
  closedBy?: string;
  /** The work it did: activities scheduled, local activities (markers) and workflow tasks completed. */
  activities: number;
  localActivities: number;
  workflowTasks: number;
}

async function historyFacts(client: Client, workflowId: string): Promise<HistoryFacts> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const facts: HistoryFacts = { events: events.length, largestPayload: { bytes: 0, where: '' }, inputBytes: 0, resultBytes: 0, activities: 0, localActivities: 0, workflowTasks: 0 };
  for (const event of events) {
    const bytes = largestPayloadIn(event);
    if (bytes > facts.largestPayload.bytes) facts.largestPayload = { bytes, where: `${workflowId} ${eventName(event.eventType)}` };
    if (event.workflowExecutionStartedEventAttributes) facts.inputBytes = payloadsBytes(event.workflowExecutionStartedEventAttributes.input);
    if (event.workflowExecutionCompletedEventAttributes) facts.resultBytes = payloadsBytes(event.workflowExecutionCompletedEventAttributes.result);
    if (event.workflowExecutionTerminatedEventAttributes) facts.closedBy = `terminated: ${event.workflowExecutionTerminatedEventAttributes.reason ?? ''}`;
    if (event.workflowExecutionFailedEventAttributes) facts.closedBy = `failed: ${event.workflowExecutionFailedEventAttributes.failure?.message ?? ''}`;
    if (event.activityTaskScheduledEventAttributes) facts.activities++;
    if (event.markerRecordedEventAttributes?.markerName === 'core_local_activity') facts.localActivities++;
    if (event.workflowTaskCompletedEventAttributes) facts.workflowTasks++;
  }
  return facts;
}

/** Every workflow a visibility query finds (closed ones carry their history length). */
async function listAll(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const execution of client.workflow.list({ query, pageSize: 1000 })) found.push(execution);
  return found;
}

/** Runs `fn` over `items`, 32 at a time, until done or `deadlineMs` has passed; answers how many succeeded. */
async function eachUntil<T>(items: readonly T[], deadlineMs: number, fn: (item: T) => Promise<unknown>): Promise<number> {
  const deadline = performance.now() + deadlineMs;
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < items.length && performance.now() < deadline) {
        await fn(items[next++]!).then(
          () => done++,
          () => undefined,
        );
      }
    }),
  );
  return done;
}

/**
 * Terminates the workflows (for at most 30 seconds; the worker has stopped, so any left open do
 * nothing until the dev server stops); answers how many it did.
 */
const terminateAll = (client: Client, workflowIds: string[], reason: string): Promise<number> =>
  eachUntil(workflowIds, 30_000, (id) => client.workflow.getHandle(id).terminate(reason));

/** Running appliance tasks described one by one, at most; the others' lengths are estimated from them. */
const DESCRIBED_TASKS = 500;

/**
 * Visibility keeps a running workflow's history length as it was when the workflow started, so
 * running ones are described instead: every workflow without a serial (the operation, batches),
 * and up to DESCRIBED_TASKS running tasks, those the store says have begun (`inProgress`) first.
 * Answers the events of the begun tasks not described, estimated at the described begun ones'
 * mean (0 when all were described); tasks not begun keep visibility's length (their start).
 */
async function currentHistoryLengths(client: Client, listed: WorkflowExecutionInfo[], inProgress: ReadonlySet<string>): Promise<number> {
  const running = listed.filter((e) => e.status.name === 'RUNNING');
  const serialOf = (e: WorkflowExecutionInfo): string | undefined => e.typedSearchAttributes.get(SA.serial);
  const begun = (e: WorkflowExecutionInfo): boolean => inProgress.has(serialOf(e) ?? '');
  const tasks = running.filter((e) => serialOf(e) !== undefined).sort((x, y) => Number(begun(y)) - Number(begun(x)));
  const sample = tasks.slice(0, DESCRIBED_TASKS);
  await eachUntil([...running.filter((e) => serialOf(e) === undefined), ...sample], 60_000, async (e) => {
    const description = await client.workflow.getHandle(e.workflowId).describe();
    e.historyLength = description.historyLength;
    e.historySize = description.historySize;
  });
  const begunSample = sample.filter(begun);
  const rest = tasks.slice(DESCRIBED_TASKS).filter(begun);
  if (!rest.length || !begunSample.length) return 0;
  const mean = begunSample.reduce((sum, e) => sum + e.historyLength, 0) / begunSample.length;
  return Math.round(rest.reduce((sum, e) => sum + Math.max(0, mean - e.historyLength), 0));
}

/** Waits (a little) for visibility to show every closed workflow of the operation. */
async function listOperationWorkflows(client: Client, operationId: string, atLeast: number, finished: boolean): Promise<WorkflowExecutionInfo[]> {
  const query = `${SA.operationId.name} = '${operationId}'`;
  const deadline = performance.now() + 30_000;
  for (;;) {
    const found = await listAll(client, query);
    const settled = !finished || (found.length >= atLeast && found.every((e) => e.status.name !== 'RUNNING'));
    if (settled || performance.now() > deadline) return found;
    await sleep(1000);
  }
}

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
  size: number;
  eligible: number;
  ineligible: string;
  inventorySeconds: number;
  createSeconds: number;
  orchestrator: RunFigures;
  baseline?: RunFigures;
  baselineError?: string;
}

/** Awaits a workflow's result up to `timeoutMs`; answers it, or why not. */
async function resultWithin<T>(promise: Promise<T>, timeoutMs: number): Promise<{ value?: T; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ error: `not finished after ${timeoutMs / 1000}s` }), timeoutMs);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ value }),
        (err: unknown) => ({ error: err instanceof WorkflowFailedError ? `${err.message}: ${err.cause?.message ?? ''}` : (err as Error).message }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The SH appliances of the seeded clean fleet, `size` of them, as a simulator fleet file. */
function writeFleetFile(path: string, size: number, seed: number): void {
  const appliances = generateAppliances(size * PRODUCT_CODES.length, seed, 'clean')
    .filter((a) => a.product_code === PRODUCT)
    .slice(0, size);
  writeFileSync(path, JSON.stringify({ appliances, collectors: [] }));
}

async function runSize(env: TestWorkflowEnvironment, size: number, options: { speed: number; seed: number; timeoutMs: number }): Promise<SizeFigures> {
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
    const storeUrl = `sqlite:${join(dir, 'fleet.db')}`;
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
    printRun(size, 'orchestrator', orchestrator);

    // Nothing of the orchestrator runs during the baseline.
    await teardown.run();
    const figures: SizeFigures = { size, eligible: serials.length, ineligible, inventorySeconds, createSeconds, orchestrator };
    try {
      figures.baseline = await runBaseline(env, size, serials, options.timeoutMs);
      printRun(size, 'baseline', figures.baseline);
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

function printSummary(all: SizeFigures[]): void {
  console.log(`\nfleet upgrade: one upgrade operation (${PRODUCT} to ${TARGET}, two images each, reboot) per fleet size, real worker in its own process, Temporal dev server; baseline: one parent, one child per appliance at once, one no-op activity each`);
  const header = `${'appliances'.padStart(10)}${'run'.padStart(14)}${'wall s'.padStart(9)}${'tasks/s'.padStart(9)}${'events/s'.padStart(10)}${'root events'.padStart(13)}${'max events'.padStart(12)}${'max payload'.padStart(13)}${'worker peak'.padStart(13)}${'ratio'.padStart(8)}  outcome`;
  console.log(header);
  console.log('-'.repeat(header.length + 10));
  for (const s of all) {
    const rows: [string, RunFigures | undefined][] = [
      ['orchestrator', s.orchestrator],
      ['baseline', s.baseline],
    ];
    for (const [name, r] of rows) {
      if (!r) {
        console.log(`${count(s.eligible).padStart(10)}${name.padStart(14)}  ${s.baselineError ?? 'not run'}`);
        continue;
      }
      const ratio = name === 'orchestrator' && s.baseline && s.baseline.tasksPerSecond > 0 ? (s.orchestrator.tasksPerSecond / s.baseline.tasksPerSecond).toFixed(3) : '';
      console.log(
        `${count(s.eligible).padStart(10)}${name.padStart(14)}${r.wallSeconds.toFixed(1).padStart(9)}${r.tasksPerSecond.toFixed(1).padStart(9)}${(r.totalEvents / r.wallSeconds).toFixed(0).padStart(10)}${count(r.rootEvents).padStart(13)}${count(r.largestHistory.events).padStart(12)}${kib(r.largestPayload.bytes).padStart(13)}${mib(r.worker.peakRssBytes).padStart(13)}${ratio.padStart(8)}  ${r.outcome}`,
      );
    }
  }
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
    },
  });
  const sizes = String(values.sizes)
    .split(',')
    .map((s) => Number(s.trim()));
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
    const step = performance.now();
    // As test/helpers/servers.ts startDevServer, with room for the baseline's pending children.
    quietRuntime();
    const pendingChildren = Math.max(2000, ...sizes) + 100;
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath() },
        ip: '127.0.0.1',
        searchAttributes: Object.values(SA),
        extraArgs: ['--log-level', 'error', '--dynamic-config-value', `limit.numPendingChildExecutions.error=${pendingChildren}`],
      },
    });
    teardown.add('temporal dev server', () => env.teardown());
    console.log(`temporal dev server up in ${seconds(step).toFixed(1)}s (limit.numPendingChildExecutions.error=${pendingChildren} for the baseline)`);
    for (const size of sizes) {
      try {
        all.push(await runSize(env, size, { speed, seed, timeoutMs }));
      } catch (err) {
        console.error(`[${count(size)}] failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
    printSummary(all);
  } finally {
    await teardown.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
