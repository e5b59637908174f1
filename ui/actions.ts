/**
 * The buttons of the operator actions, as data: each says where it posts, when it is offered and
 * what to say once it is done. A new action (approve, retry) is one more entry. Every role sees
 * the same buttons: the API decides, and a refusal (403 for a read-only key) is shown as answered.
 */
import { isFinished, type KindedOperation, type Task } from './types';

export interface Action<Target> {
  /** `data-action` of the button (tests and styles). */
  id: string;
  label: string;
  /** The POST path under the SCC prefix. */
  path: (target: Target) => string;
  offered: (target: Target) => boolean;
  /** Asked before posting (window.confirm). */
  confirm?: (target: Target) => string;
  done: (target: Target) => string;
  danger?: boolean;
}

const operationPath = (op: KindedOperation): string => `/operations/${op.kind}/${op.id}`;
const awaitingApproval = (op: KindedOperation): boolean => !isFinished(op.status) && op.approval?.state === 'awaiting';

export const OPERATION_ACTIONS: Action<KindedOperation>[] = [
  {
    id: 'approve',
    label: 'Approve next wave',
    path: (op) => `${operationPath(op)}/approve`,
    offered: awaitingApproval,
    done: (op) => `${op.kind} ${op.id}: approved after wave ${op.approval?.after_wave}`,
  },
  {
    id: 'reject',
    label: 'Reject',
    path: (op) => `${operationPath(op)}/reject`,
    offered: awaitingApproval,
    confirm: (op) => `Reject ${op.kind} operation ${op.id}? The rollout stops; tasks not started end cancelled.`,
    done: (op) => `${op.kind} ${op.id}: rejected after wave ${op.approval?.after_wave}`,
    danger: true,
  },
  {
    id: 'pause',
    label: 'Pause',
    path: (op) => `${operationPath(op)}/pause`,
    offered: (op) => !isFinished(op.status) && op.paused !== true,
    done: (op) => `${op.kind} ${op.id}: pause requested (no new task starts; running ones go on)`,
  },
  {
    id: 'resume',
    label: 'Resume',
    path: (op) => `${operationPath(op)}/resume`,
    offered: (op) => !isFinished(op.status) && op.paused === true,
    done: (op) => `${op.kind} ${op.id}: resume requested`,
  },
  {
    id: 'cancel',
    label: 'Cancel operation',
    path: (op) => `${operationPath(op)}/cancel`,
    offered: (op) => !isFinished(op.status),
    confirm: (op) => `Cancel ${op.kind} operation ${op.id}? Tasks not finished end cancelled.`,
    done: (op) => `${op.kind} ${op.id}: cancel requested`,
    danger: true,
  },
  {
    id: 'retry',
    label: 'Retry what did not succeed',
    path: (op) => `${operationPath(op)}/retry`,
    offered: (op) => ['partially_successful', 'failed', 'cancelled'].includes(op.status) && op.retried_by === undefined,
    confirm: (op) => `Start a new ${op.kind} operation over the appliances of ${op.id} whose tasks did not succeed?`,
    done: (op) => `${op.kind} ${op.id}: retry started`,
  },
];

export interface TaskTarget {
  operation: KindedOperation;
  task: Task;
}

export const TASK_ACTIONS: Action<TaskTarget>[] = [
  {
    id: 'cancel-task',
    label: 'Cancel',
    path: ({ operation, task }) => `${operationPath(operation)}/appliances/${task.serial}/cancel`,
    offered: ({ task }) => !isFinished(task.status),
    confirm: ({ task }) => `Cancel the task of appliance ${task.serial}?`,
    done: ({ task }) => `${task.serial}: cancel requested`,
    danger: true,
  },
];
