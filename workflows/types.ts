/** Inputs, results and queries shared by the operation and appliance task workflows and their callers. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RolloutPolicy } from '../domain/rollout';
import type { ApplianceTaskStatus, ProductCode, ApplianceUpgradeTaskStage, OperationStatus, UpgradeOperation, Version } from '../domain/scc';

export const DEFAULT_TASK_TIMEOUT_MS = 30 * 60 * 1000;

export interface UpgradeOperationInput {
  operation: UpgradeOperation;
  /** UTC instant (epoch ms) at which tasks start; absent means at once. */
  startAtMs?: number;
  /** Each appliance task fails when it has not finished within this limit (default 30 minutes). */
  taskTimeoutMs?: number;
  /** Waves, tasks in flight, failure threshold, maintenance window (domain/rollout.ts). Default: all at once. */
  rollout?: RolloutPolicy;
}

export interface ApplianceUpgradeTaskInput {
  operationId: string;
  serial: string;
  product_code: ProductCode;
  target_version: Version;
  reboot: boolean;
  esxi_force: boolean;
  startAtMs?: number;
  taskTimeoutMs: number;
}

export interface ApplianceTaskOutcome {
  serial: string;
  status: ApplianceTaskStatus;
  stage: ApplianceUpgradeTaskStage;
  /** Epoch ms at which the task actually ran. */
  taskStartMs?: number;
  current_version?: Version;
  message?: string;
}

export interface UpgradeOperationState {
  operation: UpgradeOperation;
  tasks: ApplianceTaskOutcome[];
  /** No new task starts while paused; running ones go on. */
  paused: boolean;
  /** Why the rollout stopped early (failure threshold, maintenance window), when it did. */
  stop_reason?: string;
}

export const upgradeOperationStateQuery = defineQuery<UpgradeOperationState>('upgradeOperationState');
export const applianceTaskStateQuery = defineQuery<ApplianceTaskOutcome>('applianceTaskState');

/**
 * Cancels one appliance's task: one not started yet never starts; a running one is cancelled (its
 * device job is asked to stop). Answers the task's status when the request was taken: a finished
 * task keeps its final status. An appliance not in the operation is refused.
 */
/** Pause: no new appliance task starts until resumed (running tasks go on). */
export const pauseOperationSignal = defineSignal('pauseOperation');
export const resumeOperationSignal = defineSignal('resumeOperation');

export const cancelApplianceTaskUpdate = defineUpdate<ApplianceTaskStatus, [serial: string]>('cancelApplianceTask');

export type { OperationStatus };
