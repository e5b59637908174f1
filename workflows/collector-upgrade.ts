/**
 * One Sumo collector upgrade (or downgrade) task, workflow id `collector-upgrade-<taskId>`. Status
 * codes as the seed defines them, each change written to the store:
 *   0 not started → 1 pending (upgrade issued, awaiting the collector) → 6 progressing → 2 succeeded
 *   any of them → 3 failed (with the reason; also when not finished within the time limit).
 * The collector goes straight to the target build in one step (the device API takes any build);
 * the seed's "increments" are the collector's own business and only make the task take longer.
 */
import { CancellationScope, defineQuery, isCancellation, proxyActivities, proxyLocalActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { CollectorActivities } from '../activities/collector-activities';
import type { CollectorJob } from '../domain/device-api';
import { formatDuration } from '../domain/operation';

/** The seed: "If an upgrade task does not complete successfully after 30 minutes, it will automatically time out with a status of failed." */
export const COLLECTOR_UPGRADE_TIMEOUT_MS = 30 * 60 * 1000;

export const COLLECTOR_UPGRADE_STATUS = { notStarted: 0, pending: 1, succeeded: 2, failed: 3, progressing: 6 } as const;
export type CollectorUpgradeStatus = (typeof COLLECTOR_UPGRADE_STATUS)[keyof typeof COLLECTOR_UPGRADE_STATUS];
const STATUS_NAME: Record<CollectorUpgradeStatus, string> = { 0: 'not started', 1: 'pending', 2: 'succeeded', 3: 'failed', 6: 'progressing' };

export interface CollectorUpgradeTaskInput {
  taskId: number;
  collectorId: number;
  toVersion: string;
  /** Extension: the task fails when not finished within this limit (default 30 minutes). */
  timeoutMs?: number;
}

export interface CollectorUpgradeTaskState {
  taskId: number;
  collectorId: number;
  toVersion: string;
  status: CollectorUpgradeStatus;
  message: string;
}

export const collectorUpgradeStateQuery = defineQuery<CollectorUpgradeTaskState>('collectorUpgradeState');

const quick = proxyActivities<CollectorActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});
/** Waiting on the collector's job: retried without a count, the task's time limit bounds it. */
const waiting = proxyActivities<CollectorActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
const record = proxyLocalActivities<CollectorActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumInterval: '10 seconds' },
});

/** The task ends failed with this message (a rule of the task, not a crash). */
class UpgradeFailed extends Error {}

/** The innermost cause's message: what the collector said, not Temporal's wrapping. */
function causeMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && (current as { cause?: unknown }).cause instanceof Error) current = (current as { cause: Error }).cause;
  return current instanceof Error ? current.message : String(err);
}

export async function collectorUpgradeTask(input: CollectorUpgradeTaskInput): Promise<CollectorUpgradeTaskState> {
  const { taskId, collectorId, toVersion } = input;
  const timeoutMs = input.timeoutMs ?? COLLECTOR_UPGRADE_TIMEOUT_MS;
  const state: CollectorUpgradeTaskState = { taskId, collectorId, toVersion, status: 0, message: '' };
  setHandler(collectorUpgradeStateQuery, () => state);
  const call = { taskId, collectorId };

  async function enter(status: CollectorUpgradeStatus, message = ''): Promise<void> {
    state.status = status;
    state.message = message;
    await record.recordCollectorUpgradeStatus({ ...call, status, message });
  }

  async function upgrade(): Promise<void> {
    const before = await quick.refreshCollector(call);
    if (before.collectorType !== 'Installable') throw new UpgradeFailed(`collector ${collectorId} is a ${before.collectorType} collector`);
    if (!before.alive) throw new UpgradeFailed(`collector ${collectorId} is not alive`);
    let job: CollectorJob = await quick.issueCollectorUpgrade({ ...call, toVersion, idempotencyKey: `${workflowInfo().workflowId}:upgrade:${toVersion}` });
    await enter(COLLECTOR_UPGRADE_STATUS.pending);
    if (job.state === 'running' && job.progress === 0) job = await waiting.awaitCollectorJob({ ...call, jobId: job.id, until: 'progressing' });
    if (job.state === 'running') {
      await enter(COLLECTOR_UPGRADE_STATUS.progressing);
      job = await waiting.awaitCollectorJob({ ...call, jobId: job.id, until: 'done' });
    }
    if (job.state !== 'succeeded') throw new UpgradeFailed(`the collector's upgrade to ${toVersion} ${job.state}${job.message ? `: ${job.message}` : ''}`);
    const after = await quick.refreshCollector(call);
    if (after.collectorVersion !== toVersion) throw new UpgradeFailed(`the collector reports version ${after.collectorVersion} after its upgrade to ${toVersion}`);
    await enter(COLLECTOR_UPGRADE_STATUS.succeeded);
  }

  let timedOut = false;
  try {
    await CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      const limit = sleep(timeoutMs).then(() => {
        timedOut = true;
        scope.cancel();
      });
      limit.catch(() => undefined);
      try {
        await upgrade();
      } finally {
        scope.cancel();
      }
    });
  } catch (err) {
    const message = timedOut
      ? `timed out: the upgrade to ${toVersion} did not complete within ${formatDuration(timeoutMs)} (status was ${state.status} ${STATUS_NAME[state.status]})`
      : err instanceof UpgradeFailed
        ? err.message
        : isCancellation(err)
          ? `the upgrade task was cancelled (status was ${state.status} ${STATUS_NAME[state.status]})`
          : causeMessage(err);
    // The final record must land even when the workflow itself was cancelled.
    await CancellationScope.nonCancellable(() => enter(COLLECTOR_UPGRADE_STATUS.failed, message));
  }
  return state;
}
