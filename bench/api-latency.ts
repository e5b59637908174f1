/**
 * REST API latency at fleet scale: the API (api/server.ts, as api/main.ts assembles it) on a
 * SQLite store holding 10,000 appliances, 1,000 Sumo collectors, the Riverbed catalog and a few
 * hundred past upgrade operations, with a real Temporal dev server behind it (creating an
 * operation starts its workflow; no worker runs, so the workflows stay open: creation is what is
 * measured). The load comes from a second process (bench/api-load.ts) over loopback, keep-alive,
 * at a fixed concurrency, so the client does not share the API's event loop.
 *
 * The inventory is filled the way production fills it: the simulator process serves the demo
 * fleet (a few appliances in each exception state) and the inventory's own discovery activity
 * (activities/inventory-activities.ts) reads every device into the store; collectors come in
 * through syncCollectors. The simulator stops before measuring.
 *
 * Figures only, never asserted. Requests run with HTTP Basic auth (an admin key; the scrypt check
 * is cached for a minute, so about one request a minute pays it) and the API logs at `warn`
 * (production's `info` adds two log lines per request).
 *   npm run bench -- api-latency [--appliances 10000] [--requests 1000] [--seconds 10] [--concurrency 8]
 *                                [--operations 300] [--per-operation 3] [--stack dev|cluster|dev,cluster]
 * `--stack cluster`: the full Temporal server on PostgreSQL and the store on the same PostgreSQL
 * (bench/lib/temporal.ts startBenchServer) instead of the dev server and SQLite; rows for each stack.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DeviceClient } from '../activities/device-client';
import { createInventoryActivities } from '../activities/inventory-activities';
import { bootstrapAdmin, ensureRiverbedCatalog, RIVERBED_TWO_HOP_VERSION } from '../api/bootstrap';
import { createApi } from '../api/server';
import { syncCollectors } from '../client/collector-upgrades';
import { newOperationId } from '../client/operations';
import { upgradeEligibility } from '../domain/eligibility';
import { createLogger } from '../domain/logging';
import { taskFields } from '../domain/operation';
import { fleetFacts } from '../store/fleet-facts';
import { FleetStore, type OperationRecord, type TaskRecord } from '../store/fleet-store';
import { listenOnLoopback, startSimulator, type SimulatorProcess } from '../test/helpers/servers';
import type { LoadJob, LoadPlan, LoadResult } from './api-load';
import { parseBenchOptions } from './lib/options';
import { parseStacks, startBenchServer, type BenchServer } from './lib/temporal';
import { stopProcess, Teardown, withTeardown } from './teardown';

const root = join(__dirname, '..');
const SCC = '/api/cmc.upgrades/1.0';
const SUMO = '/api/v1';
const IMAGE_BASE_URL = 'http://images.bench.invalid';
/** Upgrades to the catalog's newest release: two images from older releases, so eligibility searches paths. */
const TARGET = RIVERBED_TWO_HOP_VERSION;
const TASK_QUEUE = 'bench-api-latency';

/** Each of several starts, its cleanup registered as soon as it is up, even when another fails. */
async function startAll<T extends unknown[]>(
  teardown: Teardown,
  starts: { [K in keyof T]: [string, () => Promise<T[K]>, (value: T[K]) => Promise<void> | void] },
): Promise<T> {
  const settled = await Promise.allSettled(
    starts.map(async ([name, start, stop]) => {
      const value = await start();
      teardown.add(name, () => stop(value));
      return value;
    }),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as T;
}

const elapsed = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)}s`;

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: number[], p: number): number =>
  sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;

/**
 * Past operations for the operations list: finished upgrades of `perOperation` appliances each,
 * one an hour back from now, most successful and every tenth partially successful. Finished, so
 * they put no appliance in `operation_in_progress`.
 */
async function seedHistory(
  store: FleetStore,
  serials: string[],
  count: number,
  perOperation: number,
  username: string,
): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const createdMs = now - (count - i) * 3_600_000;
    const partial = i % 10 === 9;
    const appliances = Array.from(
      { length: perOperation },
      (_, j) => serials[(i * perOperation + j) % serials.length]!,
    );
    const operation: OperationRecord & { appliances: string[] } = {
      id: newOperationId(createdMs),
      username,
      status: partial ? 'partially_successful' : 'successful',
      create_time: new Date(createdMs).toISOString(),
      product_code: 'SH',
      target_version: { version_id: TARGET },
      reboot: false,
      comment: `bench history ${i}`,
      appliances,
    };
    const tasks: TaskRecord[] = appliances.map((serial, j) => ({
      operation_id: operation.id,
      serial,
      status: partial && j === 0 ? 'failed' : 'successful',
      stage: partial && j === 0 ? 'failed' : 'completed',
      ...taskFields('upgrade', operation),
      current_version: { version_id: '9.14.0-100' },
    }));
    await store.insertOperation('upgrade', operation, tasks);
  }
}

/** Runs the plan in a second process; answers one result per job, and the API process's CPU time per job. */
async function runLoad(
  plan: LoadPlan,
  teardown: Teardown,
  onJob: (name: string) => void,
): Promise<{ result: LoadResult; cpuMs: number }[]> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'api-load.ts')], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  teardown.add('load generator', () => stopProcess(proc));
  const results: { result: LoadResult; cpuMs: number }[] = [];
  let cpuAtStart = process.cpuUsage();
  let startedAt = performance.now();
  const exited = new Promise<void>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`load generator exited with ${code ?? signal}`)),
    );
  });
  const lines = createInterface({ input: proc.stdout });
  lines.on('line', (line) => {
    let message: { start: string } | LoadResult;
    try {
      message = JSON.parse(line) as { start: string } | LoadResult;
    } catch {
      console.error(`load generator: ${line}`);
      return;
    }
    if ('start' in message) {
      cpuAtStart = process.cpuUsage();
      startedAt = performance.now();
      onJob(message.start);
      return;
    }
    const cpu = process.cpuUsage(cpuAtStart);
    results.push({ result: message, cpuMs: (cpu.user + cpu.system) / 1000 });
    process.stdout.write(` ${message.latenciesMs.length} requests in ${elapsed(startedAt)}\n`);
  });
  proc.stdin.end(JSON.stringify(plan));
  await exited;
  return results;
}

export async function apiLatencyBenchmark(argv: string[] = []): Promise<void> {
  const values = parseBenchOptions(argv, {
    numbers: {
      appliances: { default: 10_000 },
      collectors: { default: 1000, min: 0 },
      requests: { default: 1000 },
      seconds: { default: 10 },
      concurrency: { default: 8, min: 1, whole: true },
      operations: { default: 300, min: 0, whole: true },
      'per-operation': { default: 3, min: 1, whole: true },
    },
    texts: { stack: 'dev' },
  });
  const stacks = parseStacks(values.stack);
  const {
    appliances: count,
    collectors,
    requests,
    seconds,
    concurrency,
    operations: historyCount,
    'per-operation': perOperation,
  } = values;

  // Ctrl-C or a kill still stops the dev server and the child processes.
  await withTeardown(async (teardown) => {
    for (const stack of stacks) {
      const setupStarted = performance.now();
      const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-api-'));
      teardown.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));

      const [server, sim] = await startAll<[BenchServer, SimulatorProcess]>(teardown, [
        [`temporal (${stack})`, () => startBenchServer(stack), (e) => e.stop()],
        [
          'simulator',
          () => startSimulator({ appliances: count, collectors, profile: 'demo', speed: 1, seed: 1 }),
          (s) => s.stop(),
        ],
      ]);
      const { env } = server;
      const store = await FleetStore.open(await server.newStoreUrl(dir, 'fleet'));
      teardown.add('store', () => store.close());
      console.log(
        `${stack} stack: Temporal, simulator (${count} appliances, ${collectors} collectors) and store (${stack === 'dev' ? 'SQLite' : 'PostgreSQL'}) up in ${elapsed(setupStarted)}`,
      );

      // The inventory as production fills it: discovery reads each device into the store.
      let step = performance.now();
      const devices = new DeviceClient({ baseUrl: sim.url });
      const inventory = createInventoryActivities({
        store,
        client: devices,
        logger: createLogger('bench-inventory', 'error'),
      });
      const discovered = await new MockActivityEnvironment().run<[], number, () => Promise<number>>(() =>
        inventory.discoverDevices(),
      );
      const synced = await syncCollectors(devices, store);
      await sim.stop();
      const catalog = await ensureRiverbedCatalog(store, IMAGE_BASE_URL);
      const accessId = 'bench-admin';
      const accessKey = randomBytes(24).toString('base64url');
      await bootstrapAdmin(store, { accessId, accessKey, keyFile: join(dir, 'admin-access-key') });
      console.log(
        `inventory: ${discovered} appliances discovered, ${synced.collectors} collectors, ${catalog} Riverbed images, in ${elapsed(step)}`,
      );

      // Appliances to create operations for: those upgradeable now, by the rules the API checks at creation.
      step = performance.now();
      const sh = await fleetFacts(store, 'SH');
      const upgradeable = upgradeEligibility({
        productCode: 'SH',
        appliances: sh.appliances,
        images: sh.index,
        inProgress: sh.inProgress,
        targetVersionId: TARGET,
      }).upgradeable.map((a) => a.serial);
      const shSerials = sh.appliances.map((a) => a.serial);
      await seedHistory(store, shSerials, historyCount, perOperation, accessId);
      const bodies = Array.from({ length: Math.floor(upgradeable.length / perOperation) }, (_, i) => ({
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: false,
        comment: `bench ${i}`,
        appliances: upgradeable.slice(i * perOperation, (i + 1) * perOperation),
      }));
      console.log(
        `${shSerials.length} SH appliances, ${upgradeable.length} upgradeable to ${TARGET} (${bodies.length} operations of ${perOperation} possible); ${historyCount} past operations stored in ${elapsed(step)}`,
      );

      const app = createApi({
        client: env.client,
        logger: createLogger('bench-api', 'warn'),
        store,
        taskQueue: TASK_QUEUE,
      });
      const baseUrl = await listenOnLoopback(app);
      teardown.add('api', () => app.close());
      const authorization = `Basic ${Buffer.from(`${accessId}:${accessKey}`).toString('base64')}`;
      const check = await fetch(`${baseUrl}${SCC}/images`, { headers: { authorization } });
      if (!check.ok) throw new Error(`the API answered ${check.status} to GET images: ${await check.text()}`);
      await check.arrayBuffer().catch(() => undefined);

      const warmup = Math.min(20, requests);
      const read = (name: string, paths: string[]): LoadJob => ({
        name,
        method: 'GET',
        paths,
        requests,
        seconds,
        warmup,
      });
      const jobs: LoadJob[] = [
        read('GET appliances/SH', [`${SCC}/appliances/SH`]),
        read(
          'GET appliances/SH/{serial}',
          shSerials.slice(0, 2000).map((s) => `${SCC}/appliances/SH/${s}`),
        ),
        read(`GET upgradeable_appliances/SH/${TARGET}`, [`${SCC}/upgradeable_appliances/SH/${TARGET}`]),
        read('GET rebootable_appliances/SH', [`${SCC}/rebootable_appliances/SH`]),
        read('GET images', [`${SCC}/images`]),
        read(`GET operations/upgrade (${historyCount} stored)`, [`${SCC}/operations/upgrade`]),
        read('GET sumo collectors/upgrades/collectors', [`${SUMO}/collectors/upgrades/collectors`]),
        // Each body names different appliances, so none is refused as operation_in_progress.
        {
          name: `POST operations/upgrade (${perOperation} appliances)`,
          method: 'POST',
          paths: [`${SCC}/operations/upgrade`],
          bodies,
          requests,
          seconds,
          warmup: Math.min(10, Math.floor(bodies.length / 10)),
        },
      ];

      const measureStarted = performance.now();
      const results = await runLoad({ baseUrl, headers: { authorization }, concurrency, jobs }, teardown, (name) =>
        process.stdout.write(`measuring ${name} …`),
      );
      const created = (await store.listOperations('upgrade')).length - historyCount;

      console.log(
        `\nAPI latency, ${stack} stack: ${discovered.toLocaleString('en-US')} appliances (${stack === 'dev' ? 'SQLite, WAL; Temporal dev server' : 'PostgreSQL; Temporal server on PostgreSQL, 8 history shards'}), load from a second process over loopback, keep-alive, ${concurrency} at once, up to ${requests} requests or ${seconds}s per endpoint after ${warmup} warm-up`,
      );
      const header = `${'stack'.padEnd(9)}${'endpoint'.padEnd(46)}${'n'.padStart(6)}${'non-2xx'.padStart(8)}${'req/s'.padStart(8)}${'mean ms'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'KiB/resp'.padStart(10)}${'API cpu ms/req'.padStart(16)}`;
      console.log(header);
      console.log('-'.repeat(header.length));
      const failures: string[] = [];
      for (const { result: r, cpuMs } of results) {
        const sorted = [...r.latenciesMs].sort((a, b) => a - b);
        const n = sorted.length;
        const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(1, n);
        const non2xx =
          Object.entries(r.statuses).reduce((s, [status, k]) => s + (status.startsWith('2') ? 0 : k), 0) + r.errors;
        const answered = n - r.errors;
        console.log(
          `${stack.padEnd(9)}${r.name.padEnd(46)}${String(n).padStart(6)}${String(non2xx).padStart(8)}${(n / (r.elapsedMs / 1000)).toFixed(0).padStart(8)}${mean.toFixed(2).padStart(9)}${percentile(sorted, 0.5).toFixed(2).padStart(9)}${percentile(sorted, 0.99).toFixed(2).padStart(9)}${(sorted.at(-1) ?? Number.NaN).toFixed(2).padStart(9)}${(r.bytes / Math.max(1, answered) / 1024).toFixed(1).padStart(10)}${(cpuMs / Math.max(1, n)).toFixed(2).padStart(16)}`,
        );
        if (r.firstFailure)
          failures.push(`${r.name}: ${JSON.stringify(r.statuses)}, ${r.errors} errors; first: ${r.firstFailure}`);
      }
      console.log(
        `measured in ${elapsed(measureStarted)}; ${created} operations created (their workflows started on the ${stack} stack's Temporal; no worker runs them)`,
      );
      for (const f of failures) console.log(`non-2xx: ${f}`);
      await teardown.run();
    }
  });
}
