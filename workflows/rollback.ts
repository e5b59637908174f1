/**
 * Operation-level rollback (`rollback: "all"`, domain/rollout-safety.ts): when the failure
 * threshold stops an upgrade or downgrade, the appliances whose task had already succeeded are
 * returned to the version they ran before, each in a child workflow of its own (durable, its
 * device jobs exactly-once by their idempotency keys), and their tasks end `failed` saying so.
 */
import {
  ChildWorkflowCancellationType,
  executeChild,
  ParentClosePolicy,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { applianceRollbackWorkflowId, type Operation, type OperationKind } from '../domain/operation';
import { failureThresholdReached, type RolloutCounts, type RolloutPolicy } from '../domain/rollout';
import { rolledBackMessage } from '../domain/rollout-safety';
import type { ApplianceUpgradeTaskStage } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { endTask, runAttempt, taskRecorder } from './task-lifecycle';
import { returnToVersion } from './task-safety';
import { applianceTaskStateQuery, type ApplianceRollbackTaskInput, type ApplianceTaskOutcome } from './types';

/** One appliance back to the version it ran before its (successful) task; the task's record ends `failed`. */
export async function applianceRollbackTask(input: ApplianceRollbackTaskInput): Promise<ApplianceTaskOutcome> {
  const { operationId, serial, previous_version: previous, reason } = input;
  const state: ApplianceTaskOutcome = { serial, status: 'running', stage: 'rolling_back', previous_version: previous };
  setHandler(applianceTaskStateQuery, () => state);
  const recorder = taskRecorder<ApplianceUpgradeTaskStage>(operationId, state);
  const call = { operationId, serial };
  await recorder.enter('running', 'rolling_back', `${reason}; rolling back to ${previous.version_id}`, 'warning');
  let step = 'none';
  const result = await runAttempt(input, state, async () => {
    step = await returnToVersion(
      {
        call,
        kind: input.kind,
        esxi_force: input.esxi_force,
        keyPrefix: workflowInfo().workflowId,
        taskLog: recorder,
        onStopped: recorder.logWithNextWrite,
      },
      previous,
    );
  });
  if (result.ok) {
    state.current_version = previous;
    const message =
      step === 'none'
        ? `${reason}; the appliance still runs ${previous.version_id}`
        : rolledBackMessage(reason, previous);
    await endTask(recorder, { ok: false, end: 'failed', message });
  } else {
    await endTask(recorder, {
      ...result,
      message: `${reason}; rollback to ${previous.version_id} ${result.end === 'cancelled' ? 'cancelled' : `failed: ${result.message}`}`,
    });
  }
  return state;
}

export interface RollbackAfterStopInput {
  kind: OperationKind;
  operation: Operation;
  policy: RolloutPolicy;
  /** Why the rollout stopped, if it did. */
  stopReason: string | undefined;
  /** Tasks finished and failed (the failure threshold's counts). */
  counts: RolloutCounts;
  /** The operation's tasks: rolled-back ones are replaced by their rollback's outcome. */
  tasks: Map<string, ApplianceTaskOutcome>;
  taskTimeoutMs: number;
}

/**
 * With `rollback: "all"`, once the failure threshold has stopped the rollout: rolls back every
 * appliance whose task succeeded, at most `max_in_flight` at once. Does nothing otherwise.
 */
export async function rollBackAfterFailureThreshold(input: RollbackAfterStopInput): Promise<void> {
  const { kind, operation, tasks } = input;
  if (
    kind === 'reboot' ||
    operation.rollback !== 'all' ||
    !input.stopReason ||
    !failureThresholdReached(input.counts, input.policy)
  )
    return;
  const upgraded = [...tasks.values()].filter(
    (t) =>
      t.status === 'successful' &&
      t.previous_version &&
      t.previous_version.version_id !== t.current_version?.version_id,
  );
  const limit = input.policy.max_in_flight ?? upgraded.length;
  const queue = [...upgraded];
  const rollBack = async (task: ApplianceTaskOutcome): Promise<void> => {
    const outcome = await executeChild(applianceRollbackTask, {
      workflowId: applianceRollbackWorkflowId(kind, operation.id, task.serial),
      args: [
        {
          kind,
          operationId: operation.id,
          serial: task.serial,
          previous_version: task.previous_version!,
          reason: input.stopReason!,
          esxi_force: operation.esxi_force ?? false,
          taskTimeoutMs: input.taskTimeoutMs,
        },
      ],
      typedSearchAttributes: [
        { key: SA.operationId, value: operation.id },
        { key: SA.operationKind, value: kind },
        { key: SA.username, value: operation.username },
        { key: SA.serial, value: task.serial },
        { key: SA.taskStatus, value: 'running' },
        { key: SA.taskStage, value: 'rolling_back' },
      ],
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
    tasks.set(task.serial, outcome);
  };
  // `limit` workers, each rolling back the next appliance in the queue until it is empty.
  const rollBackInTurn = async (): Promise<void> => {
    for (let task = queue.shift(); task; task = queue.shift()) await rollBack(task);
  };
  await Promise.all(Array.from({ length: Math.min(limit, upgraded.length) }, rollBackInTurn));
}
