/**
 * Starting, reading and cancelling operations through the Temporal client. The one library the
 * fleet CLI and the REST API both use. Reading needs no worker: status comes from search
 * attributes, memo and closed workflows' results.
 */
import { randomInt } from 'node:crypto';
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { z } from 'zod';
import type { FleetConfig } from '../domain/config';
import {
  applianceRollbackWorkflowId,
  applianceTaskWorkflowId,
  OPERATION_TIME_FIELD,
  operationWorkflowId,
  secondsToMs,
  type Operation,
  type OperationKind,
} from '../domain/operation';
import type { HealthCheckPolicy, RolloutPolicy } from '../domain/operation-schemas';
import { healthCheckRefusal } from '../domain/rollout-safety';
import { scheduleForAppliances, ScheduleError } from '../domain/schedule';
import {
  downgradeOperationRequest,
  OPERATION_READ_ONLY,
  rebootOperationRequest,
  upgradeOperationRequest,
  withoutReadOnly,
  type ApplianceTaskStatus,
  type OperationStatus,
  type ProductCode,
  type ScheduledTime,
} from '../domain/scc';
import { firstFieldIssue } from '../domain/validation';
import type { IneligibleAppliance } from '../store/fleet-facts';
import { SA } from '../domain/search-attributes';
import type { OperationRecord, TaskRecord } from '../store/fleet-store';
import {
  cancelApplianceTaskUpdate,
  decideApprovalUpdate,
  DEFAULT_TASK_TIMEOUT_MS,
  pauseOperationSignal,
  resumeOperationSignal,
  type ApprovalDecision,
  type ApprovalInfo,
  type OperationInput,
} from '../workflows/types';
import { OPERATION_WORKFLOWS, workflowName, type OperationWorkflow, type Workflows } from './workflows';

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

export async function connectClient(
  config: Pick<FleetConfig, 'FLEET_TEMPORAL_ADDRESS' | 'FLEET_TEMPORAL_NAMESPACE'>,
): Promise<Client> {
  const connection = await Connection.connect({ address: config.FLEET_TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: config.FLEET_TEMPORAL_NAMESPACE });
}

export const OPERATION_ID_PATTERN = /^[0-9]{1,20}$/;

/** Time-ordered and numeric, as Sumo's task ids and SCC's reboot_id are. */
export function newOperationId(nowMs = Date.now()): string {
  return `${nowMs}${randomInt(0, 1000).toString().padStart(3, '0')}`;
}

function firstIssue(error: z.ZodError): InvalidRequestError {
  const { field, message } = firstFieldIssue(error);
  return new InvalidRequestError(field, message);
}

export interface CreateOperationOptions {
  taskQueue: string;
  username: string;
  nowMs?: number;
  /**
   * The appliances' time zones, for schedules in local time. Without it a local-time schedule is
   * refused (the API passes the inventory's).
   */
  timeZones?: (serials: readonly string[]) => Promise<ReadonlyMap<string, string | undefined>>;
  /**
   * The requested appliances that may not be part of the operation, with the seed's exception
   * category (store/fleet-facts.ts ineligibleAppliances). Any: the request is refused. Without it,
   * eligibility is checked only when each task starts.
   */
  eligibility?: (
    kind: OperationKind,
    request: { appliances: readonly string[]; product_code?: ProductCode; target_version?: { version_id: string } },
  ) => Promise<readonly IneligibleAppliance[]>;
  /** The operation this one retries (retryOperation): its `retry_of`. */
  retryOf?: string;
}

/** At most this many refused appliances are named in the error; the rest are counted. */
const NAMED_REFUSALS = 20;

function refusal(kind: OperationKind, refused: readonly IneligibleAppliance[]): InvalidRequestError {
  const named = refused.slice(0, NAMED_REFUSALS).map((r) => `${r.serial} (${r.category})`);
  const more = refused.length > NAMED_REFUSALS ? ` and ${refused.length - NAMED_REFUSALS} more` : '';
  return new InvalidRequestError(
    'appliances',
    `${refused.length} appliance(s) cannot be part of this ${kind} operation: ${named.join(', ')}${more}`,
  );
}

/** The UTC start instants of a schedule: one for the operation, and one per appliance for local time. */
async function startInstants(
  field: string,
  scheduled: ScheduledTime | undefined,
  appliances: readonly string[],
  options: CreateOperationOptions,
): Promise<{ startAtMs?: number; startAtBySerial?: Record<string, number> }> {
  if (!scheduled) return {};
  if (scheduled.time_type === 'utc') return { startAtMs: secondsToMs(scheduled.datetime) };
  if (!options.timeZones)
    throw new InvalidRequestError(
      `${field}.time_type`,
      "local time needs the appliances' time zones from the inventory",
    );
  const zones = await options.timeZones(appliances);
  let starts;
  try {
    starts = scheduleForAppliances(
      scheduled,
      appliances.map((serial) => ({ serial, time_zone: zones.get(serial) })),
    );
  } catch (err) {
    if (err instanceof ScheduleError)
      throw new InvalidRequestError(`${field}.time_type`, `${err.message}; use utc or fix the inventory`);
    throw err;
  }
  const startAtBySerial = Object.fromEntries(starts.map((s) => [s.serial, s.startAtMs]));
  return { startAtMs: Math.min(...Object.values(startAtBySerial)), startAtBySerial };
}

const REQUESTS = {
  upgrade: upgradeOperationRequest,
  downgrade: downgradeOperationRequest,
  reboot: rebootOperationRequest,
} as const;

/** A created operation, with each appliance's start instant when it is scheduled in local time. */
export interface Created {
  operation: Operation;
  startAtBySerial?: Record<string, number>;
}

/**
 * Validates an operation request of any kind and starts its workflow. An upgrade or downgrade
 * with `reboot` and a `reboot_time` also creates its reboot operation (returned as `linked`,
 * referenced by `reboot_id`), which reboots the appliances whose install succeeded.
 */
/** An operation request as the service keeps it: read-only properties a client sent back dropped. */
type OperationRequest = Record<string, unknown> & {
  appliances: string[];
  reboot?: boolean;
  reboot_time?: ScheduledTime;
  rollout?: RolloutPolicy;
  task_timeout?: number;
  health_check?: HealthCheckPolicy;
};

/** The request checked on its own (before the fleet's state is): the first problem is a 400 naming the field. */
function validRequest(kind: OperationKind, body: unknown): { request: OperationRequest; deferredReboot: boolean } {
  const parsed = REQUESTS[kind].safeParse(body);
  if (!parsed.success) throw firstIssue(parsed.error);
  // Read-only properties a client sent back are ignored: the service sets them.
  const request = withoutReadOnly(parsed.data as Record<string, unknown>, OPERATION_READ_ONLY) as OperationRequest;
  if (new Set(request.appliances).size !== request.appliances.length)
    throw new InvalidRequestError('appliances', 'a serial is listed more than once');
  const deferredReboot = kind !== 'reboot' && request.reboot_time !== undefined;
  if (deferredReboot && request.reboot !== true)
    throw new InvalidRequestError('reboot_time', `a reboot_time needs reboot: true`);
  const healthRefusal =
    request.health_check &&
    healthCheckRefusal(request.health_check, {
      reboot: request.reboot === true,
      deferredReboot,
      taskTimeoutSeconds: request.task_timeout ?? DEFAULT_TASK_TIMEOUT_MS / 1000,
    });
  if (healthRefusal) throw new InvalidRequestError('health_check', healthRefusal);
  return { request, deferredReboot };
}

type StartInstants = Awaited<ReturnType<typeof startInstants>>;

/** What a new operation and its linked reboot operation share. */
interface NewOperation {
  kind: OperationKind;
  id: string;
  request: OperationRequest;
  base: Pick<Operation, 'username' | 'create_time' | 'status'>;
  limits: { taskTimeoutMs?: number };
}

/** The reboot operation of an upgrade or downgrade with a reboot_time, started first so the hand-over finds it. */
async function startLinkedReboot(
  client: Client,
  created: NewOperation,
  nowMs: number,
  options: CreateOperationOptions,
): Promise<{ linked: Operation; rebootStarts: StartInstants }> {
  const { kind, id, request, base, limits } = created;
  const rebootStarts = await startInstants('reboot_time', request.reboot_time, request.appliances, options);
  const linked: Operation = {
    id: newOperationId(nowMs + 1),
    ...base,
    switch_partition: true,
    reboot_time: request.reboot_time,
    comment: `reboot after ${kind} ${id}`,
    [kind === 'upgrade' ? 'upgrade_id' : 'downgrade_id']: id,
    appliances: request.appliances,
  };
  await startOperationWorkflow(client, 'reboot', { operation: linked, ...rebootStarts, ...limits }, options.taskQueue);
  return { linked, rebootStarts };
}

/** Starts the operation's workflow; when it cannot start, its linked reboot operation (which would wait forever) is cancelled. */
async function startOrUndo(
  client: Client,
  kind: OperationKind,
  input: OperationInput,
  linked: Operation | undefined,
  taskQueue: string,
): Promise<void> {
  try {
    await startOperationWorkflow(client, kind, input, taskQueue);
  } catch (err) {
    if (linked)
      await client.workflow
        .getHandle(operationWorkflowId('reboot', linked.id))
        .cancel()
        .catch(() => undefined);
    throw err;
  }
}

const createdAs = (operation: Operation, at: StartInstants): Created => ({
  operation,
  ...(at.startAtBySerial ? { startAtBySerial: at.startAtBySerial } : {}),
});

/**
 * Validates an operation request of any kind and starts its workflow. An upgrade or downgrade
 * with `reboot` and a `reboot_time` also creates its reboot operation (returned as `linked`,
 * referenced by `reboot_id`), which reboots the appliances whose install succeeded.
 */
export async function createOperation(
  client: Client,
  kind: OperationKind,
  body: unknown,
  options: CreateOperationOptions,
): Promise<Created & { linked?: Created }> {
  const { request, deferredReboot } = validRequest(kind, body);
  const nowMs = options.nowMs ?? Date.now();
  const timeField = OPERATION_TIME_FIELD[kind];
  const starts = await startInstants(
    timeField,
    request[timeField] as ScheduledTime | undefined,
    request.appliances,
    options,
  );
  // The fleet's state is checked once the request itself is known to be valid.
  if (options.eligibility) {
    const refused = await options.eligibility(kind, request);
    if (refused.length) throw refusal(kind, refused);
  }
  const created: NewOperation = {
    kind,
    id: newOperationId(nowMs),
    request,
    base: { username: options.username, create_time: new Date(nowMs).toISOString(), status: 'scheduled' },
    // Extensions: each task's time limit (default 30 minutes).
    limits: request.task_timeout !== undefined ? { taskTimeoutMs: secondsToMs(request.task_timeout) } : {},
  };
  const reboot = deferredReboot ? await startLinkedReboot(client, created, nowMs, options) : undefined;
  const operation: Operation = {
    ...request,
    id: created.id,
    ...created.base,
    status: starts.startAtMs !== undefined && starts.startAtMs > nowMs ? 'scheduled' : 'running',
    ...(reboot ? { reboot_id: Number(reboot.linked.id) } : {}),
    ...(options.retryOf !== undefined ? { retry_of: options.retryOf } : {}),
  };
  // How the operation moves through the fleet (domain/rollout.ts).
  const input: OperationInput = {
    operation,
    ...starts,
    ...created.limits,
    ...(request.rollout ? { rollout: request.rollout } : {}),
  };
  await startOrUndo(client, kind, input, reboot?.linked, options.taskQueue);
  return {
    ...createdAs(operation, starts),
    ...(reboot ? { linked: createdAs(reboot.linked, reboot.rebootStarts) } : {}),
  };
}

async function startOperationWorkflow(
  client: Client,
  kind: OperationKind,
  input: OperationInput,
  taskQueue: string,
): Promise<void> {
  const { operation } = input;
  try {
    await client.workflow.start<OperationWorkflow>(OPERATION_WORKFLOWS[kind], {
      taskQueue,
      workflowId: operationWorkflowId(kind, operation.id),
      args: [input],
      typedSearchAttributes: [
        { key: SA.operationId, value: operation.id },
        { key: SA.operationKind, value: kind },
        ...(operation.product_code ? [{ key: SA.productCode, value: operation.product_code }] : []),
        { key: SA.username, value: operation.username },
        { key: SA.operationStatus, value: 'scheduled' },
      ],
      memo: { operation },
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new InvalidRequestError('id', `operation ${operation.id} already exists`);
    throw err;
  }
}

/** One appliance task as a reader sees it. */
export interface TaskView {
  serial: string;
  status: ApplianceTaskStatus;
  /** The stage enum of the operation's kind. */
  stage: string;
  message?: string;
  /** When it actually started (epoch ms; read from the store). */
  startedMs?: number;
}

/**
 * An operation and its tasks at one moment, as the CLI and the API show them: read from Temporal
 * (getOperation) or from the store (client/operation-progress.ts readStoredView).
 */
export interface OperationView {
  kind: OperationKind;
  operation: Operation;
  tasks: TaskView[];
  /** Why the rollout holds now (search attribute FleetRolloutHold): awaiting approval, or paused (from Temporal). */
  hold?: string;
  /** When the store last changed the operation (epoch ms): its end, once it has finished (from the store). */
  updatedMs?: number;
}

const TERMINAL: readonly OperationStatus[] = ['successful', 'partially_successful', 'failed', 'cancelled'];
export const isTerminal = (status: OperationStatus): boolean => TERMINAL.includes(status);

/** An operation and the status and stage of each appliance task, without needing a worker. */
export async function getOperation(
  client: Client,
  operationId: string,
  kind: OperationKind = 'upgrade',
): Promise<OperationView> {
  if (!OPERATION_ID_PATTERN.test(operationId)) throw new OperationNotFoundError(operationId);
  const handle = client.workflow.getHandle(operationWorkflowId(kind, operationId));
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new OperationNotFoundError(operationId);
    throw err;
  }
  const memo = description.memo?.operation as Operation | undefined;
  if (!memo) throw new OperationNotFoundError(operationId);
  const status =
    (description.typedSearchAttributes.get(SA.operationStatus) as OperationStatus | undefined) ?? memo.status;
  const operation: Operation = { ...memo, status };

  const tasks = new Map<string, TaskView>(
    operation.appliances.map((serial) => [serial, { serial, status: 'scheduled', stage: 'waiting' }]),
  );
  // An appliance rolled back after the rollout stopped (rollback: "all") shows its rollback, not its task.
  const rolledBack = new Set<string>();
  const rollbackTask = workflowName('applianceRollbackTask');
  const taskWorkflows =
    kind === 'reboot' ? [workflowName('applianceRebootTask')] : [workflowName('applianceUpgradeTask'), rollbackTask];
  const types = taskWorkflows.map((name) => `'${name}'`).join(', ');
  for await (const execution of client.workflow.list({
    query: `${SA.operationId.name} = '${operationId}' AND WorkflowType IN (${types})`,
  })) {
    const serial = execution.typedSearchAttributes.get(SA.serial);
    if (!serial || !tasks.has(serial) || rolledBack.has(serial)) continue;
    if (execution.type === rollbackTask) rolledBack.add(serial);
    tasks.set(serial, {
      serial,
      status: (execution.typedSearchAttributes.get(SA.taskStatus) as ApplianceTaskStatus | undefined) ?? 'scheduled',
      stage: execution.typedSearchAttributes.get(SA.taskStage) ?? 'waiting',
    });
  }
  // A failed task's reason is in its result, readable from history once it has closed.
  await Promise.all(
    [...tasks.values()]
      .filter((task) => task.status === 'failed' || task.status === 'cancelled')
      .map(async (task) => {
        const outcome = await client.workflow
          .getHandle<Workflows['applianceUpgradeTask']>(
            (rolledBack.has(task.serial) ? applianceRollbackWorkflowId : applianceTaskWorkflowId)(
              kind,
              operationId,
              task.serial,
            ),
          )
          .result()
          .catch(() => undefined);
        if (outcome?.message) task.message = outcome.message;
      }),
  );
  const hold = description.typedSearchAttributes.get(SA.rolloutHold);
  return { kind, operation, tasks: [...tasks.values()], ...(hold && hold !== 'none' ? { hold } : {}) };
}

/** Asks the operation to stop: tasks not yet finished end `cancelled`. */
export async function cancelOperation(
  client: Client,
  operationId: string,
  kind: OperationKind = 'upgrade',
): Promise<void> {
  if (!OPERATION_ID_PATTERN.test(operationId)) throw new OperationNotFoundError(operationId);
  try {
    await client.workflow.getHandle(operationWorkflowId(kind, operationId)).cancel();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new OperationNotFoundError(operationId);
    throw err;
  }
}

/** The operation's workflow and whether it still runs; OperationNotFoundError when there is none. */
async function operationHandle(client: Client, operationId: string, kind: OperationKind) {
  if (!OPERATION_ID_PATTERN.test(operationId)) throw new OperationNotFoundError(operationId);
  const handle = client.workflow.getHandle<OperationWorkflow>(operationWorkflowId(kind, operationId));
  try {
    return { handle, running: (await handle.describe()).status.name === 'RUNNING' };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new OperationNotFoundError(operationId);
    throw err;
  }
}

/**
 * Cancels one appliance's task in a running operation. Answers the task's status when the request
 * was taken (`cancelled`, or the final status of a task that had already finished).
 */
export async function cancelApplianceTask(
  client: Client,
  operationId: string,
  serial: string,
  kind: OperationKind = 'upgrade',
): Promise<ApplianceTaskStatus> {
  const { handle, running } = await operationHandle(client, operationId, kind);
  if (!running) {
    // A finished operation has nothing left to cancel: its tasks keep their final status.
    const final = await handle.result();
    if (!final.operation.appliances.includes(serial)) throw new TaskNotFoundError(operationId, serial);
    const task = final.tasks.find((t) => t.serial === serial);
    if (task) return task.status;
    // A large operation's result leaves its tasks out: each task workflow has its own (none: it never started).
    const outcome = await client.workflow
      .getHandle<Workflows['applianceUpgradeTask']>(applianceTaskWorkflowId(kind, operationId, serial))
      .result()
      .catch(() => undefined);
    return outcome?.status ?? 'cancelled';
  }
  try {
    return await handle.executeUpdate(cancelApplianceTaskUpdate, { args: [serial] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new TaskNotFoundError(operationId, serial);
    throw err;
  }
}

/** Pauses (no new task starts; running ones go on) or resumes a running operation. */
export async function setOperationPaused(
  client: Client,
  operationId: string,
  paused: boolean,
  kind: OperationKind = 'upgrade',
): Promise<void> {
  if (!OPERATION_ID_PATTERN.test(operationId)) throw new OperationNotFoundError(operationId);
  try {
    await client.workflow
      .getHandle(operationWorkflowId(kind, operationId))
      .signal(paused ? pauseOperationSignal : resumeOperationSignal);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new OperationNotFoundError(operationId);
    throw err;
  }
}

/** A change the operation's state does not allow now (the API's 409): `code` says which. */
export class OperationConflictError extends Error {
  constructor(
    readonly code: 'ALREADY_FINISHED' | 'NOT_AWAITING_APPROVAL' | 'NOT_FINISHED' | 'NO_FAILURES' | 'ALREADY_RETRIED',
    message: string,
  ) {
    super(message);
    this.name = 'OperationConflictError';
  }
}

/**
 * Approves or rejects the approval a running operation waits for after a wave (rollout.approval).
 * Answers the approval as recorded; a reject stops the rollout (tasks not started end cancelled).
 */
export async function decideApproval(
  client: Client,
  operationId: string,
  decision: ApprovalDecision,
  kind: OperationKind = 'upgrade',
): Promise<ApprovalInfo> {
  const { handle, running } = await operationHandle(client, operationId, kind);
  if (!running)
    throw new OperationConflictError(
      'ALREADY_FINISHED',
      `${kind} operation ${operationId} has finished; there is no approval to give`,
    );
  try {
    return await handle.executeUpdate(decideApprovalUpdate, { args: [decision] });
  } catch (err) {
    // The validator's refusal, or the operation ended in between.
    if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError)
      throw new OperationConflictError(
        'NOT_AWAITING_APPROVAL',
        `${kind} operation ${operationId} is not awaiting approval`,
      );
    throw err;
  }
}

/** What retryOperation reads and writes of the store (FleetStore). */
export interface RetryStore {
  getOperation(kind: OperationKind, id: string): Promise<OperationRecord | undefined>;
  listTasks(operationId: string): Promise<TaskRecord[]>;
  updateOperation(id: string, changes: Partial<OperationRecord>): Promise<OperationRecord | undefined>;
}

/** The appliances of a finished operation whose tasks did not succeed, in the operation's order. */
export function appliancesToRetry(
  appliances: readonly string[],
  tasks: readonly Pick<TaskRecord, 'serial' | 'status'>[],
): string[] {
  const succeeded = new Set(tasks.filter((t) => t.status === 'successful').map((t) => t.serial));
  return appliances.filter((serial) => !succeeded.has(serial));
}

/**
 * Creates a new operation of the same kind over the appliances whose tasks did not succeed in a
 * finished one, with the same request (rollout policy, task_timeout, reboot, comment), starting at
 * once (the start times have passed). Eligibility is checked again, as on create. Linked both ways:
 * `retry_of` on the new operation, `retried_by` on the old one (stored). An operation is retried
 * once (retry the retry for another round).
 */
export async function retryOperation(
  client: Client,
  store: RetryStore,
  kind: OperationKind,
  operationId: string,
  options: CreateOperationOptions,
): Promise<Created & { linked?: Created }> {
  const old = OPERATION_ID_PATTERN.test(operationId) ? await store.getOperation(kind, operationId) : undefined;
  if (!old) throw new OperationNotFoundError(operationId);
  if (!isTerminal(old.status))
    throw new OperationConflictError(
      'NOT_FINISHED',
      `${kind} operation ${operationId} has not finished (${old.status}); retry it once it has`,
    );
  if (typeof old.retried_by === 'string')
    throw new OperationConflictError(
      'ALREADY_RETRIED',
      `${kind} operation ${operationId} was retried by operation ${old.retried_by}; retry that one`,
    );
  const appliances = appliancesToRetry(
    (old.appliances as string[] | undefined) ?? [],
    await store.listTasks(operationId),
  );
  if (!appliances.length)
    throw new OperationConflictError(
      'NO_FAILURES',
      `every task of ${kind} operation ${operationId} succeeded; there is nothing to retry`,
    );
  const {
    [OPERATION_TIME_FIELD[kind]]: _start,
    reboot_time: _reboot,
    ...request
  } = withoutReadOnly(old, OPERATION_READ_ONLY);
  const created = await createOperation(client, kind, { ...request, appliances }, { ...options, retryOf: operationId });
  await store.updateOperation(operationId, { retried_by: created.operation.id });
  return created;
}
