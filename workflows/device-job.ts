/**
 * Runs one device job (download, patch, install, reboot) for an appliance task: a short call starts
 * it, then the workflow sleeps on durable timers between short reads (domain/device-job-wait.ts),
 * so the job's minutes hold no worker slot. When the task is cancelled or out of time, the device
 * is asked to stop the job before the task records its end.
 */
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { DeviceCallInput, DeviceJobStart, JobReadingResult } from '../activities/device-activities';
import { nextPollDelayMs } from '../domain/device-job-wait';
import { deviceCalls, TaskFailed } from './task-lifecycle';

export interface DeviceJobOptions {
  /** Stable across retries and replays of this step, so the device starts the job once. */
  idempotencyKey: string;
  /** Told what the device answered when it was asked to stop the job. */
  onStopped?: (message: string) => void;
  /** Called once the device has taken the job, before the wait. */
  onStarted?: () => Promise<void>;
}

export async function runDeviceJob(
  call: DeviceCallInput,
  job: DeviceJobStart,
  options: DeviceJobOptions,
): Promise<void> {
  const startedAtMs = Date.now();
  const started = await deviceCalls.startDeviceJob({ ...call, idempotencyKey: options.idempotencyKey, job });
  const expectedMs = started.expected_seconds !== undefined ? started.expected_seconds * 1000 : undefined;
  let reading: JobReadingResult = { reachable: true, job: started };
  try {
    await options.onStarted?.();
    for (let reads = 0; !finished(reading); reads++) {
      const progress = reading.reachable ? reading.job.progress : undefined;
      const delayMs = nextPollDelayMs({
        reads,
        elapsedMs: Date.now() - startedAtMs,
        ...(progress !== undefined ? { progress } : {}),
        ...(expectedMs !== undefined ? { expectedMs } : {}),
      });
      if (delayMs > 0) await sleep(delayMs);
      reading = await deviceCalls.readDeviceJob({ ...call, jobId: started.id });
    }
  } catch (err) {
    if (isCancellation(err)) {
      const answer = await CancellationScope.nonCancellable(() =>
        deviceCalls.cancelDeviceJob({ ...call, jobId: started.id }),
      );
      options.onStopped?.(answer);
    }
    throw err;
  }
}

/** True once the job has succeeded; a job that failed or was cancelled on the device fails the task. */
function finished(reading: JobReadingResult): boolean {
  if (!reading.reachable) return false;
  const { job } = reading;
  if (job.state === 'succeeded') return true;
  if (job.state === 'running') return false;
  throw new TaskFailed(`${job.kind} job ${job.id} ${job.state}${job.message ? `: ${job.message}` : ''}`);
}
