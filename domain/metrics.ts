/**
 * The pure parts of the Prometheus metrics (README "Metrics"): metric names, bounded label values,
 * and what an appliance task's state change means for the task counters and duration histograms.
 * Label values are always from small sets (kinds, product codes, stages, outcomes, request
 * templates, error codes): never a serial, an operation id or a job id.
 */

/** Every metric this project defines (the SDK's own are `temporal_*`, prom-client's defaults `process_*` / `nodejs_*`). */
export const METRIC = {
  tasksStarted: 'fleet_appliance_tasks_started_total',
  tasksFinished: 'fleet_appliance_tasks_finished_total',
  taskDuration: 'fleet_appliance_task_duration_seconds',
  stageDuration: 'fleet_appliance_task_stage_duration_seconds',
  deviceErrors: 'fleet_device_api_errors_total',
  maxTasksInFlight: 'fleet_max_tasks_in_flight',
  operations: 'fleet_operations',
  tasks: 'fleet_appliance_tasks',
  tasksWaitingForPlace: 'fleet_appliance_tasks_waiting_for_place',
  apiRequests: 'fleet_api_requests_total',
  apiRequestDuration: 'fleet_api_request_duration_seconds',
} as const;

/** Whole tasks take minutes on real appliances (seconds on the simulator), up to the 30-minute limit and beyond. */
export const TASK_DURATION_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
/** One stage: a download or install of minutes, a reboot of a few. */
export const STAGE_DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
export const API_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const FINAL_STATUSES = ['successful', 'failed', 'cancelled'] as const;
export type TaskOutcome = (typeof FINAL_STATUSES)[number];
export const isTaskOutcome = (status: unknown): status is TaskOutcome =>
  (FINAL_STATUSES as readonly unknown[]).includes(status);

/**
 * A device API request as a label: method and path with every serial, job id and collector id
 * replaced by its name, and no query (`POST /devices/{serial}/install`).
 */
export function deviceRequestLabel(method: string, path: string): string {
  const template = path
    .replace(/\?.*$/, '')
    .replace(/\/jobs\/[^/]+/, '/jobs/{job_id}')
    .replace(/^\/(admin\/)?devices\/[^/]+/, '/$1devices/{serial}')
    .replace(/^\/(admin\/)?collectors\/[^/]+/, '/$1collectors/{collector_id}');
  return `${method} ${template}`;
}

/** Codes as the device API spells them (`install.esxi_conflict`, `http_503`, `timeout`): lower case, dotted. */
const ERROR_CODE = /^[a-z][a-z0-9_]{0,31}(\.[a-z0-9_]{1,32}){0,3}$/;
/** Past this many distinct codes, new ones count as `other`: a device cannot grow the label set without bound. */
export const MAX_DEVICE_ERROR_CODES = 50;

/** Keeps device error codes a small set: one not in the device API's form, or one past the limit, is `other`. */
export class ErrorCodeLabels {
  private readonly seen = new Set<string>();
  constructor(private readonly limit = MAX_DEVICE_ERROR_CODES) {}
  label(code: string): string {
    if (!ERROR_CODE.test(code)) return 'other';
    if (this.seen.has(code)) return code;
    if (this.seen.size >= this.limit) return 'other';
    this.seen.add(code);
    return code;
  }
}

/** What a worker remembers of a task it has seen start or change stage (in memory: it is only for the histograms). */
export interface TaskClock {
  stage: string;
  /** When the task entered `stage` (epoch ms). */
  stageSinceMs: number;
  /** When the task started (entered `initiating`), if this worker saw it. */
  startedMs?: number;
}

/** What one recorded change of a task's status or stage observes. */
export interface TaskObservations {
  started: boolean;
  /** The stage the task left, and how long it was in it (when known). */
  stageEnded?: { stage: string; seconds: number };
  /** The task reached a final status; `seconds` since it started, when known. */
  finished?: { outcome: TaskOutcome; seconds?: number };
  /** What to remember of the task now (undefined: forget it). */
  clock: TaskClock | undefined;
}

/**
 * The metrics a task's change means. `startTimeMs` is the start the store recorded
 * (task_start_time), used for the task's duration when this worker did not see the start (another
 * worker ran it, or this one restarted); a stage whose entry was not seen gets no duration.
 */
export function observeTaskChange(
  clock: TaskClock | undefined,
  change: { status?: string; stage?: string },
  nowMs: number,
  startTimeMs?: number,
): TaskObservations {
  const stage = change.stage;
  if (stage === undefined || stage === clock?.stage) return { started: false, clock };
  const started = stage === 'initiating';
  const stageEnded = clock
    ? { stage: clock.stage, seconds: Math.max(0, nowMs - clock.stageSinceMs) / 1000 }
    : undefined;
  const startedMs = started ? nowMs : (clock?.startedMs ?? startTimeMs);
  if (isTaskOutcome(change.status)) {
    // A task cancelled before it started has no duration.
    const seconds = startedMs !== undefined && !started ? Math.max(0, nowMs - startedMs) / 1000 : undefined;
    return {
      started,
      ...(stageEnded ? { stageEnded } : {}),
      finished: { outcome: change.status, ...(seconds !== undefined ? { seconds } : {}) },
      clock: undefined,
    };
  }
  return {
    started,
    ...(stageEnded ? { stageEnded } : {}),
    clock: { stage, stageSinceMs: nowMs, ...(startedMs !== undefined ? { startedMs } : {}) },
  };
}
