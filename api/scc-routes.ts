/**
 * The SCC Upgrades service (cmc.upgrades 1.0): upgrade, downgrade and reboot operations, their
 * appliance tasks (state, log, cancel), appliances and connected product codes, service logging.
 * Registered under both spellings the seed uses (cmc.upgrades and cmcc.upgrades).
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  cancelApplianceTask,
  cancelOperation,
  createOperation,
  decideApproval,
  InvalidRequestError,
  isTerminal,
  OperationConflictError,
  OperationNotFoundError,
  retryOperation,
  setOperationPaused,
  TaskNotFoundError,
  type Created,
  type CreateOperationOptions,
} from '../client/operations';
import type { Logger } from '../domain/logging';
import { ineligibleAppliances } from '../store/fleet-facts';
import { createdMessage, OPERATION_KINDS, taskFields, type OperationKind } from '../domain/operation';
import {
  applianceDowngradeTaskStateSetRequest,
  applianceRebootTaskStateSetRequest,
  applianceTasksQuery,
  applianceUpgradeTaskStateSetRequest,
  logEntry,
  logging,
  operationsQuery,
  PRODUCT_CODES,
  TASK_STATE_READ_ONLY,
  withoutReadOnly,
  appliancesQuery,
  type Logging,
  type LoggingLevel,
  type ProductCode,
} from '../domain/scc';
import type { FleetStore, TaskRecord } from '../store/fleet-store';
import type { Permission } from './auth';
import { ApiError, badRequest, conflict, notFound } from './errors';
import { parseRequest } from './parse';
import { sccImageRoutes } from './scc-images';

export const SCC_PREFIXES = ['/api/cmc.upgrades/1.0', '/api/cmcc.upgrades/1.0'] as const;

/** Store setting holding the service logging object as JSON. */
export const LOGGING_SETTING = 'logging';

const PINO_LEVEL: Record<LoggingLevel, string> = { crit: 'fatal', err: 'error', warning: 'warn', notice: 'info', info: 'info', debug: 'debug' };

export interface SccOptions {
  client: Client;
  store: FleetStore;
  logger: Logger;
  taskQueue: string;
  /** Checks the caller may do this; throws 403 otherwise. */
  require: (request: FastifyRequest, permission: Permission) => string;
}


/** Path parameters of a task's routes, checked against the document before a handler runs (server.ts). */
type TaskParams = { id: string; serial: string };

/** Where a task keeps its state's extension properties (the seed's `<prop>` of a task state). */
const STATE_PROPERTIES = 'state_properties';

/** The seed's appliance task state of a stored task. */
function taskState(task: TaskRecord): Record<string, unknown> {
  return { operation_id: task.operation_id, serial: task.serial, status: task.status, stage: task.stage, ...(task[STATE_PROPERTIES] as Record<string, unknown> | undefined) };
}

const isTaskFinished = (status: string): boolean => !['scheduled', 'running'].includes(status);

/** A cancel (pause, resume) of what has already finished: 409, and nothing changes. */
const alreadyFinished = (what: string, status: string, action = 'cancel'): ApiError => new ApiError(409, 'ALREADY_FINISHED', `${what} has already finished (${status}); there is nothing to ${action}`);

/** The body of a task state `set`, per kind (the seed's three stage enums). */
const TASK_STATE_SET: Record<OperationKind, z.ZodType<{ status: string; stage: string }>> = {
  upgrade: applianceUpgradeTaskStateSetRequest,
  downgrade: applianceDowngradeTaskStateSetRequest,
  reboot: applianceRebootTaskStateSetRequest,
};

export async function sccRoutes(app: FastifyInstance, options: SccOptions): Promise<void> {
  const { client, store, logger, taskQueue, require } = options;
  const nowSeconds = (): number => Math.floor(Date.now() / 1000);

  for (const kind of OPERATION_KINDS) {
    const path = `/operations/${kind}`;
    const existingOperation = async (id: string) => {
      const operation = await store.getOperation(kind, id);
      if (!operation) throw notFound(`${kind} operation ${id}`);
      return operation;
    };
    const existingTask = async (id: string, serial: string) => {
      await existingOperation(id);
      const task = await store.getTask(id, serial);
      if (!task) throw notFound(`appliance ${serial} in ${kind} operation ${id}`);
      return task;
    };
    /** Stored before answering, so it can be read at once (the workflow records the same, idempotently). */
    const recordCreated = async (k: OperationKind, { operation, startAtBySerial }: Created): Promise<void> => {
      const fields = (serial: string) => taskFields(k, operation, startAtBySerial?.[serial]);
      await store.recordNewOperation(k, operation, fields, { timestamp: nowSeconds(), severity: 'info', log_entry: createdMessage(k, operation) });
    };

    // Operations -------------------------------------------------------------------------------

    app.get(path, async (request) => {
      require(request, 'read');
      const query = parseRequest(operationsQuery, request.query);
      return store.listOperations(kind, {
        ...(query.username !== undefined ? { username: query.username } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
        ...(query.time_lower_bound !== undefined ? { timeLowerBoundMs: query.time_lower_bound * 1000 } : {}),
        ...(query.time_upper_bound !== undefined ? { timeUpperBoundMs: query.time_upper_bound * 1000 } : {}),
      });
    });

    /** Creates (a new operation, or a retry), records it, answers 201 with it at `location`. */
    const answerCreated = async (request: FastifyRequest, reply: FastifyReply, username: string, create: (options: CreateOperationOptions) => Promise<Awaited<ReturnType<typeof createOperation>>>) => {
      let created: Awaited<ReturnType<typeof createOperation>>;
      try {
        created = await create({ taskQueue, username, timeZones: (serials) => store.timeZones(serials), eligibility: (k, body) => ineligibleAppliances(store, k, body) });
      } catch (err) {
        if (err instanceof InvalidRequestError) throw badRequest(err.field, err.message.slice(err.field.length + 2));
        if (err instanceof OperationConflictError) throw conflict(err.message, err.code);
        if (err instanceof OperationNotFoundError) throw notFound(`${kind} operation ${err.operationId}`);
        throw err;
      }
      const { operation, linked } = created;
      if (linked) await recordCreated('reboot', linked);
      await recordCreated(kind, created);
      logger.info({ operationId: operation.id, kind, username, appliances: operation.appliances.length, ...(linked ? { rebootId: linked.operation.id } : {}), ...(operation.retry_of ? { retryOf: operation.retry_of } : {}) }, `${kind} operation created`);
      // Under the spelling asked (a retry's new operation is a sibling of the old one).
      const collection = request.url.replace(/\?.*$/, '').replace(/\/[^/]+\/retry$/, '');
      return reply.code(201).header('location', `${collection}/${operation.id}`).send(operation);
    };

    app.post(path, async (request, reply) => {
      const username = require(request, 'operate');
      return answerCreated(request, reply, username, (options) => createOperation(client, kind, request.body, options));
    });

    app.get<{ Params: { id: string } }>(`${path}/:id`, async (request) => {
      require(request, 'read');
      return existingOperation(request.params.id);
    });

    app.post<{ Params: { id: string } }>(`${path}/:id/cancel`, async (request, reply) => {
      const username = require(request, 'operate');
      const { id } = request.params;
      const operation = await existingOperation(id);
      const finished = () => alreadyFinished(`${kind} operation ${id}`, operation.status);
      if (isTerminal(operation.status)) throw finished();
      await cancelOperation(client, id, kind).catch((err: unknown) => {
        // Stored but its workflow is closed: it finished after the store was read.
        if (err instanceof OperationNotFoundError) throw finished();
        throw err;
      });
      logger.info({ operationId: request.params.id, kind, username }, `${kind} operation cancel requested`);
      return reply.code(204).send();
    });

    // Extensions: pause (no new task starts; running ones go on) and resume, as `fleet pause` / `fleet resume`.
    for (const action of ['pause', 'resume'] as const) {
      app.post<{ Params: { id: string } }>(`${path}/:id/${action}`, async (request, reply) => {
        const username = require(request, 'operate');
        const { id } = request.params;
        const operation = await existingOperation(id);
        const finished = () => alreadyFinished(`${kind} operation ${id}`, operation.status, action);
        if (isTerminal(operation.status)) throw finished();
        await setOperationPaused(client, id, action === 'pause', kind).catch((err: unknown) => {
          if (err instanceof OperationNotFoundError) throw finished();
          throw err;
        });
        logger.info({ operationId: id, kind, username }, `${kind} operation ${action} requested`);
        return reply.code(204).send();
      });
    }

    // Rollout safety: the approval between waves, a retry of what did not succeed.

    for (const verb of ['approve', 'reject'] as const) {
      app.post<{ Params: { id: string } }>(`${path}/:id/${verb}`, async (request) => {
        const username = require(request, 'operate');
        const { id } = request.params;
        const operation = await existingOperation(id);
        if (isTerminal(operation.status)) throw conflict(`${kind} operation ${id} has already finished (${operation.status}); there is no approval to give`, 'ALREADY_FINISHED');
        const notAwaiting = () => conflict(`${kind} operation ${id} is not awaiting approval`, 'NOT_AWAITING_APPROVAL');
        if ((operation.approval as { state?: string } | undefined)?.state !== 'awaiting') throw notAwaiting();
        let approval;
        try {
          approval = await decideApproval(client, id, { approve: verb === 'approve', username }, kind);
        } catch (err) {
          if (err instanceof OperationConflictError || err instanceof OperationNotFoundError) throw notAwaiting();
          throw err;
        }
        logger.info({ operationId: id, kind, username, afterWave: approval.after_wave }, `${kind} operation ${verb === 'approve' ? 'approved' : 'rejected'}`);
        return { id, approval };
      });
    }

    app.post<{ Params: { id: string } }>(`${path}/:id/retry`, async (request, reply) => {
      const username = require(request, 'operate');
      return answerCreated(request, reply, username, (options) => retryOperation(client, store, kind, request.params.id, options));
    });

    app.get<{ Params: { id: string } }>(`${path}/:id/log`, async (request) => {
      require(request, 'read');
      await existingOperation(request.params.id);
      return { operation_id: request.params.id, log: await store.getLog(request.params.id) };
    });

    // Appliance tasks -------------------------------------------------------------------------

    // Extension: the operation's tasks a page at a time, filtered, with the counts by status and stage.
    app.get<{ Params: { id: string } }>(`${path}/:id/appliances`, async (request) => {
      require(request, 'read');
      const { id } = request.params;
      const query = parseRequest(applianceTasksQuery, request.query);
      await existingOperation(id);
      const page = await store.taskPage(id, query);
      const statusCounts: Record<string, number> = {};
      const stageCounts: Record<string, number> = {};
      for (const { status, stage, n } of page.counts) {
        statusCounts[status] = (statusCounts[status] ?? 0) + n;
        stageCounts[stage] = (stageCounts[stage] ?? 0) + n;
      }
      const tasks = page.tasks.map(({ [STATE_PROPERTIES]: _state, ...task }) => task);
      return { operation_id: id, total: page.total, offset: query.offset, limit: query.limit, status_counts: statusCounts, stage_counts: stageCounts, tasks };
    });

    app.get<{ Params: TaskParams }>(`${path}/:id/appliances/:serial`, async (request) => {
      require(request, 'read');
      const { [STATE_PROPERTIES]: _state, ...task } = await existingTask(request.params.id, request.params.serial);
      return task;
    });

    app.post<{ Params: TaskParams }>(`${path}/:id/appliances/:serial/cancel`, async (request, reply) => {
      const username = require(request, 'operate');
      const { id, serial } = request.params;
      const task = await existingTask(id, serial);
      const what = `the ${kind} task of appliance ${serial} in operation ${id}`;
      if (isTaskFinished(task.status)) throw alreadyFinished(what, task.status);
      let status: string;
      try {
        status = await cancelApplianceTask(client, id, serial, kind);
      } catch (err) {
        if (err instanceof OperationNotFoundError || err instanceof TaskNotFoundError) throw alreadyFinished(what, (await existingTask(id, serial)).status);
        throw err;
      }
      // It finished on its own just before the request reached it.
      if (status !== 'cancelled') throw alreadyFinished(what, status);
      logger.info({ operationId: id, serial, kind, username }, 'appliance task cancel requested');
      return reply.code(204).send();
    });

    app.get<{ Params: TaskParams }>(`${path}/:id/appliances/:serial/state`, async (request) => {
      require(request, 'read');
      return taskState(await existingTask(request.params.id, request.params.serial));
    });

    // A state `set` replaces the state: status, stage and its extension properties (kept apart
    // from the task's own fields, which it never touches).
    app.put<{ Params: TaskParams }>(`${path}/:id/appliances/:serial/state`, async (request) => {
      require(request, 'internal');
      const { id, serial } = request.params;
      const { status, stage, ...properties } = withoutReadOnly(parseRequest(TASK_STATE_SET[kind], request.body), TASK_STATE_READ_ONLY);
      await existingTask(id, serial);
      return taskState((await store.updateTask(id, serial, { status, stage, [STATE_PROPERTIES]: properties }))!);
    });

    app.get<{ Params: TaskParams }>(`${path}/:id/appliances/:serial/log`, async (request) => {
      require(request, 'read');
      const { id, serial } = request.params;
      await existingTask(id, serial);
      return { operation_id: id, serial, log: await store.getLog(id, serial) };
    });

    app.post<{ Params: TaskParams }>(`${path}/:id/appliances/:serial/log`, async (request, reply) => {
      require(request, 'internal');
      const { id, serial } = request.params;
      const entry = parseRequest(logEntry, request.body);
      await existingTask(id, serial);
      await store.appendLog(id, entry, serial);
      return reply.code(204).send();
    });
  }

  await sccImageRoutes(app, { store, logger, require, parse: parseRequest });

  // Appliances --------------------------------------------------------------------------------

  app.get('/connected_product_codes', async (request) => {
    require(request, 'read');
    const connected = new Set((await store.listAppliances()).filter((a) => a.connected).map((a) => a.product_code));
    return PRODUCT_CODES.filter((code) => connected.has(code));
  });

  app.get<{ Params: { product_code: ProductCode } }>('/appliances/:product_code', async (request) => {
    require(request, 'read');
    const { group } = parseRequest(appliancesQuery, request.query);
    const appliances = await store.listAppliances({ product_code: request.params.product_code });
    return group === undefined ? appliances : appliances.filter((a) => Array.isArray(a.groups) && a.groups.includes(group));
  });

  app.get<{ Params: { product_code: ProductCode; serial: string } }>('/appliances/:product_code/:serial', async (request) => {
    require(request, 'read');
    const { product_code: code, serial } = request.params;
    const appliance = await store.getAppliance(serial);
    if (!appliance || appliance.product_code !== code) throw notFound(`${code} appliance ${serial}`);
    return appliance;
  });

  // Service logging ---------------------------------------------------------------------------

  // The whole logging object (level and the seed's `<prop>: any` extension properties) is kept as
  // JSON in the `logging` setting, exactly as last set; a store from before it has `logging_level`.

  const currentLogging = async (): Promise<Logging> => {
    const raw = await store.getSetting(LOGGING_SETTING);
    if (raw === undefined) return { level: (await store.getSetting('logging_level')) ?? 'info' } as Logging;
    let stored: unknown;
    try {
      stored = JSON.parse(raw);
    } catch {
      throw new Error(`store setting ${LOGGING_SETTING} is not JSON`);
    }
    if (!logging.safeParse(stored).success) throw new Error(`store setting ${LOGGING_SETTING} is not a logging object`);
    return stored as Logging;
  };

  // A level set through PUT /logging outlives a restart; FLEET_LOG_LEVEL is the level until one is set.
  if ((await store.getSetting(LOGGING_SETTING)) !== undefined || (await store.getSetting('logging_level')) !== undefined) {
    const stored = await currentLogging().catch(() => undefined);
    if (stored) logger.level = PINO_LEVEL[stored.level];
  }

  app.get('/logging', async (request) => {
    require(request, 'read');
    return currentLogging();
  });

  app.put('/logging', async (request) => {
    const username = require(request, 'operate');
    const { level } = parseRequest(logging, request.body);
    // Validated, then stored as sent (zod would move `level` first), so GET answers it unchanged.
    const body = request.body as Logging;
    await store.setSetting(LOGGING_SETTING, JSON.stringify(body));
    logger.level = PINO_LEVEL[level];
    // Extension values may hold secrets (a syslog password, a token): only their names are logged.
    // (Not `level`: that key would overwrite the line's own pino level.)
    logger.info({ loggingLevel: level, username, extensions: Object.keys(body).filter((key) => key !== 'level') }, 'service logging set');
    return body;
  });
}


