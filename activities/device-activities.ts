/**
 * Activities that act on devices. Thin adapters: each does one device call (or polls one job),
 * turns DeviceError into a Temporal failure (final errors are non-retryable), and logs with the
 * operation id and serial.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { DeviceInfo, DeviceJob, InstallRequest, PatchRequest, RebootRequest, StageImageRequest } from '../domain/device-api';
import type { Logger } from '../domain/logging';
import type { Arch, ProductCode, Version } from '../domain/scc';
import { DeviceClient, DeviceError } from './device-client';

export interface DeviceCallInput {
  operationId: string;
  serial: string;
}

export interface MutatingCallInput<R> extends DeviceCallInput {
  /** Stable across retries of the same step, so the device applies the step once. */
  idempotencyKey: string;
  request: R;
}

export interface AwaitJobInput extends DeviceCallInput {
  jobId: string;
  pollIntervalMs?: number;
}

/** A device job to start (idempotently) and wait for: what `runDeviceJob` is given. */
export type DeviceJobStart =
  | { kind: 'stage'; request: StageImageRequest }
  | { kind: 'patch'; request: PatchRequest }
  | { kind: 'install'; request: InstallRequest }
  | { kind: 'reboot'; request: RebootRequest };

export interface RunJobInput extends DeviceCallInput {
  /** Stable across retries of the same step, so the device starts the job once. */
  idempotencyKey: string;
  job: DeviceJobStart;
  pollIntervalMs?: number;
}

export interface ResolveImageInput extends DeviceCallInput {
  product_code: ProductCode;
  arch: Arch;
  target_version: Version;
}

export interface DeviceActivityOptions {
  client: DeviceClient;
  /** Where full images are downloaded from: `${imageBaseUrl}/{product_code}/{arch}/{version_id}.img`. */
  imageBaseUrl: string;
  logger: Logger;
}

function asFailure(err: unknown): unknown {
  if (err instanceof DeviceError) {
    return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: !err.retryable });
  }
  return err;
}

export function createDeviceActivities({ client, imageBaseUrl, logger }: DeviceActivityOptions) {
  const log = (input: DeviceCallInput): Logger => logger.child({ operationId: input.operationId, serial: input.serial });

  async function mutate(step: string, input: DeviceCallInput & { idempotencyKey: string }, call: () => Promise<DeviceJob>): Promise<DeviceJob> {
    try {
      const job = await call();
      log(input).info({ step, jobId: job.id, idempotencyKey: input.idempotencyKey }, `${step} started on device`);
      return job;
    } catch (err) {
      log(input).warn({ step, err: (err as Error).message }, `${step} call failed`);
      throw asFailure(err);
    }
  }

  async function untilJobEnds(input: DeviceCallInput, jobId: string, pollMs = 1000): Promise<DeviceJob> {
    const ctx = Context.current();
    try {
      for (;;) {
        let job: DeviceJob | undefined;
        try {
          job = await client.job(input.serial, jobId, ctx.cancellationSignal);
        } catch (err) {
          if (!(err instanceof DeviceError) || !err.retryable) throw err;
          ctx.heartbeat({ unreachable: err.code });
        }
        if (job) {
          ctx.heartbeat({ progress: job.progress });
          if (job.state === 'succeeded') return job;
          if (job.state !== 'running') {
            throw ApplicationFailure.nonRetryable(`${job.kind} job ${job.id} ${job.state}${job.message ? `: ${job.message}` : ''}`, `job.${job.state}`);
          }
        }
        await ctx.sleep(pollMs);
      }
    } catch (err) {
      if (err instanceof CancelledFailure) {
        await client.cancelJob(input.serial, jobId).then(
          (job) => log(input).info({ jobId: job.id, state: job.state }, 'asked the device to cancel its job'),
          (cancelErr: unknown) => log(input).warn({ jobId, err: (cancelErr as Error).message }, 'could not cancel the job on the device'),
        );
      }
      throw asFailure(err);
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
     * The full image of the target at FLEET_IMAGE_BASE_URL. Only tasks started before image plans
     * (activities/image-activities.ts) call this; it stays while such tasks may still be running.
     */
    async resolveUpgradeImage(input: ResolveImageInput): Promise<StageImageRequest> {
      const url = `${imageBaseUrl.replace(/\/+$/, '')}/${input.product_code}/${input.arch}/${encodeURIComponent(input.target_version.version_id)}.img`;
      return { url, target_version: input.target_version, delta: false };
    },

    stageImage(input: MutatingCallInput<StageImageRequest>): Promise<DeviceJob> {
      return mutate('stage', input, () => client.stage(input.serial, input.request, input.idempotencyKey));
    },

    patchImage(input: MutatingCallInput<PatchRequest>): Promise<DeviceJob> {
      return mutate('patch', input, () => client.patch(input.serial, input.request, input.idempotencyKey));
    },

    installImage(input: MutatingCallInput<InstallRequest>): Promise<DeviceJob> {
      return mutate('install', input, () => client.install(input.serial, input.request, input.idempotencyKey));
    },

    rebootAppliance(input: MutatingCallInput<RebootRequest>): Promise<DeviceJob> {
      return mutate('reboot', input, () => client.reboot(input.serial, input.request, input.idempotencyKey));
    },

    /**
     * Polls a device job until it ends, heartbeating its progress. A device that is briefly
     * unreachable (rebooting, flapping) is polled again; the activity's own timeouts bound the wait.
     * When the activity is cancelled, the job is cancelled on the device too.
     */
    awaitDeviceJob(input: AwaitJobInput): Promise<DeviceJob> {
      return untilJobEnds(input, input.jobId, input.pollIntervalMs);
    },

    /**
     * Starts a device job and waits for its end in one activity (half the history of a start and
     * a wait). A retry starts nothing new: the idempotency key answers the job already started.
     */
    async runDeviceJob(input: RunJobInput): Promise<DeviceJob> {
      const { serial, idempotencyKey, job } = input;
      const started = await mutate(job.kind, input, () => {
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
      });
      return untilJobEnds(input, started.id, input.pollIntervalMs);
    },
  };
}

export type DeviceActivities = ReturnType<typeof createDeviceActivities>;
