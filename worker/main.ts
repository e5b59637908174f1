/** The worker process: `npm run worker`. Stops cleanly on SIGINT/SIGTERM (the SDK drains in-flight tasks). */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../domain/config';
import { createLogger } from '../domain/logging';
import { FleetStore } from '../store/fleet-store';
import { createFleetWorker, fleetWorkerOptions } from './create-worker';
import { PinoTemporalLogger } from './logging';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.FLEET_LOG_LEVEL);
  Runtime.install({ logger: new PinoTemporalLogger(logger) });
  const store = await FleetStore.open(config.FLEET_STORE_URL);
  const connection = await NativeConnection.connect({ address: config.FLEET_TEMPORAL_ADDRESS });
  const options = fleetWorkerOptions(config, { connection, store, logger });
  logger.info(
    { sizing: options.sizing, maxTasksInFlight: options.maxTasksInFlight, workflowBundle: options.workflowBundlePath ?? null },
    options.workflowBundlePath ? 'worker sizing; workflows from the prebuilt bundle' : 'worker sizing; bundling workflows/ now (set FLEET_WORKER_WORKFLOW_BUNDLE in production)',
  );
  const worker = await createFleetWorker(options);
  logger.info({ taskQueue: config.FLEET_TASK_QUEUE, temporal: config.FLEET_TEMPORAL_ADDRESS, devices: config.FLEET_DEVICE_API_URL }, 'worker started');
  await worker.run();
  await connection.close();
  await store.close();
  logger.info('worker stopped');
  process.exit(0);
}

main().catch((err: unknown) => {
  createLogger('worker').fatal({ err }, 'worker failed');
  process.exit(1);
});
