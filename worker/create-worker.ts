/** Builds the worker: every workflow, and activities bound to the device API and the store. Used by main.ts and the tests. */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createCollectorActivities } from '../activities/collector-activities';
import { createDeviceActivities } from '../activities/device-activities';
import { DeviceClient } from '../activities/device-client';
import { createImageActivities } from '../activities/image-activities';
import { createInventoryActivities } from '../activities/inventory-activities';
import { createStoreActivities } from '../activities/store-activities';
import { createTaskSlotActivities } from '../activities/task-slot-activities';
import type { FleetConfig } from '../domain/config';
import type { Logger } from '../domain/logging';
import { DEFAULT_MAX_TASKS_IN_FLIGHT } from '../domain/rollout';
import type { FleetStore } from '../store/fleet-store';
import type { WorkerMetrics } from './metrics';

export interface FleetWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deviceApiUrl: string;
  imageBaseUrl: string;
  store: FleetStore;
  logger: Logger;
  /** Worker sizing (FLEET_WORKER_*); each value left out keeps the SDK's default. */
  sizing?: WorkerSizing;
  /** A prebuilt workflow bundle (FLEET_WORKER_WORKFLOW_BUNDLE); without it workflows/ is bundled with webpack at start. */
  workflowBundlePath?: string;
  /** FLEET_MAX_TASKS_IN_FLIGHT, the task-slot activities' limit (default DEFAULT_MAX_TASKS_IN_FLIGHT). */
  maxTasksInFlight?: number;
  /** Task and device metrics (worker/metrics.ts); without it none are counted. */
  metrics?: WorkerMetrics;
}

/** The Worker.create options the FLEET_WORKER_* variables set (domain/config.ts). */
export interface WorkerSizing {
  /** `maxCachedWorkflows` (FLEET_WORKER_MAX_CACHED_WORKFLOWS). */
  maxCachedWorkflows?: number;
  /** `maxConcurrentWorkflowTaskExecutions` (FLEET_WORKER_WORKFLOW_SLOTS). */
  workflowSlots?: number;
  /** `maxConcurrentActivityTaskExecutions` (FLEET_WORKER_ACTIVITY_SLOTS). */
  activitySlots?: number;
  /** `maxConcurrentLocalActivityExecutions` (FLEET_WORKER_LOCAL_ACTIVITY_SLOTS). */
  localActivitySlots?: number;
  /** `workflowTaskPollerBehavior` simple maximum (FLEET_WORKER_WORKFLOW_POLLERS). */
  workflowPollers?: number;
  /** `activityTaskPollerBehavior` simple maximum (FLEET_WORKER_ACTIVITY_POLLERS). */
  activityPollers?: number;
}

/** Sizing as Worker.create options; only the values given are set. */
export function workerSizingOptions(sizing: WorkerSizing): Partial<WorkerOptions> {
  const options: Partial<WorkerOptions> = {};
  if (sizing.maxCachedWorkflows !== undefined) options.maxCachedWorkflows = sizing.maxCachedWorkflows;
  if (sizing.workflowSlots !== undefined) options.maxConcurrentWorkflowTaskExecutions = sizing.workflowSlots;
  if (sizing.activitySlots !== undefined) options.maxConcurrentActivityTaskExecutions = sizing.activitySlots;
  if (sizing.localActivitySlots !== undefined) options.maxConcurrentLocalActivityExecutions = sizing.localActivitySlots;
  // The poller behaviours, not maxConcurrent*TaskPolls: SDK 1.24 builds its pollers from these only.
  if (sizing.workflowPollers !== undefined)
    options.workflowTaskPollerBehavior = { type: 'simple-maximum', maximum: sizing.workflowPollers };
  if (sizing.activityPollers !== undefined)
    options.activityTaskPollerBehavior = { type: 'simple-maximum', maximum: sizing.activityPollers };
  return options;
}

type WorkerConfig = Pick<
  FleetConfig,
  | 'FLEET_TEMPORAL_NAMESPACE'
  | 'FLEET_TASK_QUEUE'
  | 'FLEET_DEVICE_API_URL'
  | 'FLEET_IMAGE_BASE_URL'
  | 'FLEET_MAX_TASKS_IN_FLIGHT'
  | 'FLEET_WORKER_MAX_CACHED_WORKFLOWS'
  | 'FLEET_WORKER_WORKFLOW_SLOTS'
  | 'FLEET_WORKER_ACTIVITY_SLOTS'
  | 'FLEET_WORKER_LOCAL_ACTIVITY_SLOTS'
  | 'FLEET_WORKER_WORKFLOW_POLLERS'
  | 'FLEET_WORKER_ACTIVITY_POLLERS'
  | 'FLEET_WORKER_WORKFLOW_BUNDLE'
>;

type SizingConfig = Pick<
  FleetConfig,
  | 'FLEET_WORKER_MAX_CACHED_WORKFLOWS'
  | 'FLEET_WORKER_WORKFLOW_SLOTS'
  | 'FLEET_WORKER_ACTIVITY_SLOTS'
  | 'FLEET_WORKER_LOCAL_ACTIVITY_SLOTS'
  | 'FLEET_WORKER_WORKFLOW_POLLERS'
  | 'FLEET_WORKER_ACTIVITY_POLLERS'
>;

/** The worker's sizing from FLEET_WORKER_* (this worker's, and the benchmarks' baseline worker's). */
export function workerSizingFromConfig(config: SizingConfig): Required<WorkerSizing> {
  return {
    maxCachedWorkflows: config.FLEET_WORKER_MAX_CACHED_WORKFLOWS,
    workflowSlots: config.FLEET_WORKER_WORKFLOW_SLOTS,
    activitySlots: config.FLEET_WORKER_ACTIVITY_SLOTS,
    localActivitySlots: config.FLEET_WORKER_LOCAL_ACTIVITY_SLOTS,
    workflowPollers: config.FLEET_WORKER_WORKFLOW_POLLERS,
    activityPollers: config.FLEET_WORKER_ACTIVITY_POLLERS,
  };
}

/** The worker's options from the configuration (worker/main.ts and the fleet benchmark's worker). */
export function fleetWorkerOptions(
  config: WorkerConfig,
  parts: Pick<FleetWorkerOptions, 'connection' | 'store' | 'logger'>,
): FleetWorkerOptions & { sizing: Required<WorkerSizing>; maxTasksInFlight: number } {
  return {
    ...parts,
    namespace: config.FLEET_TEMPORAL_NAMESPACE,
    taskQueue: config.FLEET_TASK_QUEUE,
    deviceApiUrl: config.FLEET_DEVICE_API_URL,
    imageBaseUrl: config.FLEET_IMAGE_BASE_URL,
    sizing: workerSizingFromConfig(config),
    maxTasksInFlight: config.FLEET_MAX_TASKS_IN_FLIGHT,
    ...(config.FLEET_WORKER_WORKFLOW_BUNDLE !== undefined
      ? { workflowBundlePath: config.FLEET_WORKER_WORKFLOW_BUNDLE }
      : {}),
  };
}

export async function createFleetWorker(options: FleetWorkerOptions): Promise<Worker> {
  const client = new DeviceClient({
    baseUrl: options.deviceApiUrl,
    ...(options.metrics ? { onError: options.metrics.deviceError } : {}),
  });
  const activities = {
    ...createDeviceActivities({ client, logger: options.logger }),
    ...createImageActivities({ store: options.store, imageBaseUrl: options.imageBaseUrl, logger: options.logger }),
    ...createInventoryActivities({ client, store: options.store, logger: options.logger }),
    ...createStoreActivities({
      store: options.store,
      logger: options.logger,
      ...(options.metrics ? { observer: options.metrics } : {}),
    }),
    ...createCollectorActivities({ client, store: options.store, logger: options.logger }),
    ...createTaskSlotActivities({
      limit: options.maxTasksInFlight ?? DEFAULT_MAX_TASKS_IN_FLIGHT,
      logger: options.logger,
    }),
  };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    // Production loads the bundle built ahead (npm run build:workflows); else webpack bundles workflows/ now.
    ...(options.workflowBundlePath !== undefined
      ? { workflowBundle: { codePath: options.workflowBundlePath } }
      : { workflowsPath: require.resolve('../workflows') }),
    activities,
    ...workerSizingOptions(options.sizing ?? {}),
    // Cancellation reaches an activity only with a heartbeat's answer: keep them frequent, so a
    // cancelled collector upgrade or inventory refresh stops within seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
}
