/**
 * Rollout policy: how an operation moves through a fleet. An extension of the seed's operation
 * object (property `rollout`); without it, every appliance starts at once, as the seed describes.
 *
 * - `waves`: batch sizes, as counts or percentages of the operation's appliances (rounded up, at
 *   least 1), e.g. `[1, "5%", "25%"]`: a canary of one, then 5% at a time, then 25% at a time. The
 *   last size repeats until every appliance has had its turn (as Ansible's `serial`). A wave starts
 *   when the one before it has finished.
 * - `max_in_flight`: at most this many tasks running at once, within a wave.
 * - `failure_threshold`: the rollout stops when failures exceed `max_failures`, or when the failed
 *   share of finished tasks exceeds `max_failure_percent` once at least `min_sample` have finished
 *   (as AWS IoT Jobs' abort criteria and Ansible's max_fail_percentage). Tasks already running
 *   finish; tasks not started end `cancelled`.
 * - `maintenance_window_end`: seconds since the epoch; no task starts at or after it, and the
 *   ones that had not started end `cancelled`.
 */
import type { RolloutPolicy } from './operation-schemas';

export type { RolloutPolicy };

/** Splits the appliances into waves, in their given order. */
export function planWaves<T>(appliances: readonly T[], policy: RolloutPolicy = {}): T[][] {
  const sizes = policy.waves ?? ['100%'];
  const total = appliances.length;
  const waves: T[][] = [];
  let next = 0;
  for (let i = 0; next < total; i++) {
    const spec = sizes[Math.min(i, sizes.length - 1)]!;
    const size = typeof spec === 'number' ? spec : Math.max(1, Math.ceil((total * Number.parseFloat(spec)) / 100));
    waves.push(appliances.slice(next, next + size));
    next += size;
  }
  return waves;
}

export interface RolloutCounts {
  finished: number;
  failed: number;
}

/** Why the rollout must stop, or undefined while it may go on. */
export function failureThresholdReached(counts: RolloutCounts, policy: RolloutPolicy = {}): string | undefined {
  const threshold = policy.failure_threshold;
  if (!threshold) return undefined;
  if (threshold.max_failures !== undefined && counts.failed > threshold.max_failures) {
    return `${counts.failed} task(s) failed, more than the ${threshold.max_failures} allowed`;
  }
  if (threshold.max_failure_percent !== undefined && counts.finished >= threshold.min_sample && counts.finished > 0) {
    const percent = (counts.failed / counts.finished) * 100;
    if (percent > threshold.max_failure_percent) {
      return `${counts.failed} of ${counts.finished} finished task(s) failed (${percent.toFixed(1)}%), more than the ${threshold.max_failure_percent}% allowed`;
    }
  }
  return undefined;
}

/**
 * Operations with more appliances than this run their tasks in batches (child workflows of at most
 * this many tasks each), so no workflow history grows past a few thousand events.
 */
export const TASKS_PER_BATCH = 500;

/**
 * The service's own limit on appliance tasks running at once across every operation
 * (FLEET_MAX_TASKS_IN_FLIGHT; domain/task-slots.ts), under which each operation's `max_in_flight`
 * applies: each running task is a workflow the worker keeps in memory.
 */
export const DEFAULT_MAX_TASKS_IN_FLIGHT = 1000;

/**
 * The serials in the order their tasks are due (local-time schedules), ties in the given order:
 * a task whose local time is hours away must not hold back one that is due now.
 */
export function byStartInstant(serials: readonly string[], startAtBySerial: Readonly<Record<string, number>> | undefined): string[] {
  if (!startAtBySerial) return [...serials];
  return serials.map((serial, i) => ({ serial, i, at: startAtBySerial[serial] ?? Number.NEGATIVE_INFINITY })).sort((a, b) => a.at - b.at || a.i - b.i).map((e) => e.serial);
}

/** Splits a list into batches of at most `size` (workflows and activities take batches to keep histories small). */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface BatchPlan<T> {
  batches: T[][];
  /** How many batches of the wave run at once. */
  concurrent: number;
  /** Each batch's own limit of tasks in flight (undefined: all at once). */
  maxInFlightPerBatch?: number;
}

/**
 * Splits one wave into batches of at most `batchSize`, in order. Without `max_in_flight` every
 * batch runs at once (the seed's "all at once"); with it, just enough batches run at once to keep
 * that many tasks in flight, and the limit is shared among them (never exceeded in total).
 */
export function planBatches<T>(wave: readonly T[], maxInFlight: number | undefined, batchSize = TASKS_PER_BATCH): BatchPlan<T> {
  const batched = batches(wave, batchSize);
  if (maxInFlight === undefined) return { batches: batched, concurrent: Math.max(1, batched.length) };
  const concurrent = Math.max(1, Math.min(batched.length, Math.floor(maxInFlight / batchSize) || 1));
  return { batches: batched, concurrent, maxInFlightPerBatch: Math.max(1, Math.floor(maxInFlight / concurrent)) };
}
