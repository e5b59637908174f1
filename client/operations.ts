/**
 * Starting, reading and cancelling operations through the Temporal client. The one library the
 * fleet CLI and the REST API both use. Reading needs no worker: status comes from search
 * attributes, memo and closed workflows' results.
 */
import { randomInt } from 'node:crypto';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { z } from 'zod';
import type { FleetConfig } from '../domain/config';
import { applianceTaskWorkflowId, operationWorkflowId, secondsToMs } from '../domain/operation';
import { rolloutPolicy } from '../domain/rollout';
import { upgradeOperationRequest, type ApplianceTaskStatus, type ApplianceUpgradeTaskStage, type OperationStatus, type UpgradeOperation } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { cancelApplianceTaskUpdate, pauseOperationSignal, resumeOperationSignal, type ApplianceTaskOutcome, type UpgradeOperationInput, type UpgradeOperationState } from '../workflows/types';

/** A request that cannot become an operation: the message names the field. */
export class InvalidRequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InvalidRequestError';
  }
}

export class OperationNotFoundError extends Error {
  constructor(readonly operationId: string) {
    super(`no operation with id ${operationId}`);
    this.name = 'OperationNotFoundError';
  }
}

export class TaskNotFoundError extends Error {
  constructor(
    readonly operationId: string,
    readonly serial: string,
  ) {
    super(`appliance ${serial} is not part of operation ${operationId}`);
    this.name = 'TaskNotFoundError';
  }
}

export async function connectClient(config: Pick<FleetConfig, 'FLEET_TEMPORAL_ADDRESS' | 'FLEET_TEMPORAL_NAMESPACE'>): Promise<Client> {
  const connection = await Connection.connect({ address: config.FLEET_TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: config.FLEET_TEMPORAL_NAMESPACE });
}

export const OPERATION_ID_PATTERN = /^[0-9]{1,20}$/;

/** Time-ordered and numeric, as Sumo's task ids and SCC's reboot_id are. */
export function newOperationId(nowMs = Date.now()): string {
  return `${nowMs}${randomInt(0, 1000).toString().padStart(3, '0')}`;
}

export function firstIssue(error: z.ZodError): InvalidRequestError {
  const issue = error.issues[0]!;
  return new InvalidRequestError(issue.path.join('.') || 'body', issue.message);
}

export interface CreateUpgradeOptions {
  taskQueue: string;
  username: string;
  /** Extension: per-task time limit (default 30 minutes). */
  taskTimeoutMs?: number;
  nowMs?: number;
}

/** Validates an upgrade operation request and starts its workflow. Returns the operation as stored. */
export async function createUpgradeOperation(client: Client, body: unknown, options: CreateUpgradeOptions): Promise<UpgradeOperation> {
  const parsed = upgradeOperationRequest.safeParse(body);
  if (!parsed.success) throw firstIssue(parsed.error);
  const request = parsed.data;
  for (const field of ['upgrade_time', 'reboot_time'] as const) {
    if (request[field]?.time_type === 'local') {
      throw new InvalidRequestError(`${field}.time_type`, 'local-time scheduling is not available yet; use utc');
    }
  }
  if (new Set(request.appliances).size !== request.appliances.length) throw new InvalidRequestError('appliances', 'a serial is listed more than once');
  // Extension: how the operation moves through the fleet (domain/rollout.ts).
  const rollout = rolloutPolicy.optional().safeParse(request.rollout);
  if (!rollout.success) {
    const issue = rollout.error.issues[0]!;
    throw new InvalidRequestError(['rollout', ...issue.path].join('.'), issue.message);
  }

  const nowMs = options.nowMs ?? Date.now();
  const startAtMs = request.upgrade_time ? secondsToMs(request.upgrade_time.datetime) : undefined;
  const operation: UpgradeOperation = {
    ...request,
    id: newOperationId(nowMs),
    username: options.username,
    create_time: new Date(nowMs).toISOString(),
    status: startAtMs !== undefined && startAtMs > nowMs ? 'scheduled' : 'running',
  };
  const input: UpgradeOperationInput = {
    operation,
    ...(startAtMs !== undefined ? { startAtMs } : {}),
    ...(options.taskTimeoutMs !== undefined ? { taskTimeoutMs: options.taskTimeoutMs } : {}),
    ...(rollout.data ? { rollout: rollout.data } : {}),
  };
  try {
    await client.workflow.start('upgradeOperation', {
      taskQueue: options.taskQueue,
      workflowId: operationWorkflowId('upgrade', operation.id),
      args: [input],
      typedSearchAttributes: [
        { key: SA.operationId, value: operation.id },
        { key: SA.operationKind, value: 'upgrade' },
        { key: SA.productCode, value: operation.product_code },
        { key: SA.username, value: operation.username },
        { key: SA.operationStatus, value: 'scheduled' },
      ],
      memo: { operation },
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new InvalidRequestError('id', `operation ${operation.id} already exists`);
    throw err;
  }
  return operation;
}

export interface TaskView {
  serial: string;
  status: ApplianceTaskStatus;
  stage: ApplianceUpgradeTaskStage;
  message?: string;
}

export interface OperationView {
  operation: UpgradeOperation;
  tasks: TaskView[];
}

const TERMINAL: readonly OperationStatus[] = ['successful', 'partially_successful', 'failed', 'cancelled'];
export const isTerminal = (status: OperationStatus): boolean => TERMINAL.includes(status);

/** An upgrade operation and the status and stage of each appliance task, without needing a worker. */
export async function getUpgradeOperation(client: Client, operationId: string): Promise<OperationView> {
  if (!OPERATION_ID_PATTERN.test(operationId)) throw new OperationNotFoundError(operationId);
  const handle = client.workflow.getHandle(operationWorkflowId('upgrade', operationId));
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new OperationNotFoundError(operationId);
    throw err;
  }
  const memo = description.memo?.operation as UpgradeOperation | undefined;
  if (!memo) throw new OperationNotFoundError(operationId);
  const status = (description.typedSearchAttributes.get(SA.operationStatus) as OperationStatus | undefined) ?? memo.status;
  const operation: UpgradeOperation = { ...memo, status };

  const tasks = new Map<string, TaskView>(operation.appliances.map((serial) => [serial, { serial, status: 'scheduled', stage: 'waiting' }]));
  for await (const execution of client.workflow.list({ query: `${SA.operationId.name} = '${operationId}' AND WorkflowType = 'applianceUpgradeTask'` })) {
    const serial = execution.typedSearchAttributes.get(SA.serial);
    if (!serial || !tasks.has(serial)) continue;
    tasks.set(serial, {
      serial,
      status: (execution.typedSearchAttributes.get(SA.taskStatus) as ApplianceTaskStatus | undefined) ?? 'scheduled',
      stage: (execution.typedSearchAttributes.get(SA.taskStage) as ApplianceUpgradeTaskStage | undefined) ?? 'waiting',
    });
  }
  // A failed task's reason is in its result, readable from history once it has closed.
  await Promise.all(
    [...tasks.values()]
      .filter((task) => task.status === 'failed' || task.status === 'cancelled')
      .map(async (task) => {
        const outcome = await client.workflow
          .getHandle<() => Promise<ApplianceTaskOutcome>>(applianceTaskWorkflowId('upgrade', operationId, task.serial))
          .result()
          .catch(() => undefined);
        if (outcome?.message) task.message = outcome.message;
      }),
  );
  return { operation, tasks: [...tasks.values()] };
}

/** Asks the operation to stop: tasks not yet finished end `cancelled`. */
export async function cancelUpgradeOperation(client: Client, operationId: string): Promise<void> {
  if (!OPERATION_ID_PATTERN.test(operationId)) throw new OperationNotFoundError(operationId);
  try {
    await client.workflow.getHandle(operationWorkflowId('upgrade', operationId)).cancel();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new OperationNotFoundError(operationId);
    throw err;
  }
}

/**
 * Cancels one appliance's task in a running operation. Answers the task's status when the request
 * was taken (`cancelled`, or the final status of a task that had already finished).
 */
export async function cancelApplianceTask(client: Client, operationId: string, serial: string): Promise<ApplianceTaskStatus> {
  if (!OPERATION_ID_PATTERN.test(operationId)) throw new OperationNotFoundError(operationId);
  const handle = client.workflow.getHandle(operationWorkflowId('upgrade', operationId));
  let running: boolean;
  try {
    running = (await handle.describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new OperationNotFoundError(operationId);
    throw err;
  }
  if (!running) {
    // A finished operation has nothing left to cancel: its tasks keep their final status.
    const final = (await handle.result()) as UpgradeOperationState;
    const task = final.tasks.find((t) => t.serial === serial);
    if (!task) throw new TaskNotFoundError(operationId, serial);
    return task.status;
  }
  try {
    return await handle.executeUpdate(cancelApplianceTaskUpdate, { args: [serial] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new TaskNotFoundError(operationId, serial);
    throw err;
  }
}

/** Pauses (no new task starts; running ones go on) or resumes a running operation. */
export async function setOperationPaused(client: Client, operationId: string, paused: boolean): Promise<void> {
  if (!OPERATION_ID_PATTERN.test(operationId)) throw new OperationNotFoundError(operationId);
  try {
    await client.workflow.getHandle(operationWorkflowId('upgrade', operationId)).signal(paused ? pauseOperationSignal : resumeOperationSignal);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new OperationNotFoundError(operationId);
    throw err;
  }
}
