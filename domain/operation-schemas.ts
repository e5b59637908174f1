/**
 * The zod schemas of an operation request's extension properties (rollout policy, task time
 * limit). Apart from domain/rollout.ts and domain/operation.ts so that workflow code, which uses
 * those pure rules, does not bundle zod into every workflow it runs.
 */
import { z } from 'zod';

/**
 * Extension property `task_timeout` of an operation request: each appliance task's time limit in
 * seconds (default 30 minutes, the Sumo seed's limit), at most 7 days (a device job's own limit).
 */
export const taskTimeout = z
  .number()
  .int('must be a whole number of seconds')
  .positive('must be a positive number of seconds')
  .max(7 * 24 * 3600, 'must be at most 604800 seconds (7 days)');

const waveSize = z.union([
  z.number().int().positive(),
  z.string().regex(/^(100|[1-9]?[0-9](\.[0-9]+)?)%$/, 'a wave size is a positive count or a percentage such as "5%"'),
]);

/** What the rollout does when a gate holds it: one of two words. */
function holdPolicy<A extends string, B extends string>(a: A, b: B) {
  return z.enum([a, b], `must be "${a}" or "${b}"`);
}

export const rolloutPolicy = z.strictObject({
  waves: z.array(waveSize).min(1).max(1_000).optional(),
  max_in_flight: z.number().int().positive().optional(),
  failure_threshold: z
    .strictObject({
      max_failures: z.number().int().nonnegative().optional(),
      max_failure_percent: z.number().min(0).max(100).optional(),
      min_sample: z.number().int().positive().default(1),
    })
    .refine(
      (t) => t.max_failures !== undefined || t.max_failure_percent !== undefined,
      'set max_failures or max_failure_percent',
    )
    .optional(),
  // Seconds since the epoch, before the year 10000 (as the seed's timestamps, domain/scc.ts).
  maintenance_window_end: z.number().nonnegative().max(253_402_300_799).optional(),
  // Rollout safety (domain/rollout.ts): gates between waves and a watch on stalled progress.
  approval: z
    .strictObject({
      after_waves: z.array(z.number().int().positive('a wave number counts from 1')).min(1).max(1_000),
      timeout_seconds: z
        .number()
        .int('must be a whole number of seconds')
        .positive('must be a positive number of seconds')
        .max(30 * 24 * 3600, 'must be at most 2592000 seconds (30 days)')
        .optional(),
      on_timeout: holdPolicy('abort', 'continue').optional(),
    })
    .optional(),
  success_threshold_percent: z.number().min(0).max(100).optional(),
  on_below_threshold: holdPolicy('pause', 'abort').optional(),
  progress_deadline_seconds: z
    .number()
    .int('must be a whole number of seconds')
    .positive('must be a positive number of seconds')
    .max(7 * 24 * 3600, 'must be at most 604800 seconds (7 days)')
    .optional(),
  on_progress_deadline: holdPolicy('pause', 'abort').optional(),
});
export type RolloutPolicy = z.infer<typeof rolloutPolicy>;

/**
 * Extension property `approval` of an operation as the service answers it: where its rollout
 * stands on the approval after a wave (workflows/types.ts ApprovalInfo). Seconds since the epoch.
 */
export const approvalInfo = z.looseObject({
  state: z
    .enum(['awaiting', 'approved', 'rejected', 'timed_out'])
    .meta({ description: 'awaiting: approve or reject (POST …/approve, …/reject); timed_out: on_timeout acted' }),
  after_wave: z.number().int().positive(),
  since: z.number(),
  timeout_time: z.number().optional(),
  decided_by: z.string().optional(),
  decided_time: z.number().optional(),
});

/** The answer of an approve or reject: the operation's id and its approval as recorded. */
export const approvalDecisionAnswer = z.looseObject({ id: z.string(), approval: approvalInfo });

/**
 * Extension property `health_check` of an upgrade or downgrade (domain/rollout-safety.ts): after
 * its final reboot, each task waits `settle_seconds`, then reads the device's health up to `probes`
 * times, `interval_seconds` apart, until it reports healthy; otherwise the task fails.
 */
export const healthCheck = z.strictObject({
  settle_seconds: z
    .number()
    .int('must be a whole number of seconds')
    .nonnegative()
    .max(3600, 'must be at most 3600 seconds')
    .default(60),
  probes: z.number().int('must be a whole number').positive().max(100, 'must be at most 100').default(5),
  interval_seconds: z
    .number()
    .int('must be a whole number of seconds')
    .positive()
    .max(3600, 'must be at most 3600 seconds')
    .default(30),
});
export type HealthCheckPolicy = z.infer<typeof healthCheck>;

/**
 * Extension property `rollback`: `none` (default), `on_failure` (an appliance whose health check
 * fails, or whose install failed once the standby partition was written, is returned to the version
 * it ran before), `all` (as on_failure, and when the failure threshold stops the rollout, the
 * appliances already upgraded are rolled back too).
 */
export const ROLLBACK_POLICIES = ['none', 'on_failure', 'all'] as const;
export const rollback = z.enum(ROLLBACK_POLICIES);
export type RollbackPolicy = z.infer<typeof rollback>;

/** Extension property `task_retries`: a failed or timed-out task runs again, up to `max` more times, `backoff_seconds` apart. */
export const TASK_RETRY_ON = ['failed', 'timed_out'] as const;
export const taskRetries = z.strictObject({
  max: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10, 'must be at most 10'),
  on: z.array(z.enum(TASK_RETRY_ON)).min(1, 'name at least one of failed, timed_out').default(['failed', 'timed_out']),
  backoff_seconds: z
    .number()
    .int('must be a whole number of seconds')
    .nonnegative()
    .max(3600, 'must be at most 3600 seconds')
    .default(0),
});
export type TaskRetryPolicy = z.infer<typeof taskRetries>;
