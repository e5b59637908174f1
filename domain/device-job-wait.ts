/**
 * How long an appliance task waits before it reads a running device job again. The wait is a
 * durable timer in the workflow, so a job of minutes or hours holds no worker slot; the rule keeps
 * reads few (about one per job when the device says how long it expects to take) while a job that
 * ends early, fails or stalls is still seen within MAX_POLL_MS.
 */

/** Never read a job more often than this. */
export const MIN_POLL_MS = 1_000;
/** Never leave a running job unread for longer than this. */
export const MAX_POLL_MS = 600_000;
/** The first read of a job whose device gives no estimate. */
export const FIRST_POLL_MS = 2_000;

/** A job the device expects to end within this is read again at once (no timer), once. */
export const IMMEDIATE_READ_MS = 250;

export interface JobReading {
  /** Reads of the job since its start. */
  reads: number;
  /** Workflow time since the job was started. */
  elapsedMs: number;
  /** The device's progress, 0..1, when it answered; undefined when it could not be reached. */
  progress?: number;
  /** The device's estimate of the job's whole duration (`expected_seconds`), if it gave one. */
  expectedMs?: number;
}

const clamp = (ms: number, min: number, max: number): number => Math.min(max, Math.max(min, ms));

/** A little past the estimated end, so the read usually finds the job finished. */
const pastEnd = (remainingMs: number): number => remainingMs + Math.max(500, remainingMs * 0.02);

/**
 * The wait before the next read (0: read at once, for a job about to end by the device's estimate,
 * the first time only): until the device's own estimate of the end; else until the end
 * extrapolated from progress so far; else (no answer, or no progress yet) a quarter of the time
 * already waited. Never under 10% of the time already waited (reads stay geometric however the
 * progress moves), never outside MIN_POLL_MS..MAX_POLL_MS.
 */
export function nextPollDelayMs({ reads, elapsedMs, progress, expectedMs }: JobReading): number {
  if (reads === 0 && expectedMs !== undefined && expectedMs - elapsedMs <= IMMEDIATE_READ_MS) return 0;
  const floor = Math.max(MIN_POLL_MS, elapsedMs * 0.1);
  let wait: number;
  if (expectedMs !== undefined && elapsedMs < expectedMs) wait = pastEnd(expectedMs - elapsedMs);
  else if (progress !== undefined && progress > 0 && progress < 1 && elapsedMs > 0)
    wait = pastEnd((elapsedMs * (1 - progress)) / progress);
  else wait = elapsedMs === 0 ? FIRST_POLL_MS : elapsedMs * 0.25;
  return Math.round(clamp(wait, floor, MAX_POLL_MS));
}
