/**
 * The SCC Upgrades API on a real socket over the real stack (dev server, simulator process, SQLite
 * store, worker): one access key per role, the inventory synced, the Riverbed catalog present (startStack adds it),
 * and `call` to send a request as one of those roles under either path spelling.
 */
import type { FastifyInstance } from 'fastify';
import { putAccessKey } from '../../api/auth';
import { SCC_PREFIXES } from '../../api/scc-routes';
import { createApi } from '../../api/server';
import { runInventoryRefresh } from '../../client/inventory';
import { createLogger, type Logger } from '../../domain/logging';
import { listenOnLoopback } from './servers';
import { startStack, type Stack } from './stack';

/** Access id → key; each access id has the role of the same name (reader: read_only, internal: internal_service). */
export const SCC_KEYS = {
  admin: 'admin-key-0123456789',
  operator: 'operator-key-0123456789',
  reader: 'reader-key-0123456789',
  internal: 'internal-key-0123456789',
};
export type Who = keyof typeof SCC_KEYS;

/** The two spellings the seed uses: `cmc.upgrades` and `cmcc.upgrades`. */
export const [CMC_PREFIX, CMCC_PREFIX] = SCC_PREFIXES;

export const basicAuth = (who: Who): string => `Basic ${Buffer.from(`${who}:${SCC_KEYS[who]}`).toString('base64')}`;

export interface CallOptions {
  /** Default operator; null sends no credentials. */
  who?: Who | null;
  /** JSON-encoded unless a string. */
  body?: unknown;
  contentType?: string;
  /** Default the `cmc.upgrades` spelling. */
  prefix?: string;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface SccApi {
  stack: Stack;
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  base: string;
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  /** Keys a test made: like SCC_KEYS, they must never appear in a log line or an answer (checked at stop). */
  secrets: Set<string>;
  /** Every line the API logged (at info and above). */
  logLines: string[];
  stop(): Promise<void>;
}

/**
 * The secrets check of every API suite: no test key (nor one a test created) in any line the API
 * logged or any answer it gave, except the one answer that shows a created or rotated key.
 */
function leakedSecrets(secrets: Iterable<string>, texts: readonly string[]): string[] {
  return [...secrets].filter((secret) => texts.some((text) => text.includes(secret)));
}

/** `stack`: the stack to serve (default startStack, the dev server); e.g. startClusterStack (test/helpers/cluster.ts). */
export async function startSccApi(options: {
  taskQueue: string;
  appliances: number;
  speed: number;
  collectors?: number;
  logger?: Logger;
  stack?: typeof startStack;
}): Promise<SccApi> {
  const logLines: string[] = [];
  const answers: string[] = [];
  const secrets = new Set<string>(Object.values(SCC_KEYS));
  const {
    taskQueue,
    appliances,
    speed,
    logger = createLogger('test-api', 'info', { write: (line: string) => void logLines.push(line) }),
  } = options;
  const stack = await (options.stack ?? startStack)({
    appliances,
    speed,
    taskQueue,
    ...(options.collectors ? { collectors: options.collectors } : {}),
  });
  let app: FastifyInstance | undefined;
  try {
    await Promise.all([
      putAccessKey(stack.store, 'admin', SCC_KEYS.admin, 'admin'),
      putAccessKey(stack.store, 'operator', SCC_KEYS.operator, 'operator'),
      putAccessKey(stack.store, 'reader', SCC_KEYS.reader, 'read_only'),
      putAccessKey(stack.store, 'internal', SCC_KEYS.internal, 'internal_service'),
    ]);
    await runInventoryRefresh(stack.env.client, taskQueue);
    app = createApi({ client: stack.env.client, logger, store: stack.store, taskQueue, checkResponses: true });
    const base = await listenOnLoopback(app);
    const started = app;

    async function call(method: string, path: string, callOptions: CallOptions = {}): Promise<CallResult> {
      const { who = 'operator', body, contentType = 'application/json', prefix = CMC_PREFIX } = callOptions;
      const headers: Record<string, string> = {};
      if (who) headers.authorization = basicAuth(who);
      if (body !== undefined) headers['content-type'] = contentType;
      const res = await fetch(`${base}${prefix}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      // A created or rotated key is shown once, in its own answer: the test adds it to `secrets`.
      if (!/\/access_keys(\/[^/]+\/rotate)?$/.test(path) || method !== 'POST') answers.push(text);
      return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
    }

    return {
      stack,
      app: started,
      base,
      call,
      secrets,
      logLines,
      async stop() {
        await started.close();
        await stack.stop();
        const leaked = leakedSecrets(secrets, [...logLines, ...answers]);
        if (leaked.length) throw new Error(`${leaked.length} access key(s) appeared in the API's log or answers`);
      },
    };
  } catch (err) {
    await app?.close();
    await stack.stop();
    throw err;
  }
}
