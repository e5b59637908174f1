/**
 * Activities that act on devices. Thin adapters, each one short device call (the task workflows
 * run them as local activities and wait for device jobs with durable timers), turning DeviceError
 * into a Temporal failure (final errors are non-retryable), logging with the operation id and serial.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type {
  DeviceHealth,
  DeviceInfo,
  DeviceJob,
  InstallRequest,
  PatchRequest,
  RebootRequest,
  StageImageRequest,
} from '../domain/device-api';
import type { Logger } from '../domain/logging';
import { DeviceClient, DeviceError } from './device-client';

export interface DeviceCallInput {
  operationId: string;
  serial: string;
}

/** A device job to start (idempotently): what `startDeviceJob` is given. */
export type DeviceJobStart =
  | { kind: 'stage'; request: StageImageRequest }
  | { kind: 'patch'; request: PatchRequest }
  | { kind: 'install'; request: InstallRequest }
  | { kind: 'reboot'; request: RebootRequest };

export interface StartJobInput extends DeviceCallInput {
  /** Stable across retries of the same step, so the device starts the job once. */
  idempotencyKey: string;
  job: DeviceJobStart;
}

export interface JobCallInput extends DeviceCallInput {
  jobId: string;
}

/** A read of a running job: its state, or that the device did not answer (rebooting, flapping). */
export type JobReadingResult = { reachable: true; job: DeviceJob } | { reachable: false; reason: string };

/** A health probe: the device's health, or that it did not answer (a probe that does not pass). */
export type HealthReadingResult = { reachable: true; health: DeviceHealth } | { reachable: false; reason: string };

export interface DeviceActivityOptions {
  client: DeviceClient;
  logger: Logger;
}

function asFailure(err: unknown): unknown {
  if (err instanceof DeviceError) {
    return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: !err.retryable });
  }
  return err;
}

export function createDeviceActivities({ client, logger }: DeviceActivityOptions) {
  const log = (input: DeviceCallInput): Logger =>
    logger.child({ operationId: input.operationId, serial: input.serial });

  function start(serial: string, job: DeviceJobStart, idempotencyKey: string): Promise<DeviceJob> {
    switch (job.kind) {
      case 'stage':
        return client.stage(serial, job.request, idempotencyKey);
      case 'patch':
        return client.patch(serial, job.request, idempotencyKey);
      case 'install':
        return client.install(serial, job.request, idempotencyKey);
      case 'reboot':
        return client.reboot(serial, job.request, idempotencyKey);
    }
  }

  return {
    async readApplianceInfo(input: DeviceCallInput): Promise<DeviceInfo> {
      try {
        return await client.info(input.serial, Context.current().cancellationSignal);
      } catch (err) {
        throw asFailure(err);
      }
    },

    /**
     * Starts a device job and answers at once; the task waits for it in the workflow. A retry
     * starts nothing new: the idempotency key answers the job already started.
     */
    async startDeviceJob(input: StartJobInput): Promise<DeviceJob> {
      const { job, idempotencyKey } = input;
      try {
        const started = await start(input.serial, job, idempotencyKey);
        log(input).info(
          { step: job.kind, jobId: started.id, idempotencyKey, expectedSeconds: started.expected_seconds },
          `${job.kind} started on device`,
        );
        return started;
      } catch (err) {
        log(input).warn({ step: job.kind, err: (err as Error).message }, `${job.kind} call failed`);
        throw asFailure(err);
      }
    },

    /** One read of a job. A device that does not answer for now is a reading, not a failure: the task reads again later. */
    async readDeviceJob(input: JobCallInput): Promise<JobReadingResult> {
      try {
        return {
          reachable: true,
          job: await client.job(input.serial, input.jobId, Context.current().cancellationSignal),
        };
      } catch (err) {
        if (err instanceof DeviceError && err.retryable) return { reachable: false, reason: err.message };
        throw asFailure(err);
      }
    },

    /** One health probe. A device that does not answer for now is a reading too: the probe does not pass. */
    async readApplianceHealth(input: DeviceCallInput): Promise<HealthReadingResult> {
      try {
        return { reachable: true, health: await client.health(input.serial, Context.current().cancellationSignal) };
      } catch (err) {
        if (err instanceof DeviceError && err.retryable) return { reachable: false, reason: err.message };
        throw asFailure(err);
      }
    },

    /** Asks the device to stop a job (a task cancelled, or out of time); says what the device answered. */
    async cancelDeviceJob(input: JobCallInput): Promise<string> {
      try {
        const job = await client.cancelJob(input.serial, input.jobId);
        log(input).info({ jobId: job.id, state: job.state }, 'asked the device to cancel its job');
        return job.state === 'cancelled'
          ? `the device stopped its ${job.kind} job`
          : `the device's ${job.kind} job is ${job.state}`;
      } catch (err) {
        log(input).warn({ jobId: input.jobId, err: (err as Error).message }, 'could not cancel the job on the device');
        return `could not ask the device to stop its job: ${(err as Error).message}`;
      }
    },
  };
}

export type DeviceActivities = ReturnType<typeof createDeviceActivities>;
