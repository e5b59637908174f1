/**
 * The HTTP service: `/health` (no auth) and, with a store, the SCC Upgrades service under both
 * spellings the seed uses (`/api/cmc.upgrades/1.0`, `/api/cmcc.upgrades/1.0`), behind HTTP Basic
 * authentication with access ids and keys.
 *
 * Errors: SCC routes answer `{ error_id, error_text, field? }` (Riverbed's REST error shape);
 * `/health` and unknown paths use the same; the Sumo collector upgrade API (`/api/v1`, sumo-routes.ts)
 * answers Sumo's `{ status, id, code, message }`. A client never sees a stack trace.
 * Media type: a request body must be `application/json` (415 otherwise, as the Sumo seed documents).
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../domain/logging';
import type { FleetStore } from '../store/fleet-store';
import { allows, Authenticator, type Permission, type Role } from './auth';
import { ApiError } from './errors';
import { buildOpenApi, DOCS_PAGE, type RegisteredRoute } from './openapi';
import { SCC_PREFIXES, sccRoutes } from './scc-routes';
import { isSumoUrl, SUMO_PREFIX, sumoErrorBody, sumoRoutes } from './sumo-routes';

export interface ApiOptions {
  client: Client;
  logger: Logger;
  /** Without a store only `/health` is served. */
  store?: FleetStore;
  taskQueue?: string;
}

export interface Caller {
  accessId: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

const REALM = 'Basic realm="fleet-upgrade-orchestrator", charset="UTF-8"';

/** Returns the caller's access id (the operation's username) when it holds the permission. */
export function requirePermission(request: FastifyRequest, permission: Permission): string {
  const caller = request.caller;
  if (!caller) throw new ApiError(401, 'AUTH_REQUIRED', 'authentication required');
  if (!allows(caller.role, permission)) throw new ApiError(403, 'FORBIDDEN', `access id ${caller.accessId} (role ${caller.role}) may not ${permission === 'read' ? 'read' : permission === 'operate' ? 'create or change operations' : 'use internal endpoints'}`);
  return caller.accessId;
}

/** Fastify's own errors (bad JSON, wrong media type, body too large) in our terms. */
function toApiError(err: { statusCode?: number; code?: string; message: string; validation?: unknown }): ApiError {
  if (err instanceof ApiError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'INVALID_REQUEST', 'body: a JSON body is required', 'body');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'BODY_TOO_LARGE', 'the request body is too large');
  }
  if (err.statusCode === 400) return new ApiError(400, 'INVALID_REQUEST', `body: ${err.message.replace(/^body\s*/i, '')}`, 'body');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new ApiError(err.statusCode, 'BAD_REQUEST', err.message);
  return new ApiError(500, 'INTERNAL_ERROR', 'internal error');
}

export function createApi({ client, logger, store, taskQueue = 'fleet-upgrades' }: ApiOptions): FastifyInstance {
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, genReqId: () => randomUUID() });
  // Only JSON bodies: text/plain (accepted by Fastify by default) is a 415 like any other type.
  app.removeContentTypeParser('text/plain');

  // Every route as registered, for the OpenAPI document.
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    routes.push({ method: route.method, url: route.url });
  });
  let openApi: Record<string, unknown> | undefined;
  app.get('/openapi.json', async () => (openApi ??= buildOpenApi(routes)));
  app.get('/docs', async (_req, reply) => reply.type('text/html; charset=utf-8').send(DOCS_PAGE));

  app.get('/health', async (_req, reply) => {
    try {
      await client.connection.workflowService.getSystemInfo({});
      return { status: 'ok', temporal: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'degraded', temporal: 'unreachable' });
    }
  });

  if (store) {
    const authenticator = new Authenticator(store);
    const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const caller = await authenticator.authenticate(request.headers.authorization);
      if (!caller) {
        void reply.header('www-authenticate', REALM);
        throw new ApiError(401, 'AUTH_REQUIRED', request.headers.authorization ? 'invalid access id or access key' : 'authentication required (HTTP Basic with an access id and key)');
      }
      request.caller = caller;
    };
    for (const prefix of SCC_PREFIXES) {
      void app.register(
        async (scoped) => {
          scoped.addHook('onRequest', authenticate);
          await sccRoutes(scoped, { client, store, logger, taskQueue, require: requirePermission });
        },
        { prefix },
      );
    }
    void app.register(
      async (scoped) => {
        scoped.addHook('onRequest', authenticate);
        await sumoRoutes(scoped, { client, store, logger, taskQueue, require: requirePermission });
      },
      { prefix: SUMO_PREFIX },
    );
  }

  app.setNotFoundHandler((request) => {
    throw new ApiError(404, 'NOT_FOUND', `no such resource: ${request.method} ${request.url.replace(/\?.*$/, '')}`);
  });

  // Errors never carry a stack trace to the client; unexpected ones are logged with the request id.
  app.setErrorHandler((raw: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const err = toApiError(raw);
    if (err.status >= 500) request.log.error({ err: raw }, 'request failed');
    // The Sumo API answers in Sumo's error shape.
    if (isSumoUrl(request.url)) return reply.code(err.status).send(sumoErrorBody(err, request.id));
    return reply.code(err.status).send({ error_id: err.code, error_text: err.message, ...(err.field ? { field: err.field } : {}) });
  });
  return app;
}
