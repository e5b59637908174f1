/**
 * The SCC Upgrades service (cmc.upgrades 1.0): upgrade, downgrade and reboot operations, their
 * appliance tasks (state, log, cancel), appliances and connected product codes, service logging.
 * Registered under both spellings the seed uses (cmc.upgrades and cmcc.upgrades).
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { cancelApplianceTask, cancelOperation, createOperation, InvalidRequestError, OperationNotFoundError, TaskNotFoundError, type CreatedOperation } from '../client/operations';
import type { Logger } from '../domain/logging';
import { ineligibleAppliances } from '../store/fleet-facts';
import { createdMessage, OPERATION_KINDS, taskFields, type OperationKind } from '../domain/operation';
import {
  applianceDowngradeTaskStateSetRequest,
  applianceRebootTaskStateSetRequest,
  applianceUpgradeTaskStateSetRequest,
  logEntry,
  logging,
  operationsQuery,
  PRODUCT_CODES,
  serial as serialSchema,
  type Logging,
  type LoggingLevel,
  type ProductCode,
} from '../domain/scc';
import type { FleetStore } from '../store/fleet-store';
import type { Permission } from './auth';
import { badRequest, notFound } from './errors';
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

function parse<T extends z.ZodType>(schema: T, value: unknown, prefix = ''): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw badRequest([prefix, ...issue.path].filter((p) => p !== '').join('.') || 'body', issue.message);
  }
  return result.data;
}

const taskParams = z.object({ id: z.string(), serial: serialSchema });

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
    const recordCreated = async (k: OperationKind, operation: CreatedOperation): Promise<void> => {
      await store.recordNewOperation(k, operation, taskFields(k, operation), { timestamp: nowSeconds(), severity: 'info', log_entry: createdMessage(k, operation) });
    };

    // Operations -------------------------------------------------------------------------------

    app.get(path, async (request) => {
      require(request, 'read');
      const query = parse(operationsQuery, request.query);
      return store.listOperations(kind, {
        ...(query.username !== undefined ? { username: query.username } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
        ...(query.time_lower_bound !== undefined ? { timeLowerBoundMs: query.time_lower_bound * 1000 } : {}),
        ...(query.time_upper_bound !== undefined ? { timeUpperBoundMs: query.time_upper_bound * 1000 } : {}),
      });
    });

    app.post(path, async (request, reply) => {
      const username = require(request, 'operate');
      let created: Awaited<ReturnType<typeof createOperation>>;
      try {
        created = await createOperation(client, kind, request.body, {
          taskQueue,
          username,
          timeZones: (serials) => store.timeZones(serials),
          eligibility: (k, body) => ineligibleAppliances(store, k, body),
        });
      } catch (err) {
        if (err instanceof InvalidRequestError) throw badRequest(err.field, err.message.slice(err.field.length + 2));
        throw err;
      }
      const { operation, linked } = created;
      if (linked) await recordCreated('reboot', linked);
      await recordCreated(kind, operation);
      logger.info({ operationId: operation.id, kind, username, appliances: operation.appliances.length, ...(linked ? { rebootId: linked.id } : {}) }, `${kind} operation created`);
      return reply.code(201).header('location', `${request.url.replace(/\?.*$/, '')}/${operation.id}`).send(operation);
    });

    app.get<{ Params: { id: string } }>(`${path}/:id`, async (request) => {
      require(request, 'read');
      return existingOperation(request.params.id);
    });

    app.post<{ Params: { id: string } }>(`${path}/:id/cancel`, async (request, reply) => {
      const username = require(request, 'operate');
      await existingOperation(request.params.id);
      await cancelOperation(client, request.params.id, kind).catch((err: unknown) => {
        if (err instanceof OperationNotFoundError) throw notFound(`${kind} operation ${request.params.id}`);
        throw err;
      });
      logger.info({ operationId: request.params.id, kind, username }, `${kind} operation cancel requested`);
      return reply.code(204).send();
    });

    app.get<{ Params: { id: string } }>(`${path}/:id/log`, async (request) => {
      require(request, 'read');
      await existingOperation(request.params.id);
      return { operation_id: request.params.id, log: await store.getLog(request.params.id) };
    });

    // Appliance tasks -------------------------------------------------------------------------

    app.get(`${path}/:id/appliances/:serial`, async (request) => {
      require(request, 'read');
      const { id, serial } = parse(taskParams, request.params);
      return existingTask(id, serial);
    });

    app.post(`${path}/:id/appliances/:serial/cancel`, async (request, reply) => {
      const username = require(request, 'operate');
      const { id, serial } = parse(taskParams, request.params);
      await existingTask(id, serial);
      try {
        await cancelApplianceTask(client, id, serial, kind);
      } catch (err) {
        if (err instanceof OperationNotFoundError || err instanceof TaskNotFoundError) throw notFound(`appliance ${serial} in ${kind} operation ${id}`);
        throw err;
      }
      logger.info({ operationId: id, serial, kind, username }, 'appliance task cancel requested');
      return reply.code(204).send();
    });

    app.get(`${path}/:id/appliances/:serial/state`, async (request) => {
      require(request, 'read');
      const { id, serial } = parse(taskParams, request.params);
      const task = await existingTask(id, serial);
      return { operation_id: id, serial, status: task.status, stage: task.stage };
    });

    app.put(`${path}/:id/appliances/:serial/state`, async (request) => {
      require(request, 'internal');
      const { id, serial } = parse(taskParams, request.params);
      const body = parse(TASK_STATE_SET[kind], request.body);
      await existingTask(id, serial);
      const task = await store.updateTask(id, serial, body);
      return { operation_id: id, serial, status: task!.status, stage: task!.stage };
    });

    app.get(`${path}/:id/appliances/:serial/log`, async (request) => {
      require(request, 'read');
      const { id, serial } = parse(taskParams, request.params);
      await existingTask(id, serial);
      return { operation_id: id, serial, log: await store.getLog(id, serial) };
    });

    app.post(`${path}/:id/appliances/:serial/log`, async (request, reply) => {
      require(request, 'internal');
      const { id, serial } = parse(taskParams, request.params);
      const entry = parse(logEntry, request.body);
      await existingTask(id, serial);
      await store.appendLog(id, entry, serial);
      return reply.code(204).send();
    });
  }

  await sccImageRoutes(app, { store, logger, require, parse });

  // Appliances --------------------------------------------------------------------------------

  app.get('/connected_product_codes', async (request) => {
    require(request, 'read');
    const connected = new Set((await store.listAppliances()).filter((a) => a.connected).map((a) => a.product_code));
    return PRODUCT_CODES.filter((code) => connected.has(code));
  });

  app.get<{ Params: { product_code: string } }>('/appliances/:product_code', async (request) => {
    require(request, 'read');
    const code = parse(z.enum(PRODUCT_CODES), request.params.product_code, 'product_code') as ProductCode;
    return store.listAppliances({ product_code: code });
  });

  app.get<{ Params: { product_code: string; serial: string } }>('/appliances/:product_code/:serial', async (request) => {
    require(request, 'read');
    const code = parse(z.enum(PRODUCT_CODES), request.params.product_code, 'product_code');
    const serial = parse(serialSchema, request.params.serial, 'serial');
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
    const { level } = parse(logging, request.body);
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


