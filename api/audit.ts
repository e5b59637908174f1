/**
 * The audit trail: every change made through the API (every request under `/api/` that is not a
 * GET or HEAD, whatever its outcome) and every refused attempt on any method (401, 403, 429) is
 * recorded in the store with who (the access id, the attempted one for a refusal), when, what (the
 * route's operationId and path), from where (the client address) and how it ended (`ok`, or the
 * status and error code). A 429 that repeats the one before it is counted rather than written
 * (RefusalDigest). What it records is chosen, never copied: the path parameters and, for a
 * create, the created id. Never a key, an Authorization header or a request or response body (they
 * can carry secrets: access keys in create/rotate answers, PUT /logging extension values); for
 * PUT /logging only the level and the names of the extension properties.
 *
 * `GET /api/fleet/1.0/audit` (admin, `manage`) reads it; so does `fleet audit`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditQuery, type AuditEntry } from '../domain/access';
import type { Logger } from '../domain/logging';
import { secondsToMs } from '../domain/operation';
import { MAX } from '../domain/scc';
import type { FleetStore } from '../store/fleet-store';
import type { AdminOptions } from './admin-routes';
import { parseBasic } from './auth';
import { parseRequest } from './parse';
import { documentedRoute, openApiPath, operationIdOf } from './route-docs';

/** One entry as the store takes it. */
export type AuditRecord = Parameters<FleetStore['recordAudit']>[0];

/** Statuses that are refusals of the caller (recorded on every method). */
const REFUSALS = new Set([401, 403, 429]);
/** The longest answer body read for an error code or a created id (both are near the start of small bodies). */
const MAX_PARSED_BODY = 64 * 1024;

/** How long repeats of a 429 are counted into one entry after the first is written. */
export const REFUSAL_DIGEST_MS = 10_000;

const clip = (value: string, max: number = MAX.name): string => (value.length > max ? value.slice(0, max) : value);

/** An entry as answered: time in seconds since the epoch (with milliseconds). */
export function auditView(record: Awaited<ReturnType<FleetStore['listAudit']>>[number]): AuditEntry {
  return {
    id: record.id,
    time: record.atMs / 1000,
    actor: record.actor,
    action: record.action,
    target: record.target,
    outcome: record.outcome,
    client: record.client,
    details: record.details,
  };
}

/** Whether a request is audited: a change under /api/, or a refusal anywhere. */
export function isAudited(method: string, path: string, status: number): boolean {
  return REFUSALS.has(status) || (path.startsWith('/api/') && method !== 'GET' && method !== 'HEAD');
}

/** What the answer body says that the trail keeps: the error code of a refusal, the id of what a create made. */
interface Answered {
  errorCode?: string;
  createdId?: string;
  rebootId?: string;
}

function readAnswer(status: number, payload: unknown): Answered {
  if (typeof payload !== 'string' || payload.length > MAX_PARSED_BODY || !payload.startsWith('{')) return {};
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return {};
  }
  const asText = (value: unknown): string | undefined =>
    typeof value === 'string' || typeof value === 'number' ? clip(String(value)) : undefined;
  if (status >= 400) {
    // SCC and admin errors: error_id; Sumo errors: code.
    const code = asText(body.error_id) ?? asText(body.code);
    return code !== undefined ? { errorCode: code } : {};
  }
  if (status === 201 || status === 202) {
    const createdId = asText(body.id) ?? asText(body.access_id);
    const rebootId = asText(body.reboot_id);
    return { ...(createdId !== undefined ? { createdId } : {}), ...(rebootId !== undefined ? { rebootId } : {}) };
  }
  return {};
}

/** The actor: the authenticated caller, else the access id a Basic header names (never its key), else ''. */
function actorOf(request: FastifyRequest): string {
  if (request.caller?.accessId) return clip(request.caller.accessId);
  return clip(parseBasic(request.headers.authorization)?.accessId ?? '');
}

/** The route's OpenAPI operationId, or `METHOD /path` for a path no route serves. */
function actionOf(request: FastifyRequest, path: string): string {
  const url = request.routeOptions.url;
  const route = url === undefined ? undefined : documentedRoute(request.method, url);
  if (!route || url === undefined) return clip(`${request.method} ${path}`);
  return operationIdOf(request.method, route.prefix, openApiPath(url).slice(route.prefix.length));
}

/** The path parameters, what a create made, and for PUT /logging the level and the extension names. */
function detailsOf(request: FastifyRequest, path: string, answered: Answered): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  const params = request.params;
  if (params && typeof params === 'object' && request.routeOptions.url !== undefined) {
    for (const [name, value] of Object.entries(params as Record<string, unknown>))
      if (typeof value === 'string') details[name] = clip(value, 1000);
  }
  if (answered.createdId !== undefined) details.created_id = answered.createdId;
  if (answered.rebootId !== undefined) details.reboot_id = answered.rebootId;
  if (request.method === 'PUT' && /\/logging$/.test(path) && request.routeOptions.url !== undefined) {
    const body = request.body;
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const { level } = body as { level?: unknown };
      if (typeof level === 'string') details.level = clip(level, 32);
      details.extensions = Object.keys(body)
        .filter((key) => key !== 'level')
        .map((key) => clip(key));
    }
  }
  return details;
}

/**
 * 429s come by the thousand in a flood, each refused without a key checked, and a store write
 * apiece would cost the API's event loop more than the refusal. The first of a kind (the same
 * client, access id, action, target, outcome and details) is written at once; its repeats within
 * the next REFUSAL_DIGEST_MS are one entry written when that time ends (or the API closes): the
 * same fields, the time of the last, and `details.refused` (how many), `details.first_time` and
 * `details.last_time` (seconds). Nothing is lost but each repeat's own time.
 */
export class RefusalDigest {
  private readonly open = new Map<
    string,
    { entry: AuditRecord; count: number; firstMs: number; lastMs: number; timer: NodeJS.Timeout }
  >();

  constructor(
    private readonly write: (entry: AuditRecord) => Promise<void>,
    private readonly windowMs: number = REFUSAL_DIGEST_MS,
  ) {}

  /** The entry to write now, or undefined when it repeats one written within the window (then it is counted). */
  add(entry: AuditRecord): AuditRecord | undefined {
    const kind = JSON.stringify([entry.client, entry.actor, entry.action, entry.target, entry.outcome, entry.details]);
    const open = this.open.get(kind);
    if (open) {
      if (!open.count) open.firstMs = entry.atMs;
      open.count++;
      open.lastMs = entry.atMs;
      return undefined;
    }
    const timer = setTimeout(() => void this.close(kind), this.windowMs);
    timer.unref();
    this.open.set(kind, { entry, count: 0, firstMs: entry.atMs, lastMs: entry.atMs, timer });
    return entry;
  }

  /** Writes every digest now (the API is closing). */
  async flush(): Promise<void> {
    await Promise.all([...this.open.keys()].map((kind) => this.close(kind)));
  }

  private async close(kind: string): Promise<void> {
    const open = this.open.get(kind);
    if (!open) return;
    this.open.delete(kind);
    clearTimeout(open.timer);
    if (!open.count) return;
    const { firstMs, lastMs } = open;
    const details = { ...open.entry.details, refused: open.count, first_time: firstMs / 1e3, last_time: lastMs / 1e3 };
    await this.write({ ...open.entry, atMs: open.lastMs, details });
  }
}

/**
 * Adds the audit trail's hooks to the root app: onSend reads the answer's error code or created id,
 * onResponse records the entry. Register it after any onSend hook that may replace an answer
 * (the response-contract check), so it reads what was answered. A failed write never fails the
 * request: it is logged at error level with the request id.
 */
export function auditTrail(app: FastifyInstance, store: FleetStore, logger: Logger): void {
  const answers = new WeakMap<FastifyRequest, Answered>();
  const digest = new RefusalDigest(async (entry) => {
    await store.recordAudit(entry).catch((err: unknown) => {
      const { action, target } = entry;
      const refused = entry.details.refused;
      logger.error({ err, action, target, refused }, 'audit trail: the entry could not be recorded');
    });
  });
  app.addHook('onClose', async () => digest.flush());

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const path = request.url.replace(/\?.*$/, '');
    if (isAudited(request.method, path, reply.statusCode)) answers.set(request, readAnswer(reply.statusCode, payload));
    return payload;
  });

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.replace(/\?.*$/, '');
    const status = reply.statusCode;
    if (!isAudited(request.method, path, status)) return;
    let entry: AuditRecord | undefined;
    try {
      const answered = answers.get(request) ?? {};
      entry = {
        atMs: Date.now(),
        actor: actorOf(request),
        action: actionOf(request, path),
        target: clip(path, MAX.text),
        outcome:
          status >= 200 && status < 300 ? 'ok' : clip(`${status}${answered.errorCode ? ` ${answered.errorCode}` : ''}`),
        client: clip(request.ip ?? ''),
        details: detailsOf(request, path, answered),
      };
      const now = status === 429 ? digest.add(entry) : entry;
      if (now) await store.recordAudit(now);
    } catch (err) {
      logger.error(
        { err, requestId: request.id, action: entry?.action, target: entry?.target, status },
        'audit trail: the entry could not be recorded',
      );
    }
  });
}

/** `GET /audit` under the admin prefix: entries oldest first, since a time (inclusive), of one actor, at most `limit`. */
export async function auditRoutes(app: FastifyInstance, options: AdminOptions): Promise<void> {
  const { store, require } = options;
  app.get('/audit', async (request) => {
    require(request, 'manage');
    const query = parseRequest(auditQuery, request.query);
    const records = await store.listAudit({
      ...(query.since !== undefined ? { sinceMs: secondsToMs(query.since) } : {}),
      ...(query.actor !== undefined ? { actor: query.actor } : {}),
      limit: query.limit,
    });
    return records.map(auditView);
  });
}

/** The CLI's own entries: actor `cli:<os user>`, client `cli`. */
export function cliAuditRecord(
  user: string,
  action: string,
  target: string,
  outcome: string,
  details: Record<string, unknown> = {},
  nowMs = Date.now(),
): AuditRecord {
  return {
    atMs: nowMs,
    actor: clip(`cli:${user}`),
    action: clip(action),
    target: clip(target, MAX.text),
    outcome: clip(outcome),
    client: 'cli',
    details,
  };
}
