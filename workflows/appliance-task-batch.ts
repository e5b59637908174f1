/**
 * One batch of a large operation's appliance tasks (domain/rollout.ts TASKS_PER_BATCH), run as the
 * operation workflow would run them, so that no single history holds the events of thousands of
 * child workflows. The operation passes pause/resume, a stop and single-task cancels on to it.
 */
import { getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RolloutCounts, RolloutPolicy } from '../domain/rollout';
import { cancelledDuring, TaskRunner, type TaskSpec } from './task-runner';
import {
  cancelTaskInBatchSignal,
  pauseOperationSignal,
  progressStalledSignal,
  resumeOperationSignal,
  stopRolloutSignal,
  type ApplianceTaskOutcome,
} from './types';

export interface ApplianceTaskBatchInput {
  spec: TaskSpec;
  /** The batch's tasks; the operation leaves out those cancelled before the batch started. */
  serials: string[];
  /** The operation's policy, with this batch's share of `max_in_flight` and no waves. */
  policy: RolloutPolicy;
  /** Tasks finished and failed in the operation's earlier batches. */
  counted: RolloutCounts;
  paused: boolean;
}

export interface ApplianceTaskBatchResult {
  tasks: ApplianceTaskOutcome[];
  /** This batch's own finished and failed tasks. */
  counts: RolloutCounts;
  /** Set when the batch stopped the rollout (and recorded why) or was told to stop. */
  stop_reason?: string;
}

export async function applianceTaskBatch(input: ApplianceTaskBatchInput): Promise<ApplianceTaskBatchResult> {
  let paused = input.paused;
  const runner = new TaskRunner(input.serials, {
    spec: () => input.spec,
    policy: input.policy,
    counted: input.counted,
    operationStatus: () => 'running',
    paused: () => paused,
    // The operation decides (pause or stop, for all its batches).
    onStalled: (reason) =>
      getExternalWorkflowHandle(workflowInfo().parent!.workflowId).signal(progressStalledSignal, reason),
  });
  setHandler(pauseOperationSignal, () => void (paused = true));
  setHandler(resumeOperationSignal, () => void (paused = false));
  // The operation has recorded the reason already.
  setHandler(stopRolloutSignal, (reason) => runner.stop(reason, true));
  setHandler(cancelTaskInBatchSignal, async (serial) => {
    if (runner.tasks.has(serial)) await runner.cancel(serial);
  });

  const cancelled = await cancelledDuring(() => runner.run([input.serials]));
  await runner.endUnstarted(cancelled);
  return {
    tasks: [...runner.tasks.values()],
    counts: {
      finished: runner.counts.finished - input.counted.finished,
      failed: runner.counts.failed - input.counted.failed,
    },
    ...(runner.stopReason ? { stop_reason: runner.stopReason } : {}),
  };
}
