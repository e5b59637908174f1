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
import { loaded } from '../store/readiness';
import { ADMIN_PREFIX, adminRoutes } from './admin-routes';
import { auditTrail } from './audit';
import { allows, Authenticator, DEFAULT_FAILURE_LIMITS, type FailureLimits, type Permission, type Role } from './auth';
import { docsRoutes } from './docs';
import { uiRoutes } from './ui';
import { metricsRoutes } from './metrics';
import { addStrictTransportSecurity, type TlsFiles } from './tls';
import { ApiError } from './errors';
import { allowedMethods, buildOpenApi, type RegisteredRoute } from './openapi';
import { parseRequest } from './parse';
import { responseProblem } from './response-contract';
import { documentedRoute, openApiPath, pathParameters } from './route-docs';
import { SCC_PREFIXES, sccRoutes } from './scc-routes';
import { isSumoUrl, SUMO_PREFIX, sumoErrorBody, sumoRoutes } from './sumo-routes';

export interface ApiOptions {
  client: Client;
  logger: Logger;
  /** Without a store only `/health` is served. */
  store?: FleetStore;
  taskQueue?: string;
  /** Check every answer against the API document (response-contract.ts): on in tests, FLEET_API_CHECK_RESPONSES. */
  checkResponses?: boolean;
  /** Failed authentications allowed before 429s (FLEET_AUTH_FAILURES_PER_CLIENT, …). */
  failureLimits?: FailureLimits;
  /** HTTPS (FLEET_API_TLS_CERT / FLEET_API_TLS_KEY, read by api/tls.ts): the server speaks TLS only, and every answer carries HSTS. */
  https?: TlsFiles;
  /** Fastify `trustProxy` (FLEET_API_TRUST_PROXY): the reverse proxies whose X-Forwarded-For gives request.ip; off by default. */
  trustProxy?: string[];
  /** /metrics also answers prom-client's process and Node.js metrics (api/main.ts; not where several APIs share a process). */
  processMetrics?: boolean;
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

const PERMISSION_TEXT: Record<Permission, string> = {
  read: 'read',
  operate: 'create or change operations',
  internal: 'use internal endpoints',
  manage: 'manage access keys or read the audit trail',
};

/** How long a 429 for too many failed authentications is held before it is sent, on average. */
const LIMITED_ANSWER_DELAY_MS = 1_000;

/** Request bodies up to 4 MiB (an operation of 100,000 appliances is about 1.6 MB); larger is a 413. */
export const BODY_LIMIT_BYTES = 4 * 1024 * 1024;

const REALM = 'Basic realm="fleet-upgrade-orchestrator", charset="UTF-8"';

/** Returns the caller's access id (the operation's username) when it holds the permission. */
export function requirePermission(request: FastifyRequest, permission: Permission): string {
  const caller = request.caller;
  if (!caller) throw new ApiError(401, 'AUTH_REQUIRED', 'authentication required');
  if (!allows(caller.role, permission))
    throw new ApiError(
      403,
      'FORBIDDEN',
      `access id ${caller.accessId} (role ${caller.role}) may not ${PERMISSION_TEXT[permission]}`,
    );
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
  if (err.statusCode === 400)
    return new ApiError(400, 'INVALID_REQUEST', `body: ${err.message.replace(/^body\s*/i, '')}`, 'body');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
    return new ApiError(err.statusCode, 'BAD_REQUEST', err.message);
  return new ApiError(500, 'INTERNAL_ERROR', 'internal error');
}

/** Path parameters as the document types them: a value that does not fit is a 400 naming the parameter. */
async function checkPathParameters(request: FastifyRequest): Promise<void> {
  const url = request.routeOptions.url;
  const route = url === undefined ? undefined : documentedRoute(request.method, url);
  if (!route || url === undefined) return;
  const params = request.params as Record<string, string>;
  for (const [name, schema] of Object.entries(pathParameters(openApiPath(url), route.doc))) {
    parseRequest(schema, params[name], { prefix: name });
  }
}

/** An answer that breaks the document becomes a 500 saying what broke (only when checking). */
async function checkResponse(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const url = request.routeOptions.url;
  const route = url === undefined ? undefined : documentedRoute(request.method, url);
  if (!route || url === undefined) return payload;
  const problem = responseProblem(url, route, reply.statusCode, payload);
  if (!problem) return payload;
  request.log.error({ problem, status: reply.statusCode, url }, 'an answer breaks the API document');
  void reply.code(500).type('application/json');
  return JSON.stringify({ error_id: 'RESPONSE_CONTRACT', error_text: `${request.method} ${url} answered ${problem}` });
}

/** The onRequest hook of the authenticated APIs: a caller, or 401 (with a challenge) or 429 (with Retry-After). */
function authenticateWith(authenticator: Authenticator) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const result = await authenticator.authenticate(request.headers.authorization, request.ip);
    if (result.ok) {
      request.caller = { accessId: result.accessId, role: result.role };
      return;
    }
    if (result.reason === 'limited') {
      // Held a moment before it is answered: a client that asks again at once cannot spend the API's CPU on 429s.
      // For 0.75 to 1.25 of it, at random: a flood's answers, so its next requests, do not all come at one instant.
      const holdMs = Math.min(LIMITED_ANSWER_DELAY_MS, result.retryAfterSeconds * 1000) * (0.75 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      void reply.header('retry-after', String(result.retryAfterSeconds));
      throw new ApiError(
        429,
        'TOO_MANY_FAILED_AUTHENTICATIONS',
        `too many failed authentications from this client or for this access id; try again in ${result.retryAfterSeconds} s`,
      );
    }
    void reply.header('www-authenticate', REALM);
    throw new ApiError(
      401,
      'AUTH_REQUIRED',
      result.reason === 'invalid'
        ? 'invalid, expired or revoked access id or access key'
        : 'authentication required (HTTP Basic with an access id and key)',
    );
  };
}

async function health(client: Client, store: FleetStore | undefined) {
  const temporal = await client.connection.workflowService.getSystemInfo({}).then(
    () => 'ok' as const,
    () => 'unreachable' as const,
  );
  const facts = store ? await loaded(store) : { catalog: true, inventory: true };
  const status = temporal !== 'ok' ? 'degraded' : facts.catalog && facts.inventory ? 'ready' : 'starting';
  const word = (done: boolean) => (done ? ('loaded' as const) : ('loading' as const));
  return { status, temporal, ...(store ? { catalog: word(facts.catalog), inventory: word(facts.inventory) } : {}) };
}

export function createApi(options: ApiOptions): FastifyInstance {
  const { client, logger, store, checkResponses = false, https, trustProxy, processMetrics = false } = options;
  // Path parameters up to 1,000 characters reach the handlers (and get a 400 naming them), not a bare 414.
  const app = Fastify({
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it; the rule's view of the type differs
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: 1000 },
    bodyLimit: BODY_LIMIT_BYTES,
    ...(https ? { https } : {}),
    ...(trustProxy ? { trustProxy } : {}),
  });
  if (https) addStrictTransportSecurity(app);
  // Only JSON bodies: text/plain (accepted by Fastify by default) is a 415 like any other type.
  app.removeContentTypeParser('text/plain');
  const routes = recordRoutes(app);
  app.addHook('preValidation', checkPathParameters);
  if (checkResponses) app.addHook('onSend', checkResponse);
  // After the response-contract check: the trail reads what was answered.
  if (store) auditTrail(app, store, logger);
  let openApi: Record<string, unknown> | undefined;
  app.get('/openapi.json', async () => (openApi ??= buildOpenApi(routes)));
  void app.register(docsRoutes);
  // The dashboard (/ui): its page and assets are open; its data comes from the API below, with the user's key.
  void app.register(uiRoutes);
  // Outside /api and without authentication, as Prometheus scrapes (api/metrics.ts says why that is safe).
  metricsRoutes(app, { ...(store ? { store } : {}), processMetrics });
  app.get('/health', async (_req, reply) => {
    const answer = await health(client, store);
    return reply.code(answer.status === 'ready' ? 200 : 503).send(answer);
  });
  if (store) authenticatedApis(app, { ...options, store });
  answerUnknownPaths(app, routes);
  answerErrors(app);
  return app;
}

/**
 * Every route as registered, for the OpenAPI document and the 405 answers. Every route of the
 * APIs is in the document: one left out is a mistake caught at start.
 */
function recordRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    routes.push({ method: route.method, url: route.url });
    for (const method of [route.method].flat()) {
      if (route.url.startsWith('/api/') && method !== 'HEAD' && !documentedRoute(method, route.url)) {
        throw new Error(`${method} ${route.url} has no entry in api/route-docs.ts`);
      }
    }
  });
  return routes;
}

/** The SCC API under both spellings, the Sumo API and the service's admin API, each behind authentication. */
function authenticatedApis(app: FastifyInstance, options: ApiOptions & { store: FleetStore }): void {
  const { client, logger, store, taskQueue = 'fleet-upgrades', failureLimits = DEFAULT_FAILURE_LIMITS } = options;
  const authenticate = authenticateWith(new Authenticator(store, failureLimits));
  const behindAuthentication = (prefix: string, routes: (scoped: FastifyInstance) => Promise<void>): void => {
    // Loaded when the app starts (ready or listen), which reports any failure.
    void app.register(
      async (scoped) => {
        scoped.addHook('onRequest', authenticate);
        await routes(scoped);
      },
      { prefix },
    );
  };
  const apiOptions = { client, store, logger, taskQueue, require: requirePermission };
  for (const prefix of SCC_PREFIXES) behindAuthentication(prefix, (scoped) => sccRoutes(scoped, apiOptions));
  behindAuthentication(SUMO_PREFIX, (scoped) => sumoRoutes(scoped, apiOptions));
  behindAuthentication(ADMIN_PREFIX, (scoped) => adminRoutes(scoped, { store, logger, require: requirePermission }));
}

/** A path served with other methods is a 405 with `Allow`, answered before any body is read; any other is a 404. */
function answerUnknownPaths(app: FastifyInstance, routes: readonly RegisteredRoute[]): void {
  const allowed = allowedMethods(routes);
  const methodNotAllowed = (request: FastifyRequest, reply: FastifyReply): void => {
    const path = request.url.replace(/\?.*$/, '');
    const methods = allowed(path);
    if (!methods.length) return;
    void reply.header('allow', methods.join(', '));
    throw new ApiError(
      405,
      'METHOD_NOT_ALLOWED',
      `${request.method} is not served at ${path}; allowed: ${methods.join(', ')}`,
    );
  };
  // Before any body is read: a method the path does not serve is a 405 whatever its body.
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) methodNotAllowed(request, reply);
  });
  app.setNotFoundHandler((request, reply) => {
    methodNotAllowed(request, reply);
    throw new ApiError(404, 'NOT_FOUND', `no such resource: ${request.method} ${request.url.replace(/\?.*$/, '')}`);
  });
}

/** Errors never carry a stack trace to the client; unexpected ones are logged with the request id. */
function answerErrors(app: FastifyInstance): void {
  app.setErrorHandler((raw: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const err = toApiError(raw);
    if (err.status >= 500) request.log.error({ err: raw }, 'request failed');
    // The Sumo API answers in Sumo's error shape.
    if (isSumoUrl(request.url)) return reply.code(err.status).send(sumoErrorBody(err, request.id));
    return reply
      .code(err.status)
      .send({ error_id: err.code, error_text: err.message, ...(err.field ? { field: err.field } : {}) });
  });
}
