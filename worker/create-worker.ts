/** Builds the worker: every workflow, and activities bound to the device API and the store. Used by main.ts and the tests. */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createCollectorActivities } from '../activities/collector-activities';
import { createDeviceActivities } from '../activities/device-activities';
import { DeviceClient } from '../activities/device-client';
import { createImageActivities } from '../activities/image-activities';
import { createInventoryActivities } from '../activities/inventory-activities';
import { createStoreActivities } from '../activities/store-activities';
import type { FleetConfig } from '../domain/config';
import type { Logger } from '../domain/logging';
import type { FleetStore } from '../store/fleet-store';

export interface FleetWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deviceApiUrl: string;
  imageBaseUrl: string;
  store: FleetStore;
  logger: Logger;
}

/** The worker's options from the configuration (worker/main.ts and the fleet benchmark's worker). */
export function fleetWorkerOptions(config: Pick<FleetConfig, 'FLEET_TEMPORAL_NAMESPACE' | 'FLEET_TASK_QUEUE' | 'FLEET_DEVICE_API_URL' | 'FLEET_IMAGE_BASE_URL'>, parts: Pick<FleetWorkerOptions, 'connection' | 'store' | 'logger'>): FleetWorkerOptions {
  return {
    ...parts,
    namespace: config.FLEET_TEMPORAL_NAMESPACE,
    taskQueue: config.FLEET_TASK_QUEUE,
    deviceApiUrl: config.FLEET_DEVICE_API_URL,
    imageBaseUrl: config.FLEET_IMAGE_BASE_URL,
  };
}

export async function createFleetWorker(options: FleetWorkerOptions): Promise<Worker> {
  const client = new DeviceClient({ baseUrl: options.deviceApiUrl });
  const activities = {
    ...createDeviceActivities({ client, imageBaseUrl: options.imageBaseUrl, logger: options.logger }),
    ...createImageActivities({ store: options.store, imageBaseUrl: options.imageBaseUrl, logger: options.logger }),
    ...createInventoryActivities({ client, store: options.store, logger: options.logger }),
    ...createStoreActivities({ store: options.store, logger: options.logger }),
    ...createCollectorActivities({ client, store: options.store, logger: options.logger }),
  };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities,
    // Cancellation reaches an activity only with a heartbeat's answer: keep them frequent, so a
    // cancelled or timed-out task stops its device job within seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
}
