/**
 * The worker's workflows as the client starts and finds them: by the names the worker registers
 * them under (their exports in workflows/index.ts), each checked against that export, with its
 * function's type for the arguments and result. A type-only import: no workflow code enters the
 * client.
 */
import type { OperationKind } from '../domain/operation';
import type * as workflows from '../workflows';

export type Workflows = typeof workflows;
export type WorkflowName = keyof Workflows;

/** A workflow's registered name, checked at compile time against the worker's exports. */
export const workflowName = <Name extends WorkflowName>(name: Name): Name => name;

/** Each kind of operation's workflow. */
export const OPERATION_WORKFLOWS = {
  upgrade: 'upgradeOperation',
  downgrade: 'downgradeOperation',
  reboot: 'rebootOperation',
} as const satisfies Record<OperationKind, WorkflowName>;

/** The operation workflows' function type (the three kinds share it). */
export type OperationWorkflow = Workflows[(typeof OPERATION_WORKFLOWS)[OperationKind]];
