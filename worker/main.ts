/** The worker process: `npm run worker`. Stops cleanly on SIGINT/SIGTERM (the SDK drains in-flight tasks). */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig, type FleetConfig } from '../domain/config';
import { createLogger, type Logger } from '../domain/logging';
import { FleetStore } from '../store/fleet-store';
import { createFleetWorker, fleetWorkerOptions } from './create-worker';
import { PinoTemporalLogger } from './logging';
import { coreMetricsOptions, freeLoopbackPort, startMetricsServer, WorkerMetrics } from './metrics';

/**
 * The SDK runtime, once per process before any connection. With FLEET_WORKER_METRICS_PORT its core
 * exports its metrics on a loopback port of its own, which the worker's /metrics reads: answers its URL.
 */
async function installRuntime(config: FleetConfig, logger: Logger): Promise<string | undefined> {
  const temporalLogger = new PinoTemporalLogger(logger);
  if (config.FLEET_WORKER_METRICS_PORT === undefined) {
    Runtime.install({ logger: temporalLogger });
    return undefined;
  }
  const bindAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  Runtime.install({ logger: temporalLogger, telemetryOptions: { metrics: coreMetricsOptions(bindAddress) } });
  return `http://${bindAddress}/metrics`;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.FLEET_LOG_LEVEL);
  const coreMetricsUrl = await installRuntime(config, logger);
  const store = await FleetStore.open(config.FLEET_STORE_URL);
  const metrics =
    config.FLEET_WORKER_METRICS_PORT !== undefined
      ? new WorkerMetrics({ store, maxTasksInFlight: config.FLEET_MAX_TASKS_IN_FLIGHT, processMetrics: true })
      : undefined;
  const metricsServer = metrics
    ? await startMetricsServer({
        host: config.FLEET_WORKER_METRICS_HOST,
        port: config.FLEET_WORKER_METRICS_PORT!,
        registry: metrics.registry,
        ...(coreMetricsUrl ? { coreUrl: coreMetricsUrl } : {}),
        logger,
      })
    : undefined;
  if (metricsServer) logger.info({ url: metricsServer.url }, `worker metrics on ${metricsServer.url}`);
  const connection = await NativeConnection.connect({ address: config.FLEET_TEMPORAL_ADDRESS });
  const options = fleetWorkerOptions(config, { connection, store, logger });
  logger.info(
    {
      sizing: options.sizing,
      maxTasksInFlight: options.maxTasksInFlight,
      workflowBundle: options.workflowBundlePath ?? null,
    },
    options.workflowBundlePath
      ? 'worker sizing; workflows from the prebuilt bundle'
      : 'worker sizing; bundling workflows/ now (set FLEET_WORKER_WORKFLOW_BUNDLE in production)',
  );
  const worker = await createFleetWorker({ ...options, ...(metrics ? { metrics } : {}) });
  logger.info(
    {
      taskQueue: config.FLEET_TASK_QUEUE,
      temporal: config.FLEET_TEMPORAL_ADDRESS,
      devices: config.FLEET_DEVICE_API_URL,
      metrics: metricsServer?.url ?? null,
    },
    'worker started',
  );
  await worker.run();
  metricsServer?.server.close();
  await connection.close();
  await store.close();
  logger.info('worker stopped');
  process.exit(0);
}

main().catch((err: unknown) => {
  createLogger('worker').fatal({ err }, 'worker failed');
  process.exit(1);
});
