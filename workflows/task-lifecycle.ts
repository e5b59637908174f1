/**
 * What every appliance task workflow shares: its log lines, the time limit around its stages, and
 * the final record that lands even when the task is cancelled or times out.
 */
import { CancellationScope, isCancellation, proxyLocalActivities, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { DeviceActivities } from '../activities/device-activities';
import type { ImageActivities } from '../activities/image-activities';
import type { LogLine, StoreActivities } from '../activities/store-activities';
import { formatDuration } from '../domain/operation';
import type { ApplianceTaskStatus, Version } from '../domain/scc';
import type { TaskRecord } from '../store/fleet-store';
import { SA } from '../domain/search-attributes';
import type { ApplianceTaskOutcome } from './types';

const shortCall = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
  // A device that does not answer is retried after a durable timer, not a wait inside the worker.
  localRetryThreshold: '1 second',
} as const;

/**
 * Device calls: each one short request (read the device, start a job, read a job, cancel it), run
 * as local activities (one history marker each). Waiting for a job is a durable timer in the
 * workflow (./device-job.ts), so a job of minutes holds no worker slot.
 */
export const deviceCalls = proxyLocalActivities<DeviceActivities>(shortCall);

/** The image plan: a short read of the store's images. */
export const imagePlans = proxyLocalActivities<ImageActivities>(shortCall);

/** The durable record (short idempotent writes, as local activities). */
export const storeWrites = proxyLocalActivities<StoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
});

/** A task ends `failed` with this message (a rule of the task, not a crash). */
export class TaskFailed extends Error {}

/** A log line stamped with workflow time. */
export const line = (message: string, severity: LogLine['severity'] = 'info'): LogLine => ({ message, severity, timestamp: Math.floor(Date.now() / 1000) });

/** The innermost cause's message: what the device said, not Temporal's wrapping. */
export function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && (current as { cause?: unknown }).cause instanceof Error) current = (current as { cause: Error }).cause;
  return current instanceof Error ? current.message : String(err);
}

/**
 * How a task tells the world where it is: its query state, its search attributes (Web UI, CLI)
 * and the store, each stage change with a log line.
 */
export type TaskRecorder<Stage extends string> = ReturnType<typeof taskRecorder<Stage>>;

export function taskRecorder<Stage extends string>(operationId: string, state: ApplianceTaskOutcome) {
  const { serial } = state;
  // Lines noted, and a version learnt, since the last write: they go with the next write.
  let pending: LogLine[] = [];
  let runningVersion: Version | undefined;
  function write(changes: Partial<TaskRecord>, last: LogLine): Promise<void> {
    const logs = pending;
    const version = runningVersion;
    pending = [];
    runningVersion = undefined;
    return storeWrites.recordTaskProgress({ operationId, serial, changes, ...(logs.length ? { logs } : {}), log: last, ...(version ? { running_version: version } : {}) });
  }
  return {
    async enter(status: ApplianceTaskStatus, stage: Stage, message: string, severity: LogLine['severity'] = 'info'): Promise<void> {
      state.status = status;
      state.stage = stage;
      if (status === 'failed' || status === 'cancelled') state.message = message;
      upsertSearchAttributes([
        { key: SA.taskStatus, value: status },
        { key: SA.taskStage, value: stage },
      ]);
      const startTime = stage === 'initiating' && state.taskStartMs !== undefined ? { task_start_time: { datetime: Math.floor(state.taskStartMs / 1000), time_type: 'utc' as const } } : {};
      await write({ status, stage, ...startTime, ...(state.message ? { message: state.message } : {}) }, line(message, severity));
    },
    /** A log line written now (before a long step, so the log says what the task waits for). */
    log(message: string, severity: LogLine['severity'] = 'info'): Promise<void> {
      return write({}, line(message, severity));
    },
    /**
     * A log line written with the task's next write, which follows at once (one store write, one
     * history event, instead of two). Stamped now.
     */
    note(message: string): void {
      pending.push(line(message));
    },
    /** The appliance now runs `version`: recorded with the next write. */
    noteRunningVersion(version: Version): void {
      runningVersion = version;
    },
  };
}

export interface TaskTiming {
  taskTimeoutMs: number;
}

/** A task's stages ran out of their time limit. */
export class TaskTimedOut extends TaskFailed {}

/** How one run of a task's stages ended (nothing recorded yet). */
export type AttemptResult = { ok: true } | { ok: false; end: 'failed' | 'timed_out' | 'cancelled'; message: string };

/**
 * Runs the task's stages (the runner starts it when it is due); when they have not finished within
 * the time limit they are cancelled. Answers how they ended; the caller records it (endTask).
 */
export async function runAttempt(timing: TaskTiming, state: ApplianceTaskOutcome, stages: () => Promise<void>): Promise<AttemptResult> {
  try {
    let timedOut = false;
    await CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      const limit = sleep(timing.taskTimeoutMs).then(() => {
        timedOut = true;
        scope.cancel();
      });
      limit.catch(() => undefined);
      try {
        await stages();
      } catch (err) {
        if (timedOut) throw new TaskTimedOut(`task did not finish within ${formatDuration(timing.taskTimeoutMs)} (timed out in stage ${state.stage})`);
        throw err;
      } finally {
        scope.cancel();
      }
    });
    return { ok: true };
  } catch (err) {
    if (err instanceof TaskTimedOut) return { ok: false, end: 'timed_out', message: err.message };
    if (err instanceof TaskFailed) return { ok: false, end: 'failed', message: err.message };
    if (isCancellation(err)) return { ok: false, end: 'cancelled', message: `cancelled in stage ${state.stage}` };
    return { ok: false, end: 'failed', message: failureMessage(err) };
  }
}

/** Records a task's final failure or cancellation; it lands even when the task itself was cancelled. */
export function endTask(recorder: { enter: TaskRecorder<'failed' | 'cancelled'>['enter'] }, result: Exclude<AttemptResult, { ok: true }>): Promise<void> {
  const status = result.end === 'cancelled' ? 'cancelled' : 'failed';
  return CancellationScope.nonCancellable(() => recorder.enter(status, status, result.message, status === 'failed' ? 'err' : 'warning'));
}

/** Runs the task's stages within its time limit and records a failure or cancellation as its final state. */
export async function runTask(timing: TaskTiming, state: ApplianceTaskOutcome, recorder: { enter: TaskRecorder<'failed' | 'cancelled'>['enter'] }, stages: () => Promise<void>): Promise<void> {
  const result = await runAttempt(timing, state, stages);
  if (!result.ok) await endTask(recorder, result);
}
