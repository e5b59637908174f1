/**
 * Rollout safety of an upgrade or downgrade (extension properties of the operation, schemas in
 * domain/operation-schemas.ts): a health check after the task's final reboot, automatic rollback to
 * the version the appliance ran before, and per-task retries. Pure rules: safe inside workflows.
 * Defaults keep the seed's behaviour: no health check, no rollback, no retry.
 */
import type { DeviceHealth } from './device-api';
import type { HealthCheckPolicy, RollbackPolicy, TaskRetryPolicy } from './operation-schemas';
import type { Version } from './scc';

export type { HealthCheckPolicy, RollbackPolicy, TaskRetryPolicy };

/** What each appliance task of an operation is given of its safety policy. */
export interface TaskSafety {
  health_check?: HealthCheckPolicy;
  rollback?: RollbackPolicy;
  task_retries?: TaskRetryPolicy;
}

/** The safety policy of a (validated) operation document. */
export function taskSafety(operation: Readonly<Record<string, unknown>>): TaskSafety {
  return {
    ...(operation.health_check ? { health_check: operation.health_check as HealthCheckPolicy } : {}),
    ...(operation.rollback ? { rollback: operation.rollback as RollbackPolicy } : {}),
    ...(operation.task_retries ? { task_retries: operation.task_retries as TaskRetryPolicy } : {}),
  };
}

/** Why a health reading is not healthy (every service up, no error counted since boot), or undefined when it is. */
export function healthProblem(health: DeviceHealth): string | undefined {
  const notUp = health.services.filter((s) => s.state !== 'up').map((s) => `${s.name} ${s.state}`);
  const errors = Object.entries(health.error_counters)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n}`);
  const problems = [
    ...(notUp.length ? [`services not up: ${notUp.join(', ')}`] : []),
    ...(errors.length ? [`errors since boot: ${errors.join(', ')}`] : []),
  ];
  return problems.length ? problems.join('; ') : undefined;
}

/** How a failed attempt of a task ended: its own failure, or out of its time limit. */
export type AttemptEnd = 'failed' | 'timed_out';

/**
 * After attempt `attempt` (1-based) ended so: the milliseconds to wait before the next attempt, or
 * undefined when the task ends here.
 */
export function retryDelayMs(
  policy: TaskRetryPolicy | undefined,
  attempt: number,
  end: AttemptEnd,
): number | undefined {
  if (!policy || attempt > policy.max || !policy.on.includes(end)) return undefined;
  return policy.backoff_seconds * 1000;
}

/** Whether a failed appliance is returned to the version it ran before. */
export const rollsBackOnFailure = (policy: RollbackPolicy | undefined): boolean =>
  policy === 'on_failure' || policy === 'all';

/**
 * How to return an appliance to `previous` from what it runs and holds now: nothing to do, a
 * reboot to the other partition (A/B: it still holds the previous version), or the previous
 * version's image installed again.
 */
export type RollbackStep = 'none' | 'switch_partition' | 'image';
export function rollbackStep(
  device: { running_version: Version; standby_version: Version | null },
  previous: Version,
): RollbackStep {
  if (device.running_version.version_id === previous.version_id) return 'none';
  if (device.standby_version?.version_id === previous.version_id) return 'switch_partition';
  return 'image';
}

/** The final message of a task whose appliance was rolled back. */
export const rolledBackMessage = (reason: string, version: Version): string =>
  `${reason}; rolled back to ${version.version_id}`;

/** One line for `fleet status`, or undefined when the operation sets no safety property. */
export function safetySummary(operation: Readonly<Record<string, unknown>>): string | undefined {
  const safety = taskSafety(operation);
  const parts: string[] = [];
  const h = safety.health_check;
  if (h) parts.push(`health check: settle ${h.settle_seconds} s, ${h.probes} probe(s) ${h.interval_seconds} s apart`);
  if (safety.rollback) parts.push(`rollback: ${safety.rollback}`);
  const r = safety.task_retries;
  if (r) parts.push(`task retries: up to ${r.max} on ${r.on.join('/')}, ${r.backoff_seconds} s apart`);
  return parts.length ? parts.join('; ') : undefined;
}

/** The longest a health check can take: its settle time and the waits between its probes, in seconds. */
export const healthCheckSeconds = (policy: HealthCheckPolicy): number =>
  policy.settle_seconds + (policy.probes - 1) * policy.interval_seconds;

/**
 * Why an operation's health check cannot work, or undefined: it runs after the task's own reboot
 * (so it needs `reboot` without a deferred reboot), within each attempt's time limit.
 */
export function healthCheckRefusal(
  policy: HealthCheckPolicy,
  operation: { reboot: boolean; deferredReboot: boolean; taskTimeoutSeconds: number },
): string | undefined {
  if (!operation.reboot || operation.deferredReboot)
    return "a health check runs after the task's own reboot: it needs reboot: true without a reboot_time";
  const seconds = healthCheckSeconds(policy);
  if (seconds >= operation.taskTimeoutSeconds)
    return `settle_seconds + (probes - 1) × interval_seconds is ${seconds} s: it must be less than the task's time limit (${operation.taskTimeoutSeconds} s)`;
  return undefined;
}
