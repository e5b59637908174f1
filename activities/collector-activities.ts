/**
 * Activities of a Sumo collector upgrade task (workflows/collector-upgrade.ts): read a collector
 * (and keep its store record current), issue the upgrade with an idempotency key, wait for the
 * collector's upgrade job heartbeating, and record the task's status in the store. Device errors
 * become Temporal failures: final ones non-retryable, the rest retried.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CollectorInfo, CollectorJob } from '../domain/device-api';
import type { Logger } from '../domain/logging';
import type { FleetStore } from '../store/fleet-store';
import { DeviceClient, DeviceError } from './device-client';

export interface CollectorCallInput {
  taskId: number;
  collectorId: number;
}

export interface IssueCollectorUpgradeInput extends CollectorCallInput {
  toVersion: string;
  /** Stable across retries, so the collector is asked to upgrade once. */
  idempotencyKey: string;
}

export interface AwaitCollectorJobInput extends CollectorCallInput {
  jobId: string;
  /** `progressing`: return once the collector reports progress (or the job ended); `done`: once it ended. */
  until: 'progressing' | 'done';
  pollIntervalMs?: number;
}

function asFailure(err: unknown): unknown {
  if (err instanceof DeviceError)
    return ApplicationFailure.create({ message: err.message, type: err.code, nonRetryable: !err.retryable });
  return err;
}

export function createCollectorActivities({
  client,
  store,
  logger,
}: {
  client: DeviceClient;
  store: FleetStore;
  logger: Logger;
}) {
  const log = (input: CollectorCallInput): Logger =>
    logger.child({ collectorUpgradeTaskId: input.taskId, collectorId: input.collectorId });

  return {
    /** Reads the collector from the device API and records what it reports in the store (version, alive). */
    async refreshCollector(input: CollectorCallInput): Promise<CollectorInfo> {
      let info: CollectorInfo;
      try {
        info = await client.collector(input.collectorId);
      } catch (err) {
        throw asFailure(err);
      }
      const stored = await store.getCollector(input.collectorId);
      await store.upsertCollector({ ...stored, ...info });
      return info;
    },

    async issueCollectorUpgrade(input: IssueCollectorUpgradeInput): Promise<CollectorJob> {
      try {
        const job = await client.upgradeCollector(input.collectorId, input.toVersion, input.idempotencyKey);
        log(input).info(
          { jobId: job.id, toVersion: input.toVersion, idempotencyKey: input.idempotencyKey },
          'collector upgrade issued',
        );
        return job;
      } catch (err) {
        log(input).warn({ toVersion: input.toVersion, err: (err as Error).message }, 'collector upgrade call failed');
        throw asFailure(err);
      }
    },

    /**
     * Polls the collector's upgrade job, heartbeating, until it progresses or ends (see `until`).
     * A collector briefly unreachable is polled again; the task's time limit bounds the wait.
     */
    async awaitCollectorJob(input: AwaitCollectorJobInput): Promise<CollectorJob> {
      const ctx = Context.current();
      const pollMs = input.pollIntervalMs ?? 1000;
      for (;;) {
        try {
          const job = await client.collectorJob(input.collectorId, input.jobId);
          ctx.heartbeat({ progress: job.progress });
          if (job.state !== 'running' || (input.until === 'progressing' && job.progress > 0)) return job;
        } catch (err) {
          if (!(err instanceof DeviceError) || !err.retryable) throw asFailure(err);
          ctx.heartbeat({ unreachable: err.code });
        }
        // Rejects when the activity is cancelled (the task timed out or was cancelled).
        await ctx.sleep(pollMs);
      }
    },

    /** Records a status change of the task (run as a local activity). */
    async recordCollectorUpgradeStatus(input: {
      taskId: number;
      collectorId: number;
      status: number;
      message: string;
    }): Promise<void> {
      await store.updateCollectorUpgradeTask(input.taskId, { status: input.status, message: input.message });
      log(input).info(
        { status: input.status, ...(input.message ? { message: input.message } : {}) },
        'collector upgrade task status',
      );
    },
  };
}

export type CollectorActivities = ReturnType<typeof createCollectorActivities>;
