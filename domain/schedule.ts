/**
 * Schedule math: when a `scheduled_time` happens for an appliance.
 *
 * - `time_type: "utc"`: `datetime` (seconds since the epoch) is the instant. No time zone needed.
 * - `time_type: "local"`: the calendar fields of `datetime` read as UTC (year … second) are a
 *   wall-clock time in the appliance's own time zone (Olson name, e.g. `Asia/Tokyo`). One local
 *   schedule is therefore a different instant per time zone.
 * - DST gap (the wall time does not exist, e.g. 02:30 on a spring-forward day in New York): the
 *   time is moved forward by the length of the gap (02:30 → 03:30 daylight time), as java.time
 *   and cron-like schedulers do.
 * - DST overlap (the wall time happens twice, e.g. 01:30 on a fall-back day): the earlier of the
 *   two instants (still daylight time).
 * - An unknown time zone is an error (UnknownTimeZoneError), never UTC; a local time for an
 *   appliance without a time zone is an error too (MissingTimeZoneError).
 *
 * Pure and deterministic (no clock), so workflows may call it as well.
 */

export class UnknownTimeZoneError extends Error {
  constructor(readonly timeZone: string) {
    super(`unknown time zone '${timeZone}' (expected an Olson name such as Europe/Berlin)`);
    this.name = 'UnknownTimeZoneError';
  }
}

export class MissingTimeZoneError extends Error {
  constructor(readonly serial?: string) {
    super(`${serial ? `appliance ${serial} has` : 'there is'} no time zone, so a local time cannot be placed`);
    this.name = 'MissingTimeZoneError';
  }
}

export interface WallTime {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export type LocalAdjustment = 'none' | 'gap_shifted' | 'overlap_earlier';

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone: creating them is the expensive part, and fleets share few zones. */
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    if (timeZone.trim() === '') throw new UnknownTimeZoneError(timeZone);
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new UnknownTimeZoneError(timeZone);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const wallAsUtcMs = (w: WallTime): number => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);

/** Offset of the zone's local time from UTC at an instant, in ms (Tokyo: +9 h). */
export function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const local = wallAsUtcMs({ year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! });
  // Sub-second precision is not part of the wall time.
  return local - (instantMs - (((instantMs % 1000) + 1000) % 1000));
}

/** The UTC instant of a wall-clock time in a zone, with the DST rules above. */
export function localWallTimeToUtcMs(wall: WallTime, timeZone: string): { utcMs: number; adjustment: LocalAdjustment } {
  const asUtc = wallAsUtcMs(wall);
  // The offsets a day either side cover every real transition (none is larger than a day).
  const before = zoneOffsetMs(asUtc - 86_400_000, timeZone);
  const after = zoneOffsetMs(asUtc + 86_400_000, timeZone);
  const candidates = [...new Set([before, after])]
    .map((offset) => asUtc - offset)
    .filter((instant) => asUtc - zoneOffsetMs(instant, timeZone) === instant)
    .sort((a, b) => a - b);
  if (candidates.length === 1) return { utcMs: candidates[0]!, adjustment: 'none' };
  if (candidates.length > 1) return { utcMs: candidates[0]!, adjustment: 'overlap_earlier' };
  // In a gap: with the offset from before the gap the instant lands after it, shifted by its length.
  return { utcMs: asUtc - before, adjustment: 'gap_shifted' };
}

export interface ScheduledTimeLike {
  datetime: number;
  time_type: 'utc' | 'local';
}

/** The UTC instant (epoch ms) a scheduled_time means for an appliance in `timeZone`. */
export function scheduledInstantMs(scheduled: ScheduledTimeLike, timeZone: string | undefined, serial?: string): number {
  const ms = Math.round(scheduled.datetime * 1000);
  if (scheduled.time_type === 'utc') return ms;
  if (timeZone === undefined) throw new MissingTimeZoneError(serial);
  const d = new Date(ms);
  const wall = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
  return localWallTimeToUtcMs(wall, timeZone).utcMs + d.getUTCMilliseconds();
}

export interface ApplianceStart {
  serial: string;
  startAtMs: number;
}

/**
 * Each appliance's start instant. Every appliance whose zone is missing or unknown is reported in
 * one error listing them all, so an operator fixes the inventory once.
 */
export function scheduleForAppliances(scheduled: ScheduledTimeLike, appliances: readonly { serial: string; time_zone?: string | undefined }[]): ApplianceStart[] {
  const problems: string[] = [];
  const starts: ApplianceStart[] = [];
  for (const { serial, time_zone } of appliances) {
    try {
      starts.push({ serial, startAtMs: scheduledInstantMs(scheduled, time_zone, serial) });
    } catch (err) {
      if (err instanceof UnknownTimeZoneError) problems.push(`appliance ${serial}: ${err.message}`);
      else if (err instanceof MissingTimeZoneError) problems.push(err.message);
      else throw err;
    }
  }
  if (problems.length) throw new ScheduleError(problems);
  return starts;
}

export class ScheduleError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'ScheduleError';
  }
}

/** Appliances grouped by identical start instant, earliest first (a workflow sleeps once per group). */
export function groupByStartInstant(starts: readonly ApplianceStart[]): { startAtMs: number; serials: string[] }[] {
  const groups = new Map<number, string[]>();
  for (const { serial, startAtMs } of starts) groups.set(startAtMs, [...(groups.get(startAtMs) ?? []), serial]);
  return [...groups].sort(([a], [b]) => a - b).map(([startAtMs, serials]) => ({ startAtMs, serials }));
}
