/**
 * Every environment variable the processes read, with its default (README "Configuration" lists
 * the same). Parsed once per process; a bad value stops start-up with a message naming it.
 */
import { z } from 'zod';
import { DEFAULT_MAX_TASKS_IN_FLIGHT } from './rollout';

const port = z.coerce.number().int().min(0).max(65535);

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
  /** The most tasks of one operation running at once, under any rollout max_in_flight (domain/rollout.ts). */
  FLEET_MAX_TASKS_IN_FLIGHT: z.coerce.number().int().positive().default(DEFAULT_MAX_TASKS_IN_FLIGHT),
  FLEET_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
