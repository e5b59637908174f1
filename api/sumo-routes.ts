/**
 * The Sumo Logic collector upgrade API v1 (../shared/seeds/000_…), under `/api/v1`:
 *   GET  /collectors/upgrades/collectors   collectors a task could be created for now (see listUpgradableCollectors)
 *   GET  /collectors/upgrades/targets      available builds, oldest first, one `latest`
 *   GET  /collectors/upgrades/{id}         one task: status 0 not started, 1 pending, 6 progressing, 2 succeeded, 3 failed
 *   POST /collectors/upgrades              create a task (202); 400 with the seed's error codes
 * Each task is a `collectorUpgradeTask` workflow; its status is read from the store (no worker needed).
 * Errors use Sumo's shape `{ status, id, code, message }` (sumoErrorBody, used by server.ts).
 * Request schemas: domain/sumo.ts.
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { collectorTargets, createCollectorUpgrade, CollectorUpgradeError } from '../client/collector-upgrades';
import type { Logger } from '../domain/logging';
import { createUpgradeTaskRequest, upgradableCollectorsQuery, upgradeTaskIdParam } from '../domain/sumo';
import type { CollectorRecord, FleetStore } from '../store/fleet-store';
import type { Permission } from './auth';
import { ApiError } from './errors';
import { parseRequest, type IssueError } from './parse';

export const SUMO_PREFIX = '/api/v1';

/** Whether a request URL is one of the Sumo API's (its errors then take Sumo's shape). */
export const isSumoUrl = (url: string): boolean => url === SUMO_PREFIX || /^\/api\/v1[/?]/.test(url);

export interface SumoOptions {
  client: Client;
  store: FleetStore;
  logger: Logger;
  taskQueue: string;
  /** Checks the caller may do this; throws 401/403 otherwise. Returns the access id. */
  require: (request: FastifyRequest, permission: Permission) => string;
}

/** Our generic error codes as Sumo names them (its documented generic API errors). */
const SUMO_CODES: Record<string, string> = {
  AUTH_REQUIRED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'notfound',
  UNSUPPORTED_MEDIA_TYPE: 'contenttype.invalid',
  METHOD_NOT_ALLOWED: 'method.not.allowed',
  TOO_MANY_FAILED_AUTHENTICATIONS: 'rate.limit.exceeded',
  INVALID_REQUEST: 'request.invalid',
  BAD_REQUEST: 'request.invalid',
  BODY_TOO_LARGE: 'request.too.large',
  INTERNAL_ERROR: 'internal.error',
};

/** Sumo's error body; `id` is the request id, which the log lines of the request carry too. */
export function sumoErrorBody(
  err: ApiError,
  requestId: string,
): { status: number; id: string; code: string; message: string } {
  const code = /^[a-z][a-z.]*$/.test(err.code)
    ? err.code
    : (SUMO_CODES[err.code] ?? (err.status >= 500 ? 'internal.error' : 'request.invalid'));
  return { status: err.status, id: requestId, code, message: err.message };
}

const sumoError = (status: number, code: string, message: string): ApiError => new ApiError(status, code, message);

/** Extension of the create request: the task's time limit in seconds (default 1800, the seed's 30 minutes). */
const timeoutSeconds = z
  .number({ error: 'timeoutSeconds must be a number' })
  .positive('timeoutSeconds must be positive')
  .max(86_400, 'timeoutSeconds must be at most 86400')
  .optional();

/** The seed's sample collector: its fields as stored, with the `sources` link. */
function collectorView(collector: CollectorRecord): CollectorRecord {
  return {
    ...collector,
    links: collector.links ?? [{ rel: 'sources', href: `/v1/collectors/${collector.id}/sources` }],
  };
}

/** The seed's 400s of a collectors query: a bad toVersion is collector.version.invalid. */
const queryError: IssueError = (issue) => {
  if (issue.path[0] === 'toVersion') {
    return sumoError(
      400,
      'collector.version.invalid',
      'toVersion must be given once, as a collector build such as 19.115-37',
    );
  }
  return sumoError(
    400,
    'request.invalid',
    issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
  );
};

/**
 * The seed's 400s of a create request: a bad or missing collectorId (or no body object) is
 * collector.invalid, a bad toVersion collector.version.invalid.
 */
const createError: IssueError = (issue) => {
  if (issue.path[0] === 'toVersion') {
    return sumoError(
      400,
      'collector.version.invalid',
      'toVersion must be a collector build such as 19.115-37 (omit it for the latest)',
    );
  }
  const message = issue.path[0] === 'collectorId' ? issue.message : 'the body must be a JSON object with collectorId';
  return sumoError(400, 'collector.invalid', message);
};

const requestInvalid: IssueError = (issue) => sumoError(400, 'request.invalid', issue.message);

/**
 * The seed: 415 when Content-Type isn't application/json (a request without one, as the seed's GET
 * samples, is fine). An empty JSON body is a request without collectorId (collector.invalid), not a
 * parse error.
 */
function jsonBodies(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const type = request.headers['content-type'];
    if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
      throw sumoError(415, 'contenttype.invalid', `Content-Type must be application/json (got ${type.slice(0, 100)})`);
    }
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new ApiError(400, 'request.invalid', `the body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });
}

export async function sumoRoutes(app: FastifyInstance, options: SumoOptions): Promise<void> {
  const { store, require } = options;
  jsonBodies(app);

  app.get('/collectors/upgrades/collectors', async (request) => {
    require(request, 'read');
    const query = parseRequest(upgradableCollectorsQuery, request.query ?? {}, { error: queryError });
    const targets = await collectorTargets(store);
    const toVersion = query.toVersion ?? targets.find((t) => t.latest)!.version;
    if (!targets.some((t) => t.version === toVersion))
      throw sumoError(400, 'collector.version.invalid', `${toVersion} is not an available collector build`);
    const collectors = await store.listUpgradableCollectors({ toVersion, offset: query.offset, limit: query.limit });
    return { collectors: collectors.map(collectorView) };
  });

  app.get('/collectors/upgrades/targets', async (request) => {
    require(request, 'read');
    return { targets: await collectorTargets(store) };
  });

  app.get<{ Params: { upgradeTaskID: string } }>('/collectors/upgrades/:upgradeTaskID', async (request) => {
    require(request, 'read');
    return { upgrade: await upgradeTask(store, request.params.upgradeTaskID) };
  });

  app.post('/collectors/upgrades', async (request, reply) => createUpgradeTask(options, request, reply));
}

async function upgradeTask(store: FleetStore, upgradeTaskID: string) {
  // Task ids are longs: anything else names no task (404, as for an unknown id).
  const taskId = upgradeTaskIdParam.safeParse(upgradeTaskID);
  const task = taskId.success ? await store.getCollectorUpgradeTask(taskId.data) : undefined;
  if (!task) throw sumoError(404, 'notfound', `upgrade task ${upgradeTaskID.slice(0, 40)} was not found`);
  // The seed's field table says requestedTime, its sample requestTime: both carry the same instant.
  const { id, collectorId, toVersion, requestTime, status, message } = task;
  return { id, collectorId, toVersion, requestTime, requestedTime: requestTime, status, message };
}

async function createUpgradeTask(
  options: SumoOptions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { client, store, logger, taskQueue, require } = options;
  const username = require(request, 'operate');
  const body = parseRequest(createUpgradeTaskRequest, request.body ?? {}, { error: createError });
  const extension = (body as { timeoutSeconds?: unknown }).timeoutSeconds;
  const limit = parseRequest(timeoutSeconds, extension, { error: requestInvalid });
  const { collectorId, toVersion } = body;
  let task;
  try {
    task = await createCollectorUpgrade(
      client,
      store,
      { collectorId, ...(toVersion !== undefined ? { toVersion } : {}) },
      { taskQueue, ...(limit !== undefined ? { timeoutMs: Math.round(limit * 1000) } : {}) },
    );
  } catch (err) {
    if (err instanceof CollectorUpgradeError) throw sumoError(400, err.code, err.message);
    throw err;
  }
  const { id, collectorId: collector } = task;
  logger.info(
    { collectorUpgradeTaskId: id, collectorId: collector, toVersion: task.toVersion, username },
    'collector upgrade task created',
  );
  return reply.code(202).send({ id: String(id), link: { rel: 'self', href: `/v1/collectors/upgrades/${id}` } });
}
