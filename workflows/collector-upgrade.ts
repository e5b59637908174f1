/**
 * One Sumo collector upgrade (or downgrade) task, workflow id `collector-upgrade-<taskId>`. Status
 * codes as the seed defines them, each change written to the store:
 *   0 not started → 1 pending (upgrade issued, awaiting the collector) → 6 progressing → 2 succeeded
 *   any of them → 3 failed (with the reason; also when not finished within the time limit).
 * The collector goes straight to the target build in one step (the device API takes any build);
 * the seed's "increments" are the collector's own business and only make the task take longer.
 */
import {
  CancellationScope,
  defineQuery,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { CollectorActivities } from '../activities/collector-activities';
import type { CollectorJob } from '../domain/device-api';
import { formatDuration } from '../domain/operation';
import type { UPGRADE_TASK_STATUS, UpgradeTaskStatusCode } from '../domain/sumo';
import { failureMessage, SHORT_CALL, STORE_WRITE, TimeLimitReached, withinTimeLimit } from './task-lifecycle';

/** The seed: "If an upgrade task does not complete successfully after 30 minutes, it will automatically time out with a status of failed." */
export const COLLECTOR_UPGRADE_TIMEOUT_MS = 30 * 60 * 1000;

/**
 * The seed's status codes by name: domain/sumo.ts UPGRADE_TASK_STATUS, checked to be the same. Not
 * imported as a value: that module brings zod, which the workflow bundle does without.
 */
export const COLLECTOR_UPGRADE_STATUS = {
  notStarted: 0,
  pending: 1,
  succeeded: 2,
  failed: 3,
  progressing: 6,
} as const satisfies typeof UPGRADE_TASK_STATUS;
export type CollectorUpgradeStatus = UpgradeTaskStatusCode;
const STATUS_NAME: Record<CollectorUpgradeStatus, string> = {
  0: 'not started',
  1: 'pending',
  2: 'succeeded',
  3: 'failed',
  6: 'progressing',
};

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

/** Short calls to the collector: read it, issue its upgrade. */
const collectorCalls = proxyActivities<CollectorActivities>(SHORT_CALL);
/** Waiting on the collector's job: retried without a count, the task's time limit bounds it. */
const collectorJobWaits = proxyActivities<CollectorActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: SHORT_CALL.retry.initialInterval, maximumInterval: SHORT_CALL.retry.maximumInterval },
});
/** The task's record in the store (as local activities). */
const collectorStoreWrites = proxyLocalActivities<CollectorActivities>(STORE_WRITE);

/** The task ends failed with this message (a rule of the task, not a crash). */
class UpgradeFailed extends Error {}

export async function collectorUpgradeTask(input: CollectorUpgradeTaskInput): Promise<CollectorUpgradeTaskState> {
  const { taskId, collectorId, toVersion } = input;
  const timeoutMs = input.timeoutMs ?? COLLECTOR_UPGRADE_TIMEOUT_MS;
  const state: CollectorUpgradeTaskState = {
    taskId,
    collectorId,
    toVersion,
    status: COLLECTOR_UPGRADE_STATUS.notStarted,
    message: '',
  };
  setHandler(collectorUpgradeStateQuery, () => state);
  const call = { taskId, collectorId };

  async function enter(status: CollectorUpgradeStatus, message = ''): Promise<void> {
    state.status = status;
    state.message = message;
    await collectorStoreWrites.recordCollectorUpgradeStatus({ ...call, status, message });
  }

  async function upgrade(): Promise<void> {
    const before = await collectorCalls.refreshCollector(call);
    if (before.collectorType !== 'Installable')
      throw new UpgradeFailed(`collector ${collectorId} is a ${before.collectorType} collector`);
    if (!before.alive) throw new UpgradeFailed(`collector ${collectorId} is not alive`);
    const idempotencyKey = `${workflowInfo().workflowId}:upgrade:${toVersion}`;
    let job: CollectorJob = await collectorCalls.issueCollectorUpgrade({ ...call, toVersion, idempotencyKey });
    await enter(COLLECTOR_UPGRADE_STATUS.pending);
    if (job.state === 'running' && job.progress === 0)
      job = await collectorJobWaits.awaitCollectorJob({ ...call, jobId: job.id, until: 'progressing' });
    if (job.state === 'running') {
      await enter(COLLECTOR_UPGRADE_STATUS.progressing);
      job = await collectorJobWaits.awaitCollectorJob({ ...call, jobId: job.id, until: 'done' });
    }
    if (job.state !== 'succeeded')
      throw new UpgradeFailed(
        `the collector's upgrade to ${toVersion} ${job.state}${job.message ? `: ${job.message}` : ''}`,
      );
    const after = await collectorCalls.refreshCollector(call);
    if (after.collectorVersion !== toVersion)
      throw new UpgradeFailed(
        `the collector reports version ${after.collectorVersion} after its upgrade to ${toVersion}`,
      );
    await enter(COLLECTOR_UPGRADE_STATUS.succeeded);
  }

  try {
    await withinTimeLimit(timeoutMs, upgrade);
  } catch (err) {
    // The final record must land even when the workflow itself was cancelled.
    await CancellationScope.nonCancellable(() =>
      enter(COLLECTOR_UPGRADE_STATUS.failed, failure(err, state, timeoutMs)),
    );
  }
  return state;
}

/** Why the task failed, in the words its record keeps. */
function failure(err: unknown, state: CollectorUpgradeTaskState, timeoutMs: number): string {
  const was = `status was ${state.status} ${STATUS_NAME[state.status]}`;
  if (err instanceof TimeLimitReached) {
    return `timed out: the upgrade to ${state.toVersion} did not complete within ${formatDuration(timeoutMs)} (${was})`;
  }
  if (err instanceof UpgradeFailed) return err.message;
  if (isCancellation(err)) return `the upgrade task was cancelled (${was})`;
  return failureMessage(err);
}
