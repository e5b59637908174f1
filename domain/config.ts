/**
 * Every environment variable the processes read, with its default (README "Configuration" lists
 * the same). Parsed once per process; a bad value stops start-up with a message naming it.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_MAX_TASKS_IN_FLIGHT } from './rollout';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

export const configSchema = z.object({
  FLEET_TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  FLEET_TEMPORAL_NAMESPACE: z.string().default('default'),
  FLEET_TASK_QUEUE: z.string().default('fleet-upgrades'),
  FLEET_TEMPORAL_PORT: port.default(7233),
  FLEET_TEMPORAL_UI_PORT: port.default(8233),
  FLEET_DATA_DIR: z.string().default('data'),
  /** `sqlite:<path>` (embedded default) or `postgres://user:password@host:port/db`. */
  FLEET_STORE_URL: z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'must start with sqlite: or postgres://').default('sqlite:data/fleet.db'),
  FLEET_API_HOST: z.string().default('127.0.0.1'),
  FLEET_API_PORT: port.default(8080),
  /** Check every API answer against the OpenAPI document (a breach answers 500 and is logged); on in the tests. */
  FLEET_API_CHECK_RESPONSES: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false').transform((v) => v === 'true'),
  FLEET_DEVICE_API_URL: z.string().url().default('http://127.0.0.1:8090'),
  FLEET_IMAGE_BASE_URL: z.string().url().default('http://127.0.0.1:8090/images'),
  /** How often the inventory refresh (a Temporal Schedule) reads every device; 0 turns it off. */
  FLEET_INVENTORY_REFRESH_SECONDS: z.coerce.number().int().min(0).default(300),
  /**
   * The first admin access key. Without both, the API creates one at first start and writes it
   * to `<FLEET_DATA_DIR>/admin-access-key` (mode 600); it is never logged.
   */
  FLEET_ADMIN_ACCESS_ID: z.string().min(1).regex(/^[^:]+$/, 'must not contain a colon').optional(),
  FLEET_ADMIN_ACCESS_KEY: z.string().min(12, 'must be at least 12 characters').optional(),
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
  /** A prebuilt workflow bundle (`npm run build:workflows`); unset: the worker bundles workflows/ at start. */
  FLEET_WORKER_WORKFLOW_BUNDLE: z.string().min(1).optional(),
}).superRefine((config, ctx) => {
  // What Worker.create and the SDK core require of these together (@temporalio/worker worker-options.d.ts).
  const refuse = (variable: keyof typeof config, message: string): void => void ctx.addIssue({ code: 'custom', path: [variable], message });
  const cache = config.FLEET_WORKER_MAX_CACHED_WORKFLOWS;
  if (config.FLEET_WORKER_WORKFLOW_SLOTS < 2) {
    refuse('FLEET_WORKER_WORKFLOW_SLOTS', `must be at least 2 while FLEET_WORKER_MAX_CACHED_WORKFLOWS (${cache}) is above 0`);
  } else if (config.FLEET_WORKER_WORKFLOW_SLOTS > cache) {
    refuse('FLEET_WORKER_WORKFLOW_SLOTS', `must not exceed FLEET_WORKER_MAX_CACHED_WORKFLOWS (${cache})`);
  }
  if (config.FLEET_WORKER_WORKFLOW_POLLERS < 2) {
    refuse('FLEET_WORKER_WORKFLOW_POLLERS', `must be at least 2 while FLEET_WORKER_MAX_CACHED_WORKFLOWS (${cache}) is above 0 (the worker polls its sticky queue and the task queue)`);
  } else if (config.FLEET_WORKER_WORKFLOW_POLLERS > config.FLEET_WORKER_WORKFLOW_SLOTS) {
    refuse('FLEET_WORKER_WORKFLOW_POLLERS', `must not exceed FLEET_WORKER_WORKFLOW_SLOTS (${config.FLEET_WORKER_WORKFLOW_SLOTS})`);
  }
  if (config.FLEET_WORKER_ACTIVITY_POLLERS > config.FLEET_WORKER_ACTIVITY_SLOTS) {
    refuse('FLEET_WORKER_ACTIVITY_POLLERS', `must not exceed FLEET_WORKER_ACTIVITY_SLOTS (${config.FLEET_WORKER_ACTIVITY_SLOTS})`);
  }
  const bundle = config.FLEET_WORKER_WORKFLOW_BUNDLE;
  if (bundle !== undefined) {
    const stat = statSync(bundle, { throwIfNoEntry: false });
    if (!stat) refuse('FLEET_WORKER_WORKFLOW_BUNDLE', `no file at ${resolve(bundle)} (build one with npm run build:workflows)`);
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
