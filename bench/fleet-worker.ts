/**
 * A worker process for bench/fleet-upgrade.ts, so the worker's memory is measured apart from the
 * benchmark driver. Default: the real worker (worker/create-worker.ts: every workflow, activities
 * bound to the device API and the store), configured by the usual FLEET_* variables.
 * `--baseline`: the baselines of bench/baseline-workflows.ts instead (the minimal fan-out and the
 * device-time rollout) with their activities: a no-op, and one that starts a device job on the
 * device API at FLEET_DEVICE_API_URL; sized by the same FLEET_WORKER_* variables as the real worker.
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
import { createInterface } from 'node:readline';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig, type FleetConfig } from '../domain/config';
import { FleetStore } from '../store/fleet-store';
import {
  createFleetWorker,
  fleetWorkerOptions,
  workerSizingFromConfig,
  workerSizingOptions,
} from '../worker/create-worker';
import { PinoTemporalLogger } from '../worker/logging';
import { createBaselineActivities } from './lib/baseline-activities';
import { MemorySampler } from './lib/proc-sampling';

const say = (event: string, fields: Record<string, number> = {}): void => {
  process.stdout.write(`${JSON.stringify({ fleetWorker: event, ...fields })}\n`);
};

/** The baselines' worker: the same sizing as the real one, on its own task queue. */
function baselineWorker(config: FleetConfig, connection: NativeConnection): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.FLEET_TEMPORAL_NAMESPACE,
    taskQueue: config.FLEET_TASK_QUEUE,
    workflowsPath: require.resolve('./baseline-workflows'),
    activities: createBaselineActivities(config.FLEET_DEVICE_API_URL),
    ...workerSizingOptions(workerSizingFromConfig(config)),
  });
}

async function main(): Promise<void> {
  const baseline = process.argv.includes('--baseline');
  const config = loadConfig({ FLEET_LOG_LEVEL: 'warn', ...process.env });
  const logger = pino(
    { name: baseline ? 'bench-baseline-worker' : 'bench-fleet-worker', level: config.FLEET_LOG_LEVEL },
    pino.destination(2),
  );
  Runtime.install({ logger: new PinoTemporalLogger(logger) });

  const memory = new MemorySampler(200);

  const connection = await NativeConnection.connect({ address: config.FLEET_TEMPORAL_ADDRESS });
  let store: FleetStore | undefined;
  let worker: Worker;
  if (baseline) {
    worker = await baselineWorker(config, connection);
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
      memory.reset();
      say('reset');
    } else if (command === 'stop') stop();
  });
  input.on('close', stop);

  const running = worker.run();
  say('ready');
  try {
    await running;
  } finally {
    const report = memory.stop();
    await connection.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    say('stopped', { ...report });
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`fleet-worker failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
