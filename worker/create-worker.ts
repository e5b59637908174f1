/** Builds the worker: every workflow, and activities bound to the device API. Used by main.ts and the tests. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createDeviceActivities } from '../activities/device-activities';
import { DeviceClient } from '../activities/device-client';
import type { Logger } from '../domain/logging';

export interface FleetWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deviceApiUrl: string;
  imageBaseUrl: string;
  logger: Logger;
}

export async function createFleetWorker(options: FleetWorkerOptions): Promise<Worker> {
  const activities = createDeviceActivities({
    client: new DeviceClient({ baseUrl: options.deviceApiUrl }),
    imageBaseUrl: options.imageBaseUrl,
    logger: options.logger,
  });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities,
  });
}
