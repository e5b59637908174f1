/**
 * Schedule math: the UTC instant at which an SCC `scheduled_time` happens for an appliance.
 *
 * SCC's `scheduled_time` is `{ datetime: seconds since the epoch, time_type: 'utc' | 'local' }`
 * ("whether this represents an absolute time or the local time of the managed appliance"), and an
 * appliance's `time_zone` is an Olson name. The rules:
 *
 * - `time_type: 'utc'`: `datetime` is the instant itself. The time zone is not needed and not
 *   looked at, so a utc schedule works for appliances with a missing or unknown zone.
 * - `time_type: 'local'`: the UTC calendar fields of `datetime` (year … second; milliseconds are
 *   carried over unchanged) are a wall-clock time in the appliance's own zone: 2026-03-08T02:30Z
 *   means 02:30 on 2026-03-08 in New York for a New York appliance. One local schedule is
 *   therefore a different instant per zone (Tokyo first, Los Angeles last).
 * - DST gap (the wall time does not exist, e.g. 02:30 on the spring-forward day in New York): the
 *   wall time is moved forward by the length of the gap (02:30 → 03:30 EDT), i.e. read with the
 *   offset in force before the gap. Same as java.time `ZonedDateTime.of`, Temporal's
 *   `disambiguation: 'compatible'` and cron-like schedulers. Reported as `gap_shifted`.
 * - DST overlap (the wall time happens twice, e.g. 01:30 on the fall-back day): the earlier of the
 *   two instants (still daylight time), as java.time and Temporal do. Reported as
 *   `overlap_earlier`.
 * - An unknown time zone is an `UnknownTimeZoneError` (never read as UTC). A local schedule for an
 *   appliance without a zone (`undefined` or `null`) is a `MissingTimeZoneError`; an empty or
 *   blank string is a zone that is present but unknown, so `UnknownTimeZoneError`.
 *   `scheduleForAppliances` checks the whole fleet and throws one `ScheduleError` that lists every
 *   appliance at fault (serial, zone, reason), so the inventory is fixed in one go.
 * - Valid zones are what the runtime's ICU knows (`Asia/Tokyo`, `UTC`, `Etc/GMT+5`, links such as
 *   `US/Eastern`, case-insensitively). Offset strings (`+05:30`) are refused even where a newer
 *   runtime would take them: they are not Olson names, and a runtime upgrade must not change
 *   which zones are accepted.
 *
 * Offsets come from `Intl.DateTimeFormat#formatToParts` (one cached formatter per zone). The module
 * is pure and deterministic (no clock, no Node modules), so workflows may import it. Its answers
 * depend on the tz database of the runtime's ICU, which changes between Node releases: compute
 * instants once (e.g. when the operation is created) and keep them, rather than recomputing them
 * on a replay that may run on a newer worker.
 */

/** A zone that ICU does not know (the message names it; `serial` when known). */
export class UnknownTimeZoneError extends Error {
  constructor(
    readonly timeZone: string,
    readonly serial?: string,
  ) {
    super(
      `${serial !== undefined ? `appliance ${serial}: ` : ''}unknown time zone '${timeZone}' (expected an Olson name such as Europe/Berlin)`,
    );
    this.name = 'UnknownTimeZoneError';
  }
}

/** A local-time schedule for an appliance that has no time zone. */
export class MissingTimeZoneError extends Error {
  constructor(readonly serial?: string) {
    super(
      `${serial !== undefined ? `appliance ${serial} has` : 'there is'} no time zone, so a local time cannot be placed`,
    );
    this.name = 'MissingTimeZoneError';
  }
}

export interface ScheduleFailure {
  serial: string;
  timeZone: string | undefined;
  reason: 'unknown_time_zone' | 'missing_time_zone';
  message: string;
}

/** Listed in a ScheduleError's message at most; `failures` has them all. */
const MAX_LISTED_FAILURES = 20;

/** Every appliance of a fleet whose local start cannot be placed, found in one pass. */
export class ScheduleError extends Error {
  /** One line per failure, e.g. "appliance B: unknown time zone 'Mars/Olympus' (…)". */
  readonly problems: string[];

  constructor(readonly failures: ScheduleFailure[]) {
    const problems = failures.map((f) => f.message);
    const listed = problems.slice(0, MAX_LISTED_FAILURES).join('; ');
    // The message ends up in an HTTP error: 10,000 zone-less appliances must not make it megabytes long.
    const more = problems.length > MAX_LISTED_FAILURES ? `; and ${problems.length - MAX_LISTED_FAILURES} more` : '';
    super(`${failures.length} appliance(s) cannot be scheduled in local time: ${listed}${more}`);
    this.name = 'ScheduleError';
    this.problems = problems;
  }
}

/** A wall-clock date and time (proleptic Gregorian, no zone). */
export interface WallTime {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  /** 0–23 */
  hour: number;
  minute: number;
  second: number;
}

export type LocalAdjustment = 'none' | 'gap_shifted' | 'overlap_earlier';

export interface ScheduledTimeLike {
  /** Seconds since the epoch (fractions allowed). */
  datetime: number;
  time_type: 'utc' | 'local';
}

export interface ApplianceStart {
  serial: string;
  startAtMs: number;
  /** How a local time was placed; always 'none' for utc. */
  adjustment: LocalAdjustment;
}

export interface StartGroup {
  startAtMs: number;
  /** In the order the appliances were given. */
  serials: string[];
}

const DAY_MS = 86_400_000;
/** ECMAScript's Date range: ±10^8 days around the epoch. */
const MAX_INSTANT_MS = 8.64e15;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone: creating them is the expensive part, and a fleet shares a few zones. */
function formatter(timeZone: string): Intl.DateTimeFormat {
  const cached = formatters.get(timeZone);
  if (cached) return cached;
  // Offset strings: refused on every runtime (see the module comment). Blank: not a zone.
  if (typeof timeZone !== 'string' || timeZone.trim() === '' || /^[+\-\u2212]/.test(timeZone))
    throw new UnknownTimeZoneError(String(timeZone));
  let created: Intl.DateTimeFormat;
  try {
    // Latin digits and h23 (never "24"), so every part is a plain number; era for years ≤ 0.
    created = new Intl.DateTimeFormat('en-US-u-nu-latn', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
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
  formatters.set(timeZone, created);
  return created;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function checkWallTime(w: WallTime): void {
  const intIn = (v: number, min: number, max: number) => Number.isInteger(v) && v >= min && v <= max;
  const monthOk = intIn(w.month, 1, 12);
  const daysInMonth = monthOk ? (w.month === 2 && isLeapYear(w.year) ? 29 : DAYS_IN_MONTH[w.month - 1]!) : 31;
  // Silently normalising 2026-02-30 to March would schedule a day nobody asked for.
  if (
    !Number.isInteger(w.year) ||
    !monthOk ||
    !intIn(w.day, 1, daysInMonth) ||
    !intIn(w.hour, 0, 23) ||
    !intIn(w.minute, 0, 59) ||
    !intIn(w.second, 0, 59)
  ) {
    throw new RangeError(`invalid wall time ${JSON.stringify(w)}`);
  }
}

/** The wall time's fields read as UTC, in ms. */
function wallAsUtcMs(w: WallTime): number {
  const ms = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  if (w.year >= 0 && w.year <= 99) {
    // Date.UTC reads years 0–99 as 1900–1999.
    const d = new Date(0);
    d.setUTCFullYear(w.year, w.month - 1, w.day);
    d.setUTCHours(w.hour, w.minute, w.second, 0);
    return d.getTime();
  }
  return ms;
}

function checkInstant(instantMs: number, what: string): void {
  if (!Number.isFinite(instantMs) || Math.abs(instantMs) > MAX_INSTANT_MS)
    throw new RangeError(`${what} ${instantMs} is not a representable instant`);
}

/** Offset of the zone's local time from UTC at an instant, in ms (Tokyo: +9 h, New York in winter: −5 h). */
export function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const f = formatter(timeZone);
  checkInstant(instantMs, 'instant');
  // Wall times have whole seconds: compare them with the instant's whole second.
  const wholeSecondMs = instantMs - (((instantMs % 1000) + 1000) % 1000);
  let year = 0;
  let bc = false;
  const fields = { month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of f.formatToParts(wholeSecondMs)) {
    switch (part.type) {
      case 'era':
        bc = part.value.startsWith('B');
        break;
      case 'year':
        year = Number(part.value);
        break;
      case 'month':
      case 'day':
      case 'hour':
      case 'minute':
      case 'second':
        fields[part.type] = Number(part.value);
        break;
      default:
        break;
    }
  }
  // Astronomical year numbering: 1 BC is year 0.
  return wallAsUtcMs({ year: bc ? 1 - year : year, ...fields }) - wholeSecondMs;
}

/**
 * The UTC instant of a wall-clock time in a zone, with the gap and overlap rules of the module
 * comment. Throws UnknownTimeZoneError for an unknown zone and RangeError for an impossible wall
 * time (2026-02-30, 24:00).
 */
export function localWallTimeToUtcMs(wall: WallTime, timeZone: string): { utcMs: number; adjustment: LocalAdjustment } {
  formatter(timeZone);
  checkWallTime(wall);
  const asUtc = wallAsUtcMs(wall);
  checkInstant(asUtc, 'wall time');
  // The offsets a day either side are the ones in force around the wall time, whatever the zone's
  // offset (at most ±14 h) – the approach of the Temporal reference implementation; it assumes no
  // two transitions within a day of each other, which the tz database holds to in living memory.
  const before = zoneOffsetMs(asUtc - DAY_MS, timeZone);
  const after = zoneOffsetMs(asUtc + DAY_MS, timeZone);
  const candidates = (before === after ? [before] : [before, after])
    .map((offset) => asUtc - offset)
    .filter((instant) => zoneOffsetMs(instant, timeZone) === asUtc - instant)
    .sort((a, b) => a - b);
  if (candidates.length === 1) return { utcMs: candidates[0]!, adjustment: 'none' };
  if (candidates.length > 1) return { utcMs: candidates[0]!, adjustment: 'overlap_earlier' };
  // In a gap: read with the offset from before the gap, the instant lands after the gap, at the
  // wall time moved forward by the gap's length.
  return { utcMs: asUtc - before, adjustment: 'gap_shifted' };
}

/** `datetime` as a wall time (its UTC fields) plus the milliseconds under the second. */
function wallTimeOf(datetimeMs: number): { wall: WallTime; ms: number } {
  const d = new Date(datetimeMs);
  return {
    wall: {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    },
    ms: d.getUTCMilliseconds(),
  };
}

function datetimeMs(scheduled: ScheduledTimeLike): number {
  const ms = Math.round(scheduled.datetime * 1000);
  checkInstant(ms, 'scheduled datetime');
  return ms;
}

/** A scheduled_time's instant and how a local time was placed. `serial` only names the appliance in errors. */
export function resolveScheduledTime(
  scheduled: ScheduledTimeLike,
  timeZone: string | null | undefined,
  serial?: string,
): { utcMs: number; adjustment: LocalAdjustment } {
  const ms = datetimeMs(scheduled);
  if (scheduled.time_type === 'utc') return { utcMs: ms, adjustment: 'none' };
  if (scheduled.time_type !== 'local') throw new RangeError(`unknown time_type ${JSON.stringify(scheduled.time_type)}`);
  if (timeZone === undefined || timeZone === null) throw new MissingTimeZoneError(serial);
  if (!isValidTimeZone(timeZone)) throw new UnknownTimeZoneError(String(timeZone), serial);
  const { wall, ms: subSecond } = wallTimeOf(ms);
  const placed = localWallTimeToUtcMs(wall, timeZone);
  return { utcMs: placed.utcMs + subSecond, adjustment: placed.adjustment };
}

/** The UTC instant (epoch ms) a scheduled_time means for an appliance in `timeZone`. */
export function scheduledInstantMs(
  scheduled: ScheduledTimeLike,
  timeZone: string | null | undefined,
  serial?: string,
): number {
  return resolveScheduledTime(scheduled, timeZone, serial).utcMs;
}

/**
 * Each appliance's start instant, in the order given. Any appliance with a missing or unknown zone
 * (for a local schedule) makes the whole call throw one ScheduleError listing all of them; a utc
 * schedule never fails on zones. Each distinct zone is resolved once, however many appliances share it.
 */
export function scheduleForAppliances(
  scheduled: ScheduledTimeLike,
  appliances: readonly { serial: string; time_zone?: string | null | undefined }[],
): ApplianceStart[] {
  const byZone = new Map<
    string | null | undefined,
    { utcMs: number; adjustment: LocalAdjustment } | 'missing_time_zone' | 'unknown_time_zone'
  >();
  const failures: ScheduleFailure[] = [];
  const starts: ApplianceStart[] = [];
  for (const { serial, time_zone } of appliances) {
    let placed = byZone.get(time_zone);
    if (placed === undefined) {
      try {
        placed = resolveScheduledTime(scheduled, time_zone);
      } catch (err) {
        if (err instanceof MissingTimeZoneError) placed = 'missing_time_zone';
        else if (err instanceof UnknownTimeZoneError) placed = 'unknown_time_zone';
        else throw err;
      }
      byZone.set(time_zone, placed);
    }
    if (placed === 'missing_time_zone')
      failures.push({ serial, timeZone: undefined, reason: placed, message: new MissingTimeZoneError(serial).message });
    else if (placed === 'unknown_time_zone')
      failures.push({
        serial,
        timeZone: String(time_zone),
        reason: placed,
        message: new UnknownTimeZoneError(String(time_zone), serial).message,
      });
    else starts.push({ serial, startAtMs: placed.utcMs, adjustment: placed.adjustment });
  }
  if (failures.length) throw new ScheduleError(failures);
  return starts;
}

/** Appliances grouped by identical start instant, earliest first (a workflow sleeps once per group). */
export function groupByStartInstant(starts: readonly { serial: string; startAtMs: number }[]): StartGroup[] {
  const groups = new Map<number, string[]>();
  for (const { serial, startAtMs } of starts) {
    const serials = groups.get(startAtMs);
    if (serials) serials.push(serial);
    else groups.set(startAtMs, [serial]);
  }
  return [...groups].sort(([a], [b]) => a - b).map(([startAtMs, serials]) => ({ startAtMs, serials }));
}
