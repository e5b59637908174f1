/**
 * A flood of wrong keys from one client, and what it does to everyone else's latency.
 *
 * The API (createApi, as api/main.ts assembles it, with its default failed-authentication limits)
 * on a SQLite store holding a few hundred SH appliances and a few access keys, and a stand-in
 * Temporal client (the measured route, GET appliances/SH, is a store read). Legit clients, each
 * with its own valid key, send requests at a steady rate (open loop: on a fixed schedule, whatever
 * the answers do) from 127.0.0.1 and measure latency: first alone (baseline), then while a
 * flooding client sends wrong keys for a known access id as fast as it can (a fixed number of
 * requests in flight, each answered one sent) from 127.0.0.2, so the server sees another address.
 * Rounds of the two (each on a fresh API, so each flood starts from its first wrong key), the
 * latencies of all rounds pooled; last, the same flood with the limits lifted: what they protect
 * against (--skip-unlimited skips it).
 *
 * Legit clients and the flooder are processes of their own (this file, run with --child), so the
 * clients' work does not share the API's event loop; the API's CPU is this process's during each
 * measured phase. With 2 cores or more the API is pinned off the last core and the clients onto
 * it (taskset; --shared-cores does not), the flooder at nice 19: the attacker is another machine
 * in real life, and a legit client must not wait behind it for a core. Figures only, never asserted.
 *   npm run bench -- auth-flood [--appliances 300] [--clients 4] [--rate 200] [--seconds 15] [--warmup 3]
 *                               [--rounds 3] [--flood-concurrency 32] [--skip-unlimited] [--shared-cores]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_FAILURE_LIMITS, putAccessKey, type FailureLimits } from '../api/auth';
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
  statuses: Record<string, number>;
  errors: number;
  /** How far behind its schedule the sender got at worst (the client's own delay, not the API's), ms. */
  maxLagMs: number;
  elapsedMs: number;
  firstFailure?: string;
}

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

function get(agent: Agent, url: URL, authorization: string): Promise<{ status: number; retryAfter?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ agent, method: 'GET', hostname: url.hostname, port: url.port, path: url.pathname, headers: { authorization } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        if ((res.statusCode ?? 0) >= 300) chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 300), ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Open loop: request k is sent at start + k / rate, answered or not; the warm-up's are not measured. */
async function runLegit(plan: LegitPlan): Promise<LegitResult> {
  const url = new URL(plan.path, plan.baseUrl);
  const agents = plan.authorizations.map(() => new Agent({ keepAlive: true, maxSockets: 16, localAddress: LEGIT_ADDRESS }));
  const interval = 1000 / plan.rate;
  const warmup = Math.round(plan.warmupSeconds * plan.rate);
  const total = warmup + Math.round(plan.seconds * plan.rate);
  const result: LegitResult = { latenciesMs: [], statuses: {}, errors: 0, maxLagMs: 0, elapsedMs: 0 };
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
      result.statuses[answer.status] = (result.statuses[answer.status] ?? 0) + 1;
      if (answer.status >= 300) result.firstFailure ??= `HTTP ${answer.status}: ${answer.body}`;
    } catch (err) {
      if (!measuring) return;
      result.errors++;
      result.firstFailure ??= `error: ${(err as Error).message}`;
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

/** `concurrency` requests in flight with a wrong key each (never the same twice), until told to stop. */
async function runFlood(plan: FloodPlan, stopped: Promise<void>): Promise<FloodResult> {
  const url = new URL(plan.path, plan.baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency, localAddress: FLOOD_ADDRESS });
  const result: FloodResult = { sent: 0, statuses: {}, errors: 0, elapsedMs: 0 };
  let stop = false;
  void stopped.then(() => (stop = true));
  let announced = false;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (!stop) {
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

async function child(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  const plan = JSON.parse(String(first.value)) as LegitPlan | FloodPlan;
  if (plan.role === 'legit') {
    process.stdout.write(`${JSON.stringify({ result: await runLegit(plan) })}\n`);
  } else {
    // Any further line, or the end of stdin, stops the flood.
    const stopped = iterator.next().then(() => undefined);
    process.stdout.write(`${JSON.stringify({ result: await runFlood(plan, stopped) })}\n`);
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
    process.execPath, '--import', 'tsx', __filename, '--child',
  ];
  const [file, ...args] = command;
  const proc = spawn(file!, args, { cwd: join(__dirname, '..'), stdio: ['pipe', 'pipe', 'inherit'] });
  teardown.add(`${plan.role} client`, () => stopProcess(proc));
  const waiting = new Map<string, () => void>();
  const seen = new Set<string>();
  const result = new Promise<R>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code, signal) => reject(new Error(`${plan.role} client exited with ${code ?? signal} before its result`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
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
  proc.stdin!.write(`${JSON.stringify(plan)}\n`);
  return {
    proc,
    result,
    send: (line) => void proc.stdin!.write(`${line}\n`),
    signal: (kind) => (seen.has(kind) ? Promise.resolve() : Promise.race([new Promise<void>((resolve) => waiting.set(kind, resolve)), result.then(() => undefined)])),
  };
}

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;

interface PhaseFigures {
  name: string;
  /** The measured latencies, sorted, ms. */
  sorted: number[];
  n: number;
  non2xx: number;
  maxLagMs: number;
  /** The API process's CPU (ms) over the measured wall time (ms). */
  cpuMs: number;
  elapsedMs: number;
  flood?: FloodResult;
  firstFailure?: string;
}

/** Several phases' figures as one (the rounds of one kind): latencies pooled, counts added. */
function pooled(name: string, phases: PhaseFigures[]): PhaseFigures {
  const floods = phases.flatMap((p) => (p.flood ? [p.flood] : []));
  const statuses: Record<string, number> = {};
  for (const f of floods) for (const [status, k] of Object.entries(f.statuses)) statuses[status] = (statuses[status] ?? 0) + k;
  const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
  return {
    name,
    sorted: phases.flatMap((p) => p.sorted).sort((a, b) => a - b),
    n: sum(phases.map((p) => p.n)),
    non2xx: sum(phases.map((p) => p.non2xx)),
    maxLagMs: Math.max(...phases.map((p) => p.maxLagMs)),
    cpuMs: sum(phases.map((p) => p.cpuMs)),
    elapsedMs: sum(phases.map((p) => p.elapsedMs)),
    ...(floods.length ? { flood: { sent: sum(floods.map((f) => f.sent)), statuses, errors: sum(floods.map((f) => f.errors)), elapsedMs: sum(floods.map((f) => f.elapsedMs)) } } : {}),
  };
}

/**
 * One request per legit client, one after another: each key's scrypt check is then cached (for a
 * minute, longer than a phase), so no phase pays it, nor the burst of checks a client's first
 * requests at once would start.
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

/** One measured phase: the legit clients for warm-up + seconds, the API's CPU accounted over the measured part. */
async function measure(name: string, plan: LegitPlan, teardown: Teardown): Promise<Omit<PhaseFigures, 'flood'>> {
  await prime(plan);
  const legit = startChild<LegitResult>(plan, teardown);
  await legit.signal('measuring');
  const cpuAtStart = process.cpuUsage();
  const result = await legit.result;
  const cpu = process.cpuUsage(cpuAtStart);
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  const non2xx = Object.entries(result.statuses).reduce((s, [status, k]) => s + (status.startsWith('2') ? 0 : k), 0) + result.errors;
  return {
    name,
    sorted,
    n: sorted.length + result.errors,
    non2xx,
    maxLagMs: result.maxLagMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    elapsedMs: result.elapsedMs,
    ...(result.firstFailure ? { firstFailure: result.firstFailure } : {}),
  };
}

/** The same phase while the flood runs (it starts first and has had answers before measuring begins). */
async function measureUnderFlood(name: string, plan: LegitPlan, flood: FloodPlan, teardown: Teardown): Promise<PhaseFigures> {
  const flooder = startChild<FloodResult>(flood, teardown);
  await flooder.signal('flooding');
  const figures = await measure(name, plan, teardown);
  flooder.send('stop');
  return { ...figures, flood: await flooder.result };
}

/** Stand-in Temporal client: the measured route never reaches Temporal. */
const standInClient = { connection: { workflowService: { getSystemInfo: async () => ({}) } } } as unknown as Client;

async function startApi(store: FleetStore, failureLimits: FailureLimits, teardown: Teardown): Promise<{ app: FastifyInstance; baseUrl: string }> {
  const app = createApi({ client: standInClient, logger: createLogger('bench-auth-flood', 'error'), store, failureLimits });
  await app.listen({ host: LEGIT_ADDRESS, port: 0 });
  teardown.add('api', () => (app.server.listening ? app.close() : undefined));
  const address = app.server.address();
  return { app, baseUrl: `http://${LEGIT_ADDRESS}:${typeof address === 'object' && address ? address.port : 0}` };
}

export async function authFloodBenchmark(argv: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      appliances: { type: 'string', default: '300' },
      clients: { type: 'string', default: '4' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '3' },
      'flood-concurrency': { type: 'string', default: '32' },
      rounds: { type: 'string', default: '3' },
      'skip-unlimited': { type: 'boolean', default: false },
      'shared-cores': { type: 'boolean', default: false },
    },
  });
  const numbers = { appliances: Number(values.appliances), clients: Number(values.clients), rate: Number(values.rate), seconds: Number(values.seconds), warmup: Number(values.warmup), 'flood-concurrency': Number(values['flood-concurrency']), rounds: Number(values.rounds) };
  for (const [name, n] of Object.entries(numbers)) {
    if (!Number.isFinite(n) || n < (name === 'warmup' ? 0 : 1)) throw new Error(`--${name} must be a positive number`);
  }

  const teardown = new Teardown();
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: tearing down`);
    void teardown.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // The flooder is another machine in real life: its CPU should not be the API's. With 2 cores or
    // more, the API (this process, every thread) keeps all cores but the last, the clients get that one.
    const cores = cpus().length;
    if (!values['shared-cores'] && cores >= 2 && existsSync(TASKSET)) {
      execFileSync(TASKSET, ['-a', '-p', '-c', cores === 2 ? '0' : `0-${cores - 2}`, String(process.pid)], { stdio: 'ignore' });
      teardown.add('cpu affinity', () => void execFileSync(TASKSET, ['-a', '-p', '-c', `0-${cores - 1}`, String(process.pid)], { stdio: 'ignore' }));
      clientCores = String(cores - 1);
    }
    const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-auth-flood-'));
    teardown.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
    const store = await FleetStore.open(`sqlite:${join(dir, 'fleet.db')}`);
    teardown.add('store', () => store.close());
    const sh = generateAppliances(numbers.appliances * 8).filter((a) => a.product_code === 'SH').slice(0, numbers.appliances);
    for (const a of sh) {
      await store.upsertAppliance({ serial: a.serial, product_code: a.product_code, model: a.model, arch: a.arch, hostname: a.hostname, ip_address: a.ip_address, time_zone: a.time_zone, connected: a.connected, current_version: a.running_version });
    }
    const authorizations: string[] = [];
    for (let i = 1; i <= numbers.clients; i++) {
      const key = randomBytes(24).toString('base64url');
      await putAccessKey(store, `bench-client-${i}`, key, 'read_only');
      authorizations.push(`Basic ${Buffer.from(`bench-client-${i}:${key}`).toString('base64')}`);
    }
    await putAccessKey(store, FLOODED_ID, randomBytes(24).toString('base64url'), 'admin');

    const path = `${SCC}/appliances/SH`;
    const legitPlan = (baseUrl: string): LegitPlan => ({ role: 'legit', baseUrl, path, authorizations, rate: numbers.rate, warmupSeconds: numbers.warmup, seconds: numbers.seconds });
    const floodPlan = (baseUrl: string): FloodPlan => ({ role: 'flood', baseUrl, path, accessId: FLOODED_ID, concurrency: numbers['flood-concurrency'] });
    const limits = DEFAULT_FAILURE_LIMITS;
    console.log(
      `${sh.length} SH appliances, ${numbers.clients} legit clients (read_only keys) from ${LEGIT_ADDRESS} at ${numbers.rate} requests/s together (open loop), ` +
        `GET ${path}; the flood from ${FLOOD_ADDRESS}: ${numbers['flood-concurrency']} requests in flight, wrong keys for ${FLOODED_ID}; ` +
        `failure limits ${limits.perClient} per client, ${limits.perAccessId} per access id, per ${limits.windowSeconds} s; ${cores} cores` +
        (clientCores ? `: the API on ${cores === 2 ? 'core 0' : `cores 0-${cores - 2}`}, the clients on core ${clientCores}` : ', shared by the API and the clients'),
    );

    // Each round on a fresh API (fresh failure counters and login cache): the baseline, then the
    // flood from its first request on; rounds alternate so drift on the machine hits both alike.
    const baselines: PhaseFigures[] = [];
    const floods: PhaseFigures[] = [];
    for (let round = 1; round <= numbers.rounds; round++) {
      const { app, baseUrl } = await startApi(store, limits, teardown);
      process.stdout.write(`round ${round}: baseline …`);
      baselines.push(await measure(`baseline, round ${round}`, legitPlan(baseUrl), teardown));
      process.stdout.write(' under flood …');
      floods.push(await measureUnderFlood(`under flood, round ${round}`, legitPlan(baseUrl), floodPlan(baseUrl), teardown));
      process.stdout.write(' done\n');
      await app.close();
    }
    const baseline = pooled(`baseline (${numbers.rounds} rounds)`, baselines);
    const underFlood = pooled(`under flood (${numbers.rounds} rounds)`, floods);
    const phases = [...(numbers.rounds > 1 ? [...baselines, ...floods] : []), baseline, underFlood];
    if (!values['skip-unlimited']) {
      // A fresh API whose limits the flood never reaches: every wrong key costs a derivation.
      const lifted: FailureLimits = { perClient: 1e9, perAccessId: 1e9, windowSeconds: 1 };
      const { app, baseUrl } = await startApi(store, lifted, teardown);
      process.stdout.write('under flood, limits lifted …');
      phases.push(await measureUnderFlood('under flood, limits lifted', legitPlan(baseUrl), floodPlan(baseUrl), teardown));
      process.stdout.write(' done\n');
      await app.close();
    }

    const basePool = baseline.sorted;
    const header = `${'phase'.padEnd(28)}${'n'.padStart(7)}${'non-2xx'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'max ms'.padStart(8)}${'p99 ÷ base'.padStart(11)}${'API cpu %'.padStart(10)}${'client lag ms'.padStart(14)}${'flood sent'.padStart(11)}${'flood/s'.padStart(9)}${'401'.padStart(8)}${'429'.padStart(8)}${'other'.padStart(7)}`;
    console.log(`\n${header}\n${'-'.repeat(header.length)}`);
    for (const p of phases) {
      const f = p.flood;
      const other = f ? Object.entries(f.statuses).reduce((s, [status, k]) => s + (status === '401' || status === '429' ? 0 : k), 0) + f.errors : 0;
      const p99 = percentile(p.sorted, 0.99);
      console.log(
        `${p.name.padEnd(28)}${String(p.n).padStart(7)}${String(p.non2xx).padStart(8)}${percentile(p.sorted, 0.5).toFixed(2).padStart(8)}${p99.toFixed(2).padStart(8)}${(p.sorted.at(-1) ?? Number.NaN).toFixed(1).padStart(8)}` +
          `${(f ? (p99 / percentile(basePool, 0.99)).toFixed(2) : '').padStart(11)}${((p.cpuMs / p.elapsedMs) * 100).toFixed(0).padStart(10)}${p.maxLagMs.toFixed(1).padStart(14)}` +
          (f ? `${String(f.sent).padStart(11)}${(f.sent / (f.elapsedMs / 1000)).toFixed(0).padStart(9)}${String(f.statuses['401'] ?? 0).padStart(8)}${String(f.statuses['429'] ?? 0).padStart(8)}${String(other).padStart(7)}` : ''),
      );
    }
    for (const p of [...baselines, ...floods, ...phases.slice(-1)]) {
      if (p.firstFailure) console.log(`${p.name}: legit non-2xx, first: ${p.firstFailure}`);
      if (p.flood?.firstError) console.log(`${p.name}: flood connection errors ${p.flood.errors}, first: ${p.flood.firstError}`);
    }
    const retryAfter = floods.find((p) => p.flood?.retryAfter)?.flood?.retryAfter;
    console.log(
      `p99 under flood ÷ baseline p99 (all rounds): ${(percentile(underFlood.sorted, 0.99) / percentile(basePool, 0.99)).toFixed(2)} (target ≤ 1.20)` +
        `${retryAfter ? `; the flood's 429s carry Retry-After: ${retryAfter}` : '; no 429 answered'}. API cpu %: of one core, over the measured time; client lag: the legit sender's worst delay behind its schedule (its own, not the API's)`,
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
