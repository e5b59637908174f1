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
import { z } from 'zod';

const waveSize = z.union([
  z.number().int().positive(),
  z.string().regex(/^(100|[1-9]?[0-9](\.[0-9]+)?)%$/, 'a wave size is a positive count or a percentage such as "5%"'),
]);

export const rolloutPolicy = z.strictObject({
  waves: z.array(waveSize).min(1).optional(),
  max_in_flight: z.number().int().positive().optional(),
  failure_threshold: z
    .strictObject({
      max_failures: z.number().int().nonnegative().optional(),
      max_failure_percent: z.number().min(0).max(100).optional(),
      min_sample: z.number().int().positive().default(1),
    })
    .refine((t) => t.max_failures !== undefined || t.max_failure_percent !== undefined, 'set max_failures or max_failure_percent')
    .optional(),
  maintenance_window_end: z.number().nonnegative().optional(),
});
export type RolloutPolicy = z.infer<typeof rolloutPolicy>;

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
  const batches: T[][] = [];
  for (let i = 0; i < wave.length; i += batchSize) batches.push(wave.slice(i, i + batchSize));
  if (maxInFlight === undefined) return { batches, concurrent: Math.max(1, batches.length) };
  const concurrent = Math.max(1, Math.min(batches.length, Math.floor(maxInFlight / batchSize) || 1));
  return { batches, concurrent, maxInFlightPerBatch: Math.max(1, Math.floor(maxInFlight / concurrent)) };
}
