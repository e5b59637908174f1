/**
 * Inputs, results, queries, signals and updates shared by the operation and appliance task
 * workflows and their callers. How the operation types chain up: domain/operation.ts.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Operation, OperationKind } from '../domain/operation';
import type { ApprovalState, RolloutPolicy } from '../domain/rollout';
import type { TaskSafety } from '../domain/rollout-safety';
import type { ApplianceTaskStatus, ProductCode, Version } from '../domain/scc';

export const DEFAULT_TASK_TIMEOUT_MS = 30 * 60 * 1000;

/** What an operation workflow (upgrade, downgrade, reboot) starts with. */
export interface OperationInput {
  operation: Operation;
  /** UTC instant (epoch ms) at which tasks start; absent means at once. */
  startAtMs?: number;
  /**
   * Local-time schedules: each appliance's own UTC start instant (its wall-clock time in its time
   * zone). A task waits for its instant; `startAtMs` is then the earliest of them.
   */
  startAtBySerial?: Record<string, number>;
  /** Each appliance task fails when it has not finished within this limit (default 30 minutes). */
  taskTimeoutMs?: number;
  /** Waves, tasks in flight, failure threshold, maintenance window (domain/rollout.ts). Default: all at once. */
  rollout?: RolloutPolicy;
  /** Operations over this many appliances run their tasks in batch workflows of this size (default TASKS_PER_BATCH). */
  tasksPerBatch?: number;
}

export interface ApplianceUpgradeTaskInput {
  kind: 'upgrade' | 'downgrade';
  operationId: string;
  serial: string;
  product_code: ProductCode;
  target_version: Version;
  reboot: boolean;
  esxi_force: boolean;
  /** Each attempt's time limit. */
  taskTimeoutMs: number;
  /** Health check, rollback, retries (domain/rollout-safety.ts); none by default. */
  safety?: TaskSafety;
}

/** Operation-level rollback (`rollback: "all"`): returns one appliance whose task succeeded to the version it ran before. */
export interface ApplianceRollbackTaskInput {
  kind: 'upgrade' | 'downgrade';
  operationId: string;
  serial: string;
  previous_version: Version;
  /** Why: the rollout's stop reason. */
  reason: string;
  esxi_force: boolean;
  taskTimeoutMs: number;
}

export interface ApplianceRebootTaskInput {
  operationId: string;
  serial: string;
  switch_partition: boolean;
  /** After an upgrade or downgrade: the version the appliance must come back running. */
  expectVersion?: Version;
  taskTimeoutMs: number;
}

export interface ApplianceTaskOutcome {
  serial: string;
  status: ApplianceTaskStatus;
  /** The seed's stage enum of the task's kind (upgrade, downgrade or reboot). */
  stage: string;
  /** Epoch ms at which the task actually ran. */
  taskStartMs?: number;
  current_version?: Version;
  /** Upgrade/downgrade: the version the appliance ran before the task (what a rollback returns it to). */
  previous_version?: Version;
  message?: string;
}

/** An operation workflow's state (its query) and result. */
export interface OperationState {
  operation: Operation;
  tasks: ApplianceTaskOutcome[];
  /** No new task starts while paused; running ones go on. */
  paused: boolean;
  /** Why the rollout stopped early (failure threshold, maintenance window), when it did. */
  stop_reason?: string;
  /** Tasks by status. */
  task_counts?: Partial<Record<ApplianceTaskStatus, number>>;
  /**
   * Operations over TASKS_PER_BATCH appliances leave `tasks` empty (they are in the store and in
   * each task workflow), so no payload nears Temporal's size limit.
   */
  tasks_omitted?: boolean;
  /** The approval the rollout waits for, or the last one it had (rollout.approval). */
  approval?: ApprovalInfo;
  /** Why the rollout paused itself (success threshold, progress deadline), while paused. */
  pause_reason?: string;
}

/**
 * Extension property `approval` of a stored operation: where it stands on the approval after a
 * wave (rollout.approval). Times in seconds since the epoch.
 */
export interface ApprovalInfo {
  state: ApprovalState;
  /** The wave (from 1) after which it waits or waited. */
  after_wave: number;
  /** When it began to wait. */
  since: number;
  /** When the timeout acts, if there is one. */
  timeout_time?: number;
  /** Who approved or rejected, and when. */
  decided_by?: string;
  decided_time?: number;
}

/** An operator's answer to the approval a rollout waits for. */
export interface ApprovalDecision {
  approve: boolean;
  username: string;
}

/**
 * Approves or rejects the approval the operation waits for (rollout.approval); answers the
 * approval as recorded. Refused (validator) when the operation is not awaiting approval.
 */
export const decideApprovalUpdate = defineUpdate<ApprovalInfo, [decision: ApprovalDecision]>('decideApproval');

/** From a batch of a large operation to the operation: its tasks' progress has stalled (rollout.progress_deadline_seconds). */
export const progressStalledSignal = defineSignal<[reason: string]>('progressStalled');

export const operationStateQuery = defineQuery<OperationState>('operationState');
export const applianceTaskStateQuery = defineQuery<ApplianceTaskOutcome>('applianceTaskState');

/**
 * Pause: no new appliance task starts until resumed (running tasks go on). From a client to an
 * operation, and from a large operation to its running batches.
 */
export const pauseOperationSignal = defineSignal('pauseOperation');
export const resumeOperationSignal = defineSignal('resumeOperation');

/**
 * A reboot operation that follows an upgrade or downgrade waits for it: this tells it which
 * appliances finished their install successfully (the others are not rebooted).
 */
export interface PrecedingOutcome {
  kind: OperationKind;
  id: string;
  successful: string[];
  /** The version its appliances must come back running. */
  target_version?: Version;
}
export const precedingOperationFinishedSignal = defineSignal<[outcome: PrecedingOutcome]>('precedingOperationFinished');

/**
 * From a client (the API, the CLI) to an operation: cancel one appliance's task. One not started
 * yet never starts; a running one is cancelled (its device job is asked to stop). Answers the
 * task's status when the request was taken: a finished task keeps its final status. An appliance
 * not in the operation is refused.
 */
export const cancelApplianceTaskUpdate = defineUpdate<ApplianceTaskStatus, [serial: string]>('cancelApplianceTask');

/** From a large operation to the batch workflow running an appliance's task: that update, passed on. */
export const cancelTaskInBatchSignal = defineSignal<[serial: string]>('cancelTaskInBatch');
/** From a large operation to its running batches: the rollout stopped, start no new task. */
export const stopRolloutSignal = defineSignal<[reason: string]>('stopRollout');
