/**
 * A worker process for bench/fleet-upgrade.ts, so the worker's memory is measured apart from the
 * benchmark driver. Default: the real worker (worker/create-worker.ts: every workflow, activities
 * bound to the device API and the store), configured by the usual FLEET_* variables.
 * `--baseline`: the minimal fan-out of bench/baseline-workflows.ts and a no-op activity instead.
 *
 * It samples its RSS every 200 ms and speaks JSON lines (each with a `fleetWorker` field) on stdout:
 *   → {"fleetWorker":"ready"}                         once the worker polls its task queue
 *   ← "reset" on stdin                                 the peak restarts from the RSS now
 *   → {"fleetWorker":"reset"}
 *   ← "stop" on stdin, stdin closed, SIGTERM or SIGINT: the worker shuts down (draining), then
 *   → {"fleetWorker":"stopped","peakRssBytes":…,"startRssBytes":…,"peakHeapBytes":…,"hwmBytes":…,"rssBytes":…}
 * `peakRssBytes` is the largest RSS sampled since start or the last reset, `startRssBytes` the RSS
 * at that reset (RSS seldom shrinks: memory the workflow bundling took stays resident),
 * `peakHeapBytes` the largest V8 heap in use sampled over the same time; `hwmBytes` is the
 * kernel's high-water mark (VmHWM) over the process's whole life, bundling included.
 * Logs (FLEET_LOG_LEVEL, default warn here) go to stderr.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig } from '../domain/config';
import { FleetStore } from '../store/fleet-store';
import { createFleetWorker, fleetWorkerOptions } from '../worker/create-worker';
import { PinoTemporalLogger } from '../worker/logging';

const say = (event: string, fields: Record<string, number> = {}): void => {
  process.stdout.write(`${JSON.stringify({ fleetWorker: event, ...fields })}\n`);
};

function highWaterMark(): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const baseline = process.argv.includes('--baseline');
  const config = loadConfig({ FLEET_LOG_LEVEL: 'warn', ...process.env });
  const logger = pino({ name: baseline ? 'bench-baseline-worker' : 'bench-fleet-worker', level: config.FLEET_LOG_LEVEL }, pino.destination(2));
  Runtime.install({ logger: new PinoTemporalLogger(logger) });

  let peak = process.memoryUsage.rss();
  let start = peak;
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 200);

  const connection = await NativeConnection.connect({ address: config.FLEET_TEMPORAL_ADDRESS });
  let store: FleetStore | undefined;
  let worker: Worker;
  if (baseline) {
    worker = await Worker.create({
      connection,
      namespace: config.FLEET_TEMPORAL_NAMESPACE,
      taskQueue: config.FLEET_TASK_QUEUE,
      workflowsPath: require.resolve('./baseline-workflows'),
      activities: { baselineNoop: async (): Promise<void> => undefined },
    });
  } else {
    store = await FleetStore.open(config.FLEET_STORE_URL);
    worker = await createFleetWorker(fleetWorkerOptions(config, { connection, store, logger }));
  }

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    const command = line.trim();
    if (command === 'reset') {
      peak = start = process.memoryUsage.rss();
      peakHeap = process.memoryUsage().heapUsed;
      say('reset');
    } else if (command === 'stop') stop();
  });
  input.on('close', stop);

  const running = worker.run();
  say('ready');
  try {
    await running;
  } finally {
    clearInterval(sampler);
    const rss = process.memoryUsage.rss();
    peak = Math.max(peak, rss);
    await connection.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    say('stopped', { peakRssBytes: peak, startRssBytes: start, peakHeapBytes: peakHeap, hwmBytes: highWaterMark(), rssBytes: rss });
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`fleet-worker failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
