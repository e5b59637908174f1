/**
 * A flood of wrong keys from one client, and what it does to everyone else's latency.
 *
 * The API (createApi, as api/main.ts assembles it, with its default failed-authentication limits)
 * on a SQLite store holding a few hundred SH appliances and a few access keys, and a stand-in
 * Temporal client (the measured route, GET appliances/SH, is a store read). Legit clients, each
 * with its own valid key, send requests at a steady rate (open loop: on a fixed schedule, whatever
 * the answers do) from 127.0.0.1 and measure latency, while a flooding client from 127.0.0.2 (so
 * the server sees another address) is switched on and off: when on, it sends wrong keys for a
 * known access id as fast as it can (a fixed number of requests in flight, each answered one sent).
 *
 * Interleaved, not one phase after the other: the run is cut into slices, alone and under flood in
 * turn (ABBA order), and each legit request is counted in the slice it was sent in, leaving out a
 * guard time after each switch (the flood's held 429s drain). Whatever else the machine does
 * drifts over both conditions alike, so the ratio of their p99s is the flood's own effect. One run
 * with the default limits on a fresh API, then one with the limits lifted: what they protect
 * against (--skip-unlimited skips it).
 *
 * Legit clients and the flooder are processes of their own (this file, run with --child), so the
 * clients' work does not share the API's event loop; the API's CPU is this process's, accounted per
 * slice. With 2 cores or more the API is pinned off the last core and the clients onto it
 * (taskset; --shared-cores does not), the flooder at nice 19: the attacker is another machine in
 * real life, and a legit client must not wait behind it for a core. Figures only, never asserted.
 *   npm run bench -- auth-flood [--appliances 300] [--clients 4] [--rate 200] [--pairs 15]
 *                               [--slice-seconds 4] [--guard-seconds 1.2] [--warmup 3]
 *                               [--flood-concurrency 32] [--skip-unlimited] [--shared-cores]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_FAILURE_LIMITS, derivation, putAccessKey, type FailureLimits } from '../api/auth';
import { createApi } from '../api/server';
import { createLogger } from '../domain/logging';
import { generateAppliances } from '../simulator/fleet';
import { FleetStore } from '../store/fleet-store';
import { stopProcess, Teardown } from './teardown';

const SCC = '/api/cmc.upgrades/1.0';
const LEGIT_ADDRESS = '127.0.0.1';
const FLOOD_ADDRESS = '127.0.0.2';
/** The access id the flood guesses keys for: known (it exists), and none of the legit clients'. */
const FLOODED_ID = 'bench-admin';

// ---------------------------------------------------------------------------------------------
// The two client roles, run as child processes: a plan as the first line of stdin, results as JSON lines on stdout.

interface LegitPlan {
  role: 'legit';
  baseUrl: string;
  path: string;
  /** One Authorization header per legit client; request k is client k % n's. */
  authorizations: string[];
  /** Requests per second, all clients together. */
  rate: number;
  warmupSeconds: number;
  seconds: number;
}

interface LegitResult {
  /** Latency of each measured request: sent to last body byte, ms. */
  latenciesMs: number[];
  /** When each of them was sent: ms since the epoch, as the driver's clock reads it. */
  sentAtMs: number[];
  statuses: Record<string, number>;
  errors: number;
  /** How far behind its schedule the sender got at worst (the client's own delay, not the API's), ms. */
  maxLagMs: number;
  elapsedMs: number;
  firstFailure?: string;
}

/** The flood starts off; the driver's lines `on`, `off` and `stop` switch it. */
interface FloodPlan {
  role: 'flood';
  baseUrl: string;
  path: string;
  accessId: string;
  concurrency: number;
}

interface FloodResult {
  sent: number;
  statuses: Record<string, number>;
  errors: number;
  elapsedMs: number;
  /** A 429's Retry-After, as sent. */
  retryAfter?: string;
  firstError?: string;
}

function get(
  agent: Agent,
  url: URL,
  authorization: string,
): Promise<{ status: number; retryAfter?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { agent, method: 'GET', hostname: url.hostname, port: url.port, path: url.pathname, headers: { authorization } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if ((res.statusCode ?? 0) >= 300) chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8').slice(0, 300),
            ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Open loop: request k is sent at start + k / rate, answered or not; the warm-up's are not measured. */
async function runLegit(plan: LegitPlan): Promise<LegitResult> {
  const url = new URL(plan.path, plan.baseUrl);
  const agents = plan.authorizations.map(
    () => new Agent({ keepAlive: true, maxSockets: 16, localAddress: LEGIT_ADDRESS }),
  );
  const interval = 1000 / plan.rate;
  const warmup = Math.round(plan.warmupSeconds * plan.rate);
  const total = warmup + Math.round(plan.seconds * plan.rate);
  const result: LegitResult = { latenciesMs: [], sentAtMs: [], statuses: {}, errors: 0, maxLagMs: 0, elapsedMs: 0 };
  let measuredAt = 0;
  const inFlight: Promise<void>[] = [];
  const fire = async (k: number): Promise<void> => {
    const measuring = k >= warmup;
    const client = k % agents.length;
    const sent = performance.now();
    try {
      const answer = await get(agents[client]!, url, plan.authorizations[client]!);
      if (!measuring) return;
      result.latenciesMs.push(performance.now() - sent);
      result.sentAtMs.push(epochMs(sent));
      result.statuses[answer.status] = (result.statuses[answer.status] ?? 0) + 1;
      if (answer.status >= 300) result.firstFailure ??= `HTTP ${answer.status}: ${answer.body}`;
    } catch (err) {
      if (!measuring) return;
      result.errors++;
      result.firstFailure ??= `error: ${(err as Error).message}`;
      result.latenciesMs.push(Number.POSITIVE_INFINITY);
      result.sentAtMs.push(epochMs(sent));
    }
  };
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let k = 0;
    const tick = (): void => {
      const now = performance.now();
      while (k < total && start + k * interval <= now) {
        if (k === warmup) {
          measuredAt = now;
          process.stdout.write(`${JSON.stringify({ measuring: true })}\n`);
        }
        if (k >= warmup) result.maxLagMs = Math.max(result.maxLagMs, now - (start + k * interval));
        inFlight.push(fire(k++));
      }
      if (k >= total) return resolve();
      setTimeout(tick, Math.max(0, start + k * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  result.elapsedMs = performance.now() - measuredAt;
  for (const agent of agents) agent.destroy();
  return result;
}

/** One clock for every process of the run: ms since the epoch, from a performance.now() reading. */
const epochMs = (now: number): number => performance.timeOrigin + now;

/** The flood's switch, as the driver's lines set it. */
class FloodSwitch {
  stopped = false;
  private on = false;
  private waiting: (() => void)[] = [];
  set(line: string): void {
    this.stopped ||= line === 'stop';
    this.on = line === 'on';
    if (this.on || this.stopped) for (const wake of this.waiting.splice(0)) wake();
  }
  /** Resolves when the flood may send: it is on, or stopped (the sender then ends). */
  ready(): Promise<void> | undefined {
    return this.on || this.stopped ? undefined : new Promise((resolve) => this.waiting.push(resolve));
  }
}

/** While switched on, `concurrency` requests in flight with a wrong key each (never the same twice); ends at `stop`. */
async function runFlood(plan: FloodPlan, power: FloodSwitch): Promise<FloodResult> {
  const url = new URL(plan.path, plan.baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency, localAddress: FLOOD_ADDRESS });
  const result: FloodResult = { sent: 0, statuses: {}, errors: 0, elapsedMs: 0 };
  let announced = false;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      await power.ready();
      if (power.stopped) return;
      const authorization = `Basic ${Buffer.from(`${plan.accessId}:wrong-key-${result.sent}-${Math.random().toString(36).slice(2)}`).toString('base64')}`;
      result.sent++;
      try {
        const answer = await get(agent, url, authorization);
        result.statuses[answer.status] = (result.statuses[answer.status] ?? 0) + 1;
        if (answer.retryAfter !== undefined) result.retryAfter ??= answer.retryAfter;
        if (!announced) {
          announced = true;
          process.stdout.write(`${JSON.stringify({ flooding: true })}\n`);
        }
      } catch (err) {
        result.errors++;
        result.firstError ??= (err as Error).message;
        // A refused bind (no 127.0.0.2) or a dead server: say so rather than spin.
        if (result.errors > 1000 && !announced) throw new Error(`the flood gets no answers: ${result.firstError}`);
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, worker));
  result.elapsedMs = performance.now() - start;
  agent.destroy();
  return result;
}

/** One message to the driver, written out before the child exits (a pipe's writes are asynchronous). */
const send = (message: unknown): Promise<void> =>
  new Promise((resolve) => process.stdout.write(`${JSON.stringify(message)}\n`, () => resolve()));

async function child(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  const plan = JSON.parse(String(first.value)) as LegitPlan | FloodPlan;
  if (plan.role === 'legit') {
    await send({ result: await runLegit(plan) });
  } else {
    // Further lines switch the flood; the end of stdin stops it.
    const power = new FloodSwitch();
    void (async () => {
      for (let line = await iterator.next(); !line.done && !power.stopped; line = await iterator.next())
        power.set(String(line.value).trim());
      power.set('stop');
    })();
    await send({ result: await runFlood(plan, power) });
  }
  lines.close();
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// The driver: the API in this process, the clients in child processes.

interface ChildHandle<R> {
  proc: ChildProcess;
  /** Resolves at the child's first message of this kind. */
  signal(kind: string): Promise<void>;
  result: Promise<R>;
  send(line: string): void;
}

const TASKSET = '/usr/bin/taskset';
const NICE = '/usr/bin/nice';
/** Cores the clients run on ('' = anywhere); the API keeps the others (see pinning in authFloodBenchmark). */
let clientCores = '';

function startChild<R>(plan: LegitPlan | FloodPlan, teardown: Teardown): ChildHandle<R> {
  // The flooder at the lowest priority: it uses every cycle the others leave, but a legit client
  // that wakes up runs at once, so its figures are the API's latency, not its own wait for a core.
  const command = [
    ...(clientCores ? [TASKSET, '-c', clientCores] : []),
    ...(plan.role === 'flood' && existsSync(NICE) ? [NICE, '-n', '19'] : []),
    process.execPath,
    '--import',
    'tsx',
    __filename,
    '--child',
  ];
  const [file, ...args] = command;
  const proc = spawn(file!, args, { cwd: join(__dirname, '..'), stdio: ['pipe', 'pipe', 'inherit'] });
  teardown.add(`${plan.role} client`, () => stopProcess(proc));
  const waiting = new Map<string, () => void>();
  const seen = new Set<string>();
  const result = new Promise<R>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code, signal) =>
      reject(new Error(`${plan.role} client exited with ${code ?? signal} before its result`)),
    );
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        console.error(`${plan.role} client: ${line}`);
        return;
      }
      if ('result' in message) return resolve(message.result as R);
      for (const kind of Object.keys(message)) {
        seen.add(kind);
        waiting.get(kind)?.();
      }
    });
  });
  proc.stdin.write(`${JSON.stringify(plan)}\n`);
  return {
    proc,
    result,
    send: (line) => void proc.stdin.write(`${line}\n`),
    signal: (kind) =>
      seen.has(kind)
        ? Promise.resolve()
        : Promise.race([new Promise<void>((resolve) => waiting.set(kind, resolve)), result.then(() => undefined)]),
  };
}

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: number[], p: number): number =>
  sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;

type Condition = 'alone' | 'flood';

/** One slice of a run: which condition held, when (epoch ms), and the API's CPU over it. */
interface Slice {
  condition: Condition;
  from: number;
  to: number;
  cpuMs: number;
  /** How late the API's event loop ran its timers over the slice (ns). */
  loopDelay: RecordableHistogram;
}

/** What one condition of a run measured: the legit latencies sent in its slices (past the guard). */
interface ConditionFigures {
  sorted: number[];
  failed: number;
  cpuMs: number;
  elapsedMs: number;
  /** The API's event-loop delay over its slices (the guard included), ms: p99 and max. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** scrypt derivations and audit writes of the API over its slices (the guard included). */
  derivations: number;
  auditWrites: number;
}

/** The API's work besides answering, timed in this process: each scrypt derivation and each audit write. */
interface Work {
  kind: 'derivation' | 'audit write';
  at: number;
  ms: number;
}
const work: Work[] = [];

function timed<A extends unknown[], R>(kind: Work['kind'], fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    const start = performance.now();
    try {
      return await fn(...args);
    } finally {
      work.push({ kind, at: epochMs(start), ms: performance.now() - start });
    }
  };
}

/** Counts the API's derivations (api/auth.ts's one place for scrypt) and the store's audit writes. */
function watchWork(store: FleetStore, teardown: Teardown): void {
  const scrypt = derivation.scrypt;
  derivation.scrypt = timed('derivation', scrypt);
  store.recordAudit = timed('audit write', store.recordAudit.bind(store));
  teardown.add('work counters', () => void (derivation.scrypt = scrypt));
}

interface RunFigures {
  name: string;
  alone: ConditionFigures;
  flood: ConditionFigures;
  floodResult: FloodResult;
  maxLagMs: number;
  firstFailure?: string;
}

/** ABBA: alone, flood, flood, alone, …; linear drift over the run weighs on both conditions alike. */
const conditionOf = (slice: number): Condition => (((slice + 1) >> 1) % 2 === 0 ? 'alone' : 'flood');

/** The legit samples of one condition: each counted in the slice it was sent in, unless within the guard after the switch. */
function figuresOf(condition: Condition, slices: Slice[], result: LegitResult, guardMs: number): ConditionFigures {
  const mine = slices.filter((s) => s.condition === condition);
  const counted = (sentAt: number): boolean => mine.some((s) => sentAt >= s.from + guardMs && sentAt < s.to);
  const latencies = result.latenciesMs.filter((_, i) => counted(result.sentAtMs[i]!));
  const inMine = (at: number): boolean => mine.some((s) => at >= s.from && at < s.to);
  const during = (kind: Work['kind']) => work.filter((w) => w.kind === kind && inMine(w.at)).length;
  const loopDelay = createHistogram();
  for (const s of mine) loopDelay.add(s.loopDelay);
  return {
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    derivations: during('derivation'),
    auditWrites: during('audit write'),
    sorted: latencies.filter(Number.isFinite).sort((x, y) => x - y),
    failed: latencies.filter((l) => !Number.isFinite(l)).length,
    cpuMs: mine.reduce((sum, s) => sum + s.cpuMs, 0),
    elapsedMs: mine.reduce((sum, s) => sum + (s.to - s.from), 0),
  };
}

/**
 * One request per legit client, one after another: each key's scrypt check is then cached, so no
 * slice pays it, nor the burst of checks a client's first requests at once would start.
 */
async function prime(plan: LegitPlan): Promise<void> {
  const agent = new Agent({ keepAlive: false, localAddress: LEGIT_ADDRESS });
  try {
    for (const authorization of plan.authorizations) {
      const answer = await get(agent, new URL(plan.path, plan.baseUrl), authorization);
      if (answer.status !== 200) throw new Error(`a legit client's request answered ${answer.status}: ${answer.body}`);
    }
  } finally {
    agent.destroy();
  }
}

interface RunShape {
  slices: number;
  sliceMs: number;
  guardMs: number;
}

/** How late (ns) this process's event loop runs a 1 ms timer, again and again, into the histogram `into` gives. */
function sampleLoopDelay(into: () => RecordableHistogram): () => void {
  let stopped = false;
  let due = performance.now() + 1;
  const tick = (): void => {
    if (stopped) return;
    const now = performance.now();
    into().record(Math.max(1, Math.round((now - due) * 1e6)));
    due = now + 1;
    setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  return () => void (stopped = true);
}

/** The legit clients over every slice while the driver switches the flood, the API's CPU read at each switch. */
async function interleavedRun(
  name: string,
  legitPlan: LegitPlan,
  floodPlan: FloodPlan,
  shape: RunShape,
  teardown: Teardown,
): Promise<RunFigures> {
  const flooder = startChild<FloodResult>(floodPlan, teardown);
  await prime(legitPlan);
  const legit = startChild<LegitResult>({ ...legitPlan, seconds: (shape.slices * shape.sliceMs) / 1000 }, teardown);
  await legit.signal('measuring');
  const slices: Slice[] = [];
  let loopDelay = createHistogram();
  const stopSampling = sampleLoopDelay(() => loopDelay);
  for (let i = 0; i < shape.slices; i++) {
    const condition = conditionOf(i);
    flooder.send(condition === 'flood' ? 'on' : 'off');
    const from = epochMs(performance.now());
    const cpu = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, shape.sliceMs));
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    slices.push({ condition, from, to: epochMs(performance.now()), cpuMs, loopDelay });
    loopDelay = createHistogram();
  }
  stopSampling();
  flooder.send('stop');
  const [result, floodResult] = await Promise.all([legit.result, flooder.result]);
  return {
    name,
    alone: figuresOf('alone', slices, result, shape.guardMs),
    flood: figuresOf('flood', slices, result, shape.guardMs),
    floodResult,
    maxLagMs: result.maxLagMs,
    ...(result.firstFailure ? { firstFailure: result.firstFailure } : {}),
  };
}

/** Stand-in Temporal client: the measured route never reaches Temporal. */
const standInClient = { connection: { workflowService: { getSystemInfo: async () => ({}) } } } as unknown as Client;

async function startApi(
  store: FleetStore,
  failureLimits: FailureLimits,
  teardown: Teardown,
): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const app = createApi({
    client: standInClient,
    logger: createLogger('bench-auth-flood', 'error'),
    store,
    failureLimits,
  });
  await app.listen({ host: LEGIT_ADDRESS, port: 0 });
  teardown.add('api', () => (app.server.listening ? app.close() : undefined));
  const address = app.server.address();
  return { app, baseUrl: `http://${LEGIT_ADDRESS}:${typeof address === 'object' && address ? address.port : 0}` };
}

const OPTIONS = {
  appliances: { type: 'string', default: '300' },
  clients: { type: 'string', default: '4' },
  rate: { type: 'string', default: '200' },
  pairs: { type: 'string', default: '15' },
  'slice-seconds': { type: 'string', default: '4' },
  'guard-seconds': { type: 'string', default: '1.2' },
  warmup: { type: 'string', default: '3' },
  'flood-concurrency': { type: 'string', default: '32' },
  'skip-unlimited': { type: 'boolean', default: false },
  'shared-cores': { type: 'boolean', default: false },
} as const;

type NumberOption = Exclude<keyof typeof OPTIONS, 'skip-unlimited' | 'shared-cores'>;

function numberOptions(
  argv: string[],
): Record<NumberOption, number> & { skipUnlimited: boolean; sharedCores: boolean } {
  const { values } = parseArgs({ args: argv, allowPositionals: true, strict: false, options: OPTIONS });
  const numbers = {} as Record<NumberOption, number>;
  for (const name of Object.keys(OPTIONS) as (keyof typeof OPTIONS)[]) {
    if (OPTIONS[name].type !== 'string') continue;
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < (name === 'warmup' ? 0 : name === 'guard-seconds' ? 0 : 1))
      throw new Error(`--${name} must be a positive number`);
    numbers[name as NumberOption] = n;
  }
  if (numbers['guard-seconds'] >= numbers['slice-seconds'])
    throw new Error('--guard-seconds must be shorter than --slice-seconds');
  return { ...numbers, skipUnlimited: values['skip-unlimited'] === true, sharedCores: values['shared-cores'] === true };
}

/** The API keeps every core but the last, the clients get that one (the flooder is another machine in real life). */
function pinCores(teardown: Teardown): string {
  const cores = cpus().length;
  if (cores < 2 || !existsSync(TASKSET)) return '';
  execFileSync(TASKSET, ['-a', '-p', '-c', cores === 2 ? '0' : `0-${cores - 2}`, String(process.pid)], {
    stdio: 'ignore',
  });
  teardown.add(
    'cpu affinity',
    () => void execFileSync(TASKSET, ['-a', '-p', '-c', `0-${cores - 1}`, String(process.pid)], { stdio: 'ignore' }),
  );
  return String(cores - 1);
}

/** A store with the SH appliances, a read_only key per legit client and the flooded admin id; the legit Authorization headers. */
async function benchStore(
  dir: string,
  appliances: number,
  clients: number,
  teardown: Teardown,
): Promise<{ store: FleetStore; authorizations: string[] }> {
  const store = await FleetStore.open(`sqlite:${join(dir, 'fleet.db')}`);
  teardown.add('store', () => store.close());
  const sh = generateAppliances(appliances * 8)
    .filter((a) => a.product_code === 'SH')
    .slice(0, appliances);
  for (const a of sh) {
    await store.upsertAppliance({
      serial: a.serial,
      product_code: a.product_code,
      model: a.model,
      arch: a.arch,
      hostname: a.hostname,
      ip_address: a.ip_address,
      time_zone: a.time_zone,
      connected: a.connected,
      current_version: a.running_version,
    });
  }
  const authorizations: string[] = [];
  for (let i = 1; i <= clients; i++) {
    const key = randomBytes(24).toString('base64url');
    await putAccessKey(store, `bench-client-${i}`, key, 'read_only');
    authorizations.push(`Basic ${Buffer.from(`bench-client-${i}:${key}`).toString('base64')}`);
  }
  await putAccessKey(store, FLOODED_ID, randomBytes(24).toString('base64url'), 'admin');
  return { store, authorizations };
}

function printRuns(runs: RunFigures[]): void {
  const header = `${'run'.padEnd(22)}${'condition'.padEnd(11)}${'n'.padStart(7)}${'failed'.padStart(7)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'max ms'.padStart(8)}${'p99 ÷ alone'.padStart(12)}${'API cpu %'.padStart(10)}${'scrypt/s'.padStart(9)}${'audit/s'.padStart(8)}${'loop p99'.padStart(9)}${'loop max'.padStart(9)}`;
  console.log(`\n${header}\n${'-'.repeat(header.length)}`);
  for (const run of runs) {
    const aloneP99 = percentile(run.alone.sorted, 0.99);
    for (const condition of ['alone', 'flood'] as const) {
      const c = run[condition];
      const p99 = percentile(c.sorted, 0.99);
      console.log(
        `${run.name.padEnd(22)}${condition.padEnd(11)}${String(c.sorted.length + c.failed).padStart(7)}${String(c.failed).padStart(7)}${percentile(c.sorted, 0.5).toFixed(2).padStart(8)}` +
          `${p99.toFixed(2).padStart(8)}${(c.sorted.at(-1) ?? Number.NaN).toFixed(1).padStart(8)}${(condition === 'flood' ? (p99 / aloneP99).toFixed(2) : '').padStart(12)}${((c.cpuMs / c.elapsedMs) * 100).toFixed(0).padStart(10)}` +
          `${(c.derivations / (c.elapsedMs / 1000)).toFixed(2).padStart(9)}` +
          `${(c.auditWrites / (c.elapsedMs / 1000)).toFixed(2).padStart(8)}` +
          `${c.loopDelayP99Ms.toFixed(2).padStart(9)}${c.loopDelayMaxMs.toFixed(1).padStart(9)}`,
      );
    }
    const f = run.floodResult;
    const other =
      Object.entries(f.statuses).reduce((s, [status, k]) => s + (status === '401' || status === '429' ? 0 : k), 0) +
      f.errors;
    console.log(
      `${run.name}: flood sent ${f.sent} (${(f.sent / (run.flood.elapsedMs / 1000)).toFixed(0)}/s while on), 401 ${f.statuses['401'] ?? 0}, 429 ${f.statuses['429'] ?? 0}, other ${other}` +
        `${f.retryAfter ? `, Retry-After ${f.retryAfter}` : ''}; the legit sender's worst lag behind its schedule ${run.maxLagMs.toFixed(1)} ms` +
        `${run.firstFailure ? `; first legit failure: ${run.firstFailure}` : ''}${f.firstError ? `; flood connection errors ${f.errors}, first: ${f.firstError}` : ''}`,
    );
  }
}

export async function authFloodBenchmark(argv: string[] = []): Promise<void> {
  const options = numberOptions(argv);
  const teardown = new Teardown();
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: tearing down`);
    void teardown.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    clientCores = options.sharedCores ? '' : pinCores(teardown);
    const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-auth-flood-'));
    teardown.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
    const { store, authorizations } = await benchStore(dir, options.appliances, options.clients, teardown);
    watchWork(store, teardown);
    const path = `${SCC}/appliances/SH`;
    const shape: RunShape = {
      slices: options.pairs * 2,
      sliceMs: options['slice-seconds'] * 1000,
      guardMs: options['guard-seconds'] * 1000,
    };
    const limits = DEFAULT_FAILURE_LIMITS;
    console.log(
      `${options.appliances} SH appliances, ${options.clients} legit clients (read_only keys) from ${LEGIT_ADDRESS} at ${options.rate} requests/s together (open loop), GET ${path}; ` +
        `the flood from ${FLOOD_ADDRESS}: ${options['flood-concurrency']} requests in flight, wrong keys for ${FLOODED_ID}, switched on and off in ${shape.slices} slices of ${options['slice-seconds']} s ` +
        `(ABBA; ${options['guard-seconds']} s after each switch not counted); failure limits ${limits.perClient} per client, ${limits.perAccessId} per access id, per ${limits.windowSeconds} s; ` +
        `${cpus().length} cores${clientCores ? `, the clients on core ${clientCores}, the API on the others` : ', shared by the API and the clients'}`,
    );
    const runs: RunFigures[] = [];
    const lifted: FailureLimits = { perClient: 1e9, perAccessId: 1e9, windowSeconds: 1 };
    for (const [name, failureLimits] of [
      ['default limits', limits],
      ...(options.skipUnlimited ? [] : [['limits lifted', lifted]]),
    ] as [string, FailureLimits][]) {
      // A fresh API each: fresh failure counters and login cache.
      const { app, baseUrl } = await startApi(store, failureLimits, teardown);
      process.stdout.write(`${name} …`);
      const legitPlan: LegitPlan = {
        role: 'legit',
        baseUrl,
        path,
        authorizations,
        rate: options.rate,
        warmupSeconds: options.warmup,
        seconds: 0,
      };
      const floodPlan: FloodPlan = {
        role: 'flood',
        baseUrl,
        path,
        accessId: FLOODED_ID,
        concurrency: options['flood-concurrency'],
      };
      runs.push(await interleavedRun(name, legitPlan, floodPlan, shape, teardown));
      process.stdout.write(' done\n');
      await app.close();
    }
    printRuns(runs);
    const first = runs[0]!;
    console.log(
      `p99 under flood ÷ p99 alone, default limits: ${(percentile(first.flood.sorted, 0.99) / percentile(first.alone.sorted, 0.99)).toFixed(2)} (target ≤ 1.20). ` +
        'API cpu %: of one core, over the slices of that condition; ' +
        "scrypt/s, audit/s: the API's derivations and audit writes a second over them; " +
        "loop p99, loop max: how late (ms) the API's event loop ran a 1 ms timer over them.",
    );
  } finally {
    await teardown.run();
    clientCores = '';
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (require.main === module && process.argv.includes('--child')) {
  child().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
