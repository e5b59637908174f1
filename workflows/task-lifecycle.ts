/**
 * What every appliance task workflow shares: its log lines, the time limit around its stages, and
 * the final record that lands even when the task is cancelled or times out.
 */
import {
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { DeviceActivities } from '../activities/device-activities';
import type { ImageActivities } from '../activities/image-activities';
import type { LogLine, StoreActivities } from '../activities/store-activities';
import { formatDuration } from '../domain/operation';
import type { ApplianceTaskStatus, Version } from '../domain/scc';
import type { TaskRecord } from '../store/fleet-store';
import { SA } from '../domain/search-attributes';
import type { ApplianceTaskOutcome } from './types';

/** One short call to a device (or a collector): 10 attempts, backing off to 30 s apart. */
export const SHORT_CALL = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
} as const;

/** One write to the store: idempotent, so retried until it lands. */
export const STORE_WRITE = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
} as const;

// A device that does not answer is retried after a durable timer, not a wait inside the worker.
const SHORT_LOCAL_CALL = { ...SHORT_CALL, localRetryThreshold: '1 second' } as const;

/**
 * Device calls: each one short request (read the device, start a job, read a job, cancel it), run
 * as local activities (one history marker each). Waiting for a job is a durable timer in the
 * workflow (./device-job.ts), so a job of minutes holds no worker slot.
 */
export const deviceCalls = proxyLocalActivities<DeviceActivities>(SHORT_LOCAL_CALL);

/**
 * Device reads a rollback decides on, as (regular) activities: the health probes, and the read
 * that picks the rollback's step. Their answers change with time, or with the rollback itself. A
 * local activity's answer reaches history only with the workflow task that acted on it: a worker
 * killed just after starting a rollback reboot leaves its successor to read again, see the
 * rolled-back appliance healthy and call the upgrade completed. An activity's answer is in history
 * once it is read.
 */
export const recordedDeviceReads =
  proxyActivities<Pick<DeviceActivities, 'readApplianceHealth' | 'readApplianceInfo'>>(SHORT_CALL);

/** The image plan: a short read of the store's images. */
export const imagePlans = proxyLocalActivities<ImageActivities>(SHORT_LOCAL_CALL);

/** The durable record (short idempotent writes, as local activities). */
export const storeWrites = proxyLocalActivities<StoreActivities>(STORE_WRITE);

/** A task ends `failed` with this message (a rule of the task, not a crash). */
export class TaskFailed extends Error {}

/** A log line stamped with workflow time. */
export const logLine = (message: string, severity: LogLine['severity'] = 'info'): LogLine => ({
  message,
  severity,
  timestamp: Math.floor(Date.now() / 1000),
});

/** The innermost cause's message: what the device (or collector) said, not Temporal's wrapping. */
export function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && (current as { cause?: unknown }).cause instanceof Error)
    current = (current as { cause: Error }).cause;
  return current instanceof Error ? current.message : String(err);
}

/**
 * How a task tells the world where it is: its query state, its search attributes (Web UI, CLI)
 * and the store, each stage change with a log line.
 */
export type TaskRecorder<Stage extends string> = ReturnType<typeof taskRecorder<Stage>>;

export function taskRecorder<Stage extends string>(operationId: string, state: ApplianceTaskOutcome) {
  const { serial } = state;
  // Log lines, and a version learnt, since the last write: they go with the next write.
  let pending: LogLine[] = [];
  let runningVersion: Version | undefined;
  function write(changes: Partial<TaskRecord>, last: LogLine): Promise<void> {
    const logs = pending;
    const version = runningVersion;
    pending = [];
    runningVersion = undefined;
    return storeWrites.recordTaskProgress({
      operationId,
      serial,
      changes,
      ...(logs.length ? { logs } : {}),
      log: last,
      ...(version ? { running_version: version } : {}),
    });
  }
  // Arrow functions: the steps destructure them (no `this`).
  return {
    enter: async (
      status: ApplianceTaskStatus,
      stage: Stage,
      message: string,
      severity: LogLine['severity'] = 'info',
    ): Promise<void> => {
      state.status = status;
      state.stage = stage;
      if (status === 'failed' || status === 'cancelled') state.message = message;
      upsertSearchAttributes([
        { key: SA.taskStatus, value: status },
        { key: SA.taskStage, value: stage },
      ]);
      const startTime =
        stage === 'initiating' && state.taskStartMs !== undefined
          ? { task_start_time: { datetime: Math.floor(state.taskStartMs / 1000), time_type: 'utc' as const } }
          : {};
      await write(
        { status, stage, ...startTime, ...(state.message ? { message: state.message } : {}) },
        logLine(message, severity),
      );
    },
    /** A log line written now (before a long step, so the log says what the task waits for). */
    log: (message: string, severity: LogLine['severity'] = 'info'): Promise<void> =>
      write({}, logLine(message, severity)),
    /**
     * A log line written with the task's next write, which follows at once (one store write, one
     * history event, instead of two). Stamped now.
     */
    logWithNextWrite: (message: string): void => {
      pending.push(logLine(message));
    },
    /** The appliance now runs `version`: recorded with the next write. */
    setRunningVersion: (version: Version): void => {
      runningVersion = version;
    },
  };
}

export interface TaskTiming {
  taskTimeoutMs: number;
}

/** Thrown by withinTimeLimit when the limit has cancelled the work. */
export class TimeLimitReached extends Error {}

/** Runs `work`, cancelled when it has not finished within `limitMs` (a durable timer). */
export async function withinTimeLimit(limitMs: number, work: () => Promise<void>): Promise<void> {
  let reached = false;
  await CancellationScope.cancellable(async () => {
    const scope = CancellationScope.current();
    const limit = sleep(limitMs).then(() => {
      reached = true;
      scope.cancel();
    });
    limit.catch(() => undefined);
    try {
      await work();
    } catch (err) {
      if (reached) throw new TimeLimitReached(`not finished within ${formatDuration(limitMs)}`);
      throw err;
    } finally {
      scope.cancel();
    }
  });
}

/** How one run of a task's stages ended (nothing recorded yet). */
export type AttemptResult = { ok: true } | { ok: false; end: 'failed' | 'timed_out' | 'cancelled'; message: string };

/**
 * Runs the task's stages (the runner starts it when it is due); when they have not finished within
 * the time limit they are cancelled. Answers how they ended; the caller records it (endTask).
 */
export async function runAttempt(
  timing: TaskTiming,
  state: ApplianceTaskOutcome,
  stages: () => Promise<void>,
): Promise<AttemptResult> {
  try {
    await withinTimeLimit(timing.taskTimeoutMs, stages);
    return { ok: true };
  } catch (err) {
    if (err instanceof TimeLimitReached) {
      return {
        ok: false,
        end: 'timed_out',
        message: `task did not finish within ${formatDuration(timing.taskTimeoutMs)} (timed out in stage ${state.stage})`,
      };
    }
    if (err instanceof TaskFailed) return { ok: false, end: 'failed', message: err.message };
    if (isCancellation(err)) return { ok: false, end: 'cancelled', message: `cancelled in stage ${state.stage}` };
    return { ok: false, end: 'failed', message: failureMessage(err) };
  }
}

/** Records a task's final failure or cancellation; it lands even when the task itself was cancelled. */
export function endTask(
  recorder: { enter: TaskRecorder<'failed' | 'cancelled'>['enter'] },
  result: Exclude<AttemptResult, { ok: true }>,
): Promise<void> {
  const status = result.end === 'cancelled' ? 'cancelled' : 'failed';
  return CancellationScope.nonCancellable(() =>
    recorder.enter(status, status, result.message, status === 'failed' ? 'err' : 'warning'),
  );
}

/** Runs the task's stages within its time limit and records a failure or cancellation as its final state. */
export async function runTask(
  timing: TaskTiming,
  state: ApplianceTaskOutcome,
  recorder: { enter: TaskRecorder<'failed' | 'cancelled'>['enter'] },
  stages: () => Promise<void>,
): Promise<void> {
  const result = await runAttempt(timing, state, stages);
  if (!result.ok) await endTask(recorder, result);
}
