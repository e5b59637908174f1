/**
 * The appliance tasks of an SCC operation of one kind: a page of them (extension), one task, its
 * cancel, its state (read, and `set` by the internal service) and its log.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { cancelApplianceTask, OperationNotFoundError, TaskNotFoundError } from '../client/operations';
import type { OperationKind } from '../domain/operation';
import {
  applianceDowngradeTaskStateSetRequest,
  applianceRebootTaskStateSetRequest,
  applianceTasksQuery,
  applianceUpgradeTaskStateSetRequest,
  logEntry,
  TASK_STATE_READ_ONLY,
  withoutReadOnly,
} from '../domain/scc';
import type { TaskRecord } from '../store/fleet-store';
import { parseRequest } from './parse';
import {
  alreadyFinished,
  existingOperation,
  existingTask,
  type KindOptions,
  type OperationParams,
  type TaskParams,
} from './scc-context';

/** Where a task keeps its state's extension properties (the seed's `<prop>` of a task state). */
const STATE_PROPERTIES = 'state_properties';

/** The body of a task state `set`, per kind (the seed's three stage enums). */
const TASK_STATE_SET: Record<OperationKind, z.ZodType<{ status: string; stage: string }>> = {
  upgrade: applianceUpgradeTaskStateSetRequest,
  downgrade: applianceDowngradeTaskStateSetRequest,
  reboot: applianceRebootTaskStateSetRequest,
};

/** The seed's appliance task state of a stored task. */
function taskState(task: TaskRecord): Record<string, unknown> {
  const properties = task[STATE_PROPERTIES] as Record<string, unknown> | undefined;
  const { operation_id, serial, status, stage } = task;
  return { operation_id, serial, status, stage, ...properties };
}

/** A task as answered: its state's extension properties are answered by its state alone. */
function taskView<T extends TaskRecord>({ [STATE_PROPERTIES]: _state, ...task }: T) {
  return task;
}

const isTaskFinished = (status: string): boolean => !['scheduled', 'running'].includes(status);

export async function taskRoutes(app: FastifyInstance, options: KindOptions): Promise<void> {
  const { store, kind, require } = options;
  const path = `/operations/${kind}/:id/appliances`;
  const task = (params: TaskParams['Params']) => existingTask(store, kind, params.id, params.serial);

  // Extension: the operation's tasks a page at a time, filtered, with the counts by status and stage.
  app.get<OperationParams>(path, async (request) => {
    require(request, 'read');
    return taskPage(options, request.params.id, parseRequest(applianceTasksQuery, request.query));
  });

  app.get<TaskParams>(`${path}/:serial`, async (request) => {
    require(request, 'read');
    return taskView(await task(request.params));
  });

  app.post<TaskParams>(`${path}/:serial/cancel`, async (request, reply) => {
    const username = require(request, 'operate');
    const { id, serial } = request.params;
    await cancelTask(options, id, serial);
    options.logger.info({ operationId: id, serial, kind, username }, 'appliance task cancel requested');
    return reply.code(204).send();
  });

  app.get<TaskParams>(`${path}/:serial/state`, async (request) => {
    require(request, 'read');
    return taskState(await task(request.params));
  });

  // A state `set` replaces the state: status, stage and its extension properties (kept apart
  // from the task's own fields, which it never touches).
  app.put<TaskParams>(`${path}/:serial/state`, async (request) => {
    require(request, 'internal');
    const { id, serial } = request.params;
    const state = parseRequest(TASK_STATE_SET[kind], request.body);
    const { status, stage, ...properties } = withoutReadOnly(state, TASK_STATE_READ_ONLY);
    await task(request.params);
    return taskState((await store.updateTask(id, serial, { status, stage, [STATE_PROPERTIES]: properties }))!);
  });

  app.get<TaskParams>(`${path}/:serial/log`, async (request) => {
    require(request, 'read');
    const { id, serial } = request.params;
    await task(request.params);
    return { operation_id: id, serial, log: await store.getLog(id, serial) };
  });

  app.post<TaskParams>(`${path}/:serial/log`, async (request, reply) => {
    require(request, 'internal');
    const entry = parseRequest(logEntry, request.body);
    await task(request.params);
    await store.appendLog(request.params.id, entry, request.params.serial);
    return reply.code(204).send();
  });
}

async function taskPage({ store, kind }: KindOptions, id: string, query: z.output<typeof applianceTasksQuery>) {
  await existingOperation(store, kind, id);
  const page = await store.taskPage(id, query);
  const statusCounts: Record<string, number> = {};
  const stageCounts: Record<string, number> = {};
  for (const { status, stage, n } of page.counts) {
    statusCounts[status] = (statusCounts[status] ?? 0) + n;
    stageCounts[stage] = (stageCounts[stage] ?? 0) + n;
  }
  const tasks = page.tasks.map(taskView);
  const { offset, limit } = query;
  return {
    operation_id: id,
    total: page.total,
    offset,
    limit,
    status_counts: statusCounts,
    stage_counts: stageCounts,
    tasks,
  };
}

/** Cancels a task that has not finished (409 when it has, or finishes just before the request reaches it). */
async function cancelTask({ client, store, kind }: KindOptions, id: string, serial: string): Promise<void> {
  const task = await existingTask(store, kind, id, serial);
  const what = `the ${kind} task of appliance ${serial} in operation ${id}`;
  if (isTaskFinished(task.status)) throw alreadyFinished(what, task.status);
  let status: string;
  try {
    status = await cancelApplianceTask(client, id, serial, kind);
  } catch (err) {
    if (!(err instanceof OperationNotFoundError || err instanceof TaskNotFoundError)) throw err;
    throw alreadyFinished(what, (await existingTask(store, kind, id, serial)).status);
  }
  // It finished on its own just before the request reached it.
  if (status !== 'cancelled') throw alreadyFinished(what, status);
}
