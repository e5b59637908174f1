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
 *
 * Rollout safety, between waves and while tasks run (README "Rollout safety"):
 * - `approval`: after each wave of `after_waves` (counted from 1) that has a wave after it, the
 *   rollout waits for an operator's approve or reject; after `timeout_seconds` (default: no limit)
 *   `on_timeout` acts: `abort` (default) or `continue`. A reject aborts.
 * - `success_threshold_percent`: the next wave starts only when at least that share of the wave
 *   before succeeded (as hawkBit's success threshold), else `on_below_threshold`: `pause`
 *   (default: resume to go on) or `abort`.
 * - `progress_deadline_seconds`: while tasks run and none has finished for that long, the rollout
 *   pauses or aborts (`on_progress_deadline`, default `pause`), as Argo's progressDeadlineAbort.
 * An abort is a stop: running tasks finish, tasks not started end `cancelled` with the reason.
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
export function byStartInstant(
  serials: readonly string[],
  startAtBySerial: Readonly<Record<string, number>> | undefined,
): string[] {
  if (!startAtBySerial) return [...serials];
  return serials
    .map((serial, i) => ({ serial, i, at: startAtBySerial[serial] ?? Number.NEGATIVE_INFINITY }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map((e) => e.serial);
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
export function planBatches<T>(
  wave: readonly T[],
  maxInFlight: number | undefined,
  batchSize = TASKS_PER_BATCH,
): BatchPlan<T> {
  const batched = batches(wave, batchSize);
  if (maxInFlight === undefined) return { batches: batched, concurrent: Math.max(1, batched.length) };
  const concurrent = Math.max(1, Math.min(batched.length, Math.floor(maxInFlight / batchSize) || 1));
  return { batches: batched, concurrent, maxInFlightPerBatch: Math.max(1, Math.floor(maxInFlight / concurrent)) };
}

/** What an operation is doing about an approval (extension property `approval` of the stored operation). */
export type ApprovalState = 'awaiting' | 'approved' | 'rejected' | 'timed_out';

/** Why a rollout holds now (search attribute FleetRolloutHold): waits for approval, or paused. */
export type RolloutHold = 'awaiting_approval' | 'paused' | 'none';

/** Whether the rollout waits for approval after wave `wave` (from 1) of `waves`: only when one follows. */
export function needsApproval(wave: number, waves: number, policy: RolloutPolicy = {}): boolean {
  return wave < waves && (policy.approval?.after_waves.includes(wave) ?? false);
}

/** Tasks of one wave by status (the ones cancelled by request are left out of the share). */
export interface WaveOutcome {
  successful: number;
  /** Every task of the wave but those cancelled by request. */
  counted: number;
}

export function waveOutcome(statuses: readonly string[]): WaveOutcome {
  return {
    successful: statuses.filter((s) => s === 'successful').length,
    counted: statuses.filter((s) => s !== 'cancelled').length,
  };
}

/** Why the next wave may not start (success threshold), or undefined when it may. */
export function belowSuccessThreshold(
  wave: number,
  outcome: WaveOutcome,
  policy: RolloutPolicy = {},
): string | undefined {
  const threshold = policy.success_threshold_percent;
  if (threshold === undefined || outcome.counted === 0) return undefined;
  const percent = (outcome.successful / outcome.counted) * 100;
  if (percent >= threshold) return undefined;
  return `wave ${wave}: ${outcome.successful} of ${outcome.counted} task(s) succeeded (${percent.toFixed(1)}%), below the ${threshold}% success threshold`;
}

/** Why progress has stalled at `nowMs`, or undefined: tasks run and none finished since `sinceMs` for the deadline. */
export function progressStalled(
  inFlight: number,
  sinceMs: number,
  nowMs: number,
  policy: RolloutPolicy = {},
): string | undefined {
  const seconds = policy.progress_deadline_seconds;
  if (seconds === undefined || inFlight === 0 || nowMs - sinceMs < seconds * 1000) return undefined;
  return `no task finished in ${seconds} s while ${inFlight} task(s) ran (progress deadline)`;
}

/** What a gate does when it holds: the policy's word, or its default. */
export const onBelowThreshold = (policy: RolloutPolicy = {}): 'pause' | 'abort' => policy.on_below_threshold ?? 'pause';
export const onProgressDeadline = (policy: RolloutPolicy = {}): 'pause' | 'abort' =>
  policy.on_progress_deadline ?? 'pause';
export const onApprovalTimeout = (policy: RolloutPolicy = {}): 'abort' | 'continue' =>
  policy.approval?.on_timeout ?? 'abort';
