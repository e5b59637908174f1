/**
 * Every environment variable the processes read, with its default (README "Configuration" lists
 * the same). Parsed once per process; a bad value stops start-up with a message naming it.
 */
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_MAX_TASKS_IN_FLIGHT } from './rollout';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** A FLEET_API_TRUST_PROXY entry: an address, a CIDR range, or a keyword of Fastify's trustProxy (proxy-addr). */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

export const configSchema = z
  .object({
    FLEET_TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
    FLEET_TEMPORAL_NAMESPACE: z.string().default('default'),
    FLEET_TASK_QUEUE: z.string().default('fleet-upgrades'),
    FLEET_TEMPORAL_PORT: port.default(7233),
    FLEET_TEMPORAL_UI_PORT: port.default(8233),
    FLEET_DATA_DIR: z.string().default('data'),
    /** `sqlite:<path>` (embedded default) or `postgres://user:password@host:port/db`. */
    FLEET_STORE_URL: z
      .string()
      .regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'must start with sqlite: or postgres://')
      .default('sqlite:data/fleet.db'),
    FLEET_API_HOST: z.string().default('127.0.0.1'),
    FLEET_API_PORT: port.default(8080),
    /** HTTPS: the PEM files of the API's certificate (chain) and private key, both or neither (read by api/main.ts, api/tls.ts). */
    FLEET_API_TLS_CERT: z.string().min(1, 'must be the path of a PEM file').optional(),
    FLEET_API_TLS_KEY: z.string().min(1, 'must be the path of a PEM file').optional(),
    /**
     * Behind a reverse proxy: the proxies whose X-Forwarded-For / -Proto / -Host the API believes
     * (Fastify `trustProxy`), so request.ip (failed-authentication limits, audit trail) is the client's.
     * Off by default: trusting them from anyone would let any client choose its own address.
     */
    FLEET_API_TRUST_PROXY: z
      .string()
      .optional()
      .transform((value, ctx) => {
        if (value === undefined || value.trim() === '' || value.trim() === 'false') return undefined;
        const entries = value.split(',').map((entry) => entry.trim());
        const bad = entries.find((entry) => !isProxyAddress(entry));
        if (bad !== undefined) {
          const message =
            bad === 'true'
              ? "true is not accepted: it would believe X-Forwarded-For from any client; name the proxy's addresses, comma-separated (127.0.0.1, 10.0.0.0/8, loopback)"
              : `${JSON.stringify(bad)} is not an IP address, a CIDR range (10.0.0.0/8) or one of loopback, linklocal, uniquelocal (the proxy's addresses, comma-separated)`;
          ctx.addIssue({ code: 'custom', message });
          return z.NEVER;
        }
        return entries;
      }),
    /** Check every API answer against the OpenAPI document (a breach answers 500 and is logged); on in the tests. */
    FLEET_API_CHECK_RESPONSES: z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .default('false')
      .transform((v) => v === 'true'),
    FLEET_DEVICE_API_URL: z.url().default('http://127.0.0.1:8090'),
    FLEET_IMAGE_BASE_URL: z.url().default('http://127.0.0.1:8090/images'),
    /** How often the inventory refresh (a Temporal Schedule) reads every device; 0 turns it off. */
    FLEET_INVENTORY_REFRESH_SECONDS: z.coerce.number().int().min(0).default(300),
    /**
     * The first admin access key. Without both, the API creates one at first start and writes it
     * to `<FLEET_DATA_DIR>/admin-access-key` (mode 600); it is never logged.
     */
    FLEET_ADMIN_ACCESS_ID: z
      .string()
      .min(1)
      .regex(/^[^:]+$/, 'must not contain a colon')
      .optional(),
    FLEET_ADMIN_ACCESS_KEY: z.string().min(12, 'must be at least 12 characters').optional(),
    /** Failed authentications allowed per client address, and per access id, within the window; past them 429 (api/auth.ts). */
    FLEET_AUTH_FAILURES_PER_CLIENT: positiveInt.default(30),
    FLEET_AUTH_FAILURES_PER_ACCESS_ID: positiveInt.default(10),
    FLEET_AUTH_FAILURE_WINDOW_SECONDS: positiveInt.default(60),
    /** The most appliance tasks running at once across every operation of the task queue (domain/task-slots.ts); each operation's rollout max_in_flight applies under it. */
    FLEET_MAX_TASKS_IN_FLIGHT: positiveInt.default(DEFAULT_MAX_TASKS_IN_FLIGHT),
    FLEET_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /*
     * Worker sizing (worker/create-worker.ts passes each to Worker.create). The defaults suit a
     * 2-core worker with a few GiB: the cache holds every running appliance task up to
     * FLEET_MAX_TASKS_IN_FLIGHT plus the operation and batch workflows above them.
     */
    /** Worker `maxCachedWorkflows`: workflows kept in memory (an evicted one is replayed from its history). */
    FLEET_WORKER_MAX_CACHED_WORKFLOWS: positiveInt.default(1500),
    /** Worker `maxConcurrentWorkflowTaskExecutions`. */
    FLEET_WORKER_WORKFLOW_SLOTS: positiveInt.default(40),
    /** Worker `maxConcurrentActivityTaskExecutions`. */
    FLEET_WORKER_ACTIVITY_SLOTS: positiveInt.default(100),
    /** Worker `maxConcurrentLocalActivityExecutions`. */
    FLEET_WORKER_LOCAL_ACTIVITY_SLOTS: positiveInt.default(100),
    /** Worker `workflowTaskPollerBehavior: { type: 'simple-maximum', maximum }`. */
    FLEET_WORKER_WORKFLOW_POLLERS: positiveInt.default(10),
    /** Worker `activityTaskPollerBehavior: { type: 'simple-maximum', maximum }`. */
    FLEET_WORKER_ACTIVITY_POLLERS: positiveInt.default(10),
    /**
     * The worker's Prometheus `/metrics` (worker/metrics.ts: our metrics and the Temporal SDK's).
     * Unset or empty: none (so any number of workers start on one machine); 0: a port the system
     * picks, logged at start; a port in use stops start-up. `npm start` gives its worker 9464.
     */
    FLEET_WORKER_METRICS_PORT: z.preprocess((value) => (value === '' ? undefined : value), port.optional()),
    FLEET_WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** A prebuilt workflow bundle (`npm run build:workflows`); unset: the worker bundles workflows/ at start. */
    FLEET_WORKER_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  })
  .superRefine((config, ctx) => {
    // What Worker.create and the SDK core require of these together (@temporalio/worker worker-options.d.ts).
    const refuse = (variable: keyof typeof config, message: string): void =>
      void ctx.addIssue({ code: 'custom', path: [variable], message });
    const cache = config.FLEET_WORKER_MAX_CACHED_WORKFLOWS;
    if (config.FLEET_WORKER_WORKFLOW_SLOTS < 2) {
      refuse(
        'FLEET_WORKER_WORKFLOW_SLOTS',
        `must be at least 2 while FLEET_WORKER_MAX_CACHED_WORKFLOWS (${cache}) is above 0`,
      );
    } else if (config.FLEET_WORKER_WORKFLOW_SLOTS > cache) {
      refuse('FLEET_WORKER_WORKFLOW_SLOTS', `must not exceed FLEET_WORKER_MAX_CACHED_WORKFLOWS (${cache})`);
    }
    if (config.FLEET_WORKER_WORKFLOW_POLLERS < 2) {
      refuse(
        'FLEET_WORKER_WORKFLOW_POLLERS',
        `must be at least 2 while FLEET_WORKER_MAX_CACHED_WORKFLOWS (${cache}) is above 0 (the worker polls its sticky queue and the task queue)`,
      );
    } else if (config.FLEET_WORKER_WORKFLOW_POLLERS > config.FLEET_WORKER_WORKFLOW_SLOTS) {
      refuse(
        'FLEET_WORKER_WORKFLOW_POLLERS',
        `must not exceed FLEET_WORKER_WORKFLOW_SLOTS (${config.FLEET_WORKER_WORKFLOW_SLOTS})`,
      );
    }
    if (config.FLEET_WORKER_ACTIVITY_POLLERS > config.FLEET_WORKER_ACTIVITY_SLOTS) {
      refuse(
        'FLEET_WORKER_ACTIVITY_POLLERS',
        `must not exceed FLEET_WORKER_ACTIVITY_SLOTS (${config.FLEET_WORKER_ACTIVITY_SLOTS})`,
      );
    }
    // HTTPS needs both files; one alone is a mistake, not plain HTTP.
    if ((config.FLEET_API_TLS_CERT === undefined) !== (config.FLEET_API_TLS_KEY === undefined)) {
      const [missing, given] =
        config.FLEET_API_TLS_CERT === undefined
          ? (['FLEET_API_TLS_CERT', 'FLEET_API_TLS_KEY'] as const)
          : (['FLEET_API_TLS_KEY', 'FLEET_API_TLS_CERT'] as const);
      refuse(
        missing,
        `must be set when ${given} is: HTTPS needs both the certificate and the private key (PEM files), plain HTTP neither`,
      );
    }
    const bundle = config.FLEET_WORKER_WORKFLOW_BUNDLE;
    if (bundle !== undefined) {
      const stat = statSync(bundle, { throwIfNoEntry: false });
      if (!stat)
        refuse(
          'FLEET_WORKER_WORKFLOW_BUNDLE',
          `no file at ${resolve(bundle)} (build one with npm run build:workflows)`,
        );
      else if (!stat.isFile()) refuse('FLEET_WORKER_WORKFLOW_BUNDLE', `${resolve(bundle)} is not a file`);
    }
  });
export type FleetConfig = z.infer<typeof configSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): FleetConfig {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${issues}`);
  }
  return result.data;
}
