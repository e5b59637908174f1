import {
  groupByStartInstant,
  isValidTimeZone,
  localWallTimeToUtcMs,
  MissingTimeZoneError,
  scheduledInstantMs,
  ScheduleError,
  scheduleForAppliances,
  UnknownTimeZoneError,
  zoneOffsetMs,
} from '../../domain/schedule';

/** A wall-clock time written as ISO without zone, as the seconds a local scheduled_time carries. */
const local = (wall: string) => ({ datetime: Date.parse(`${wall}Z`) / 1000, time_type: 'local' as const });
const iso = (ms: number) => new Date(ms).toISOString();

describe('utc', () => {
  test('is the instant itself, whatever the zone (none needed)', () => {
    const at = { datetime: Date.parse('2026-06-01T12:00:00Z') / 1000, time_type: 'utc' as const };
    expect(iso(scheduledInstantMs(at, undefined))).toBe('2026-06-01T12:00:00.000Z');
    expect(iso(scheduledInstantMs(at, 'Asia/Tokyo'))).toBe('2026-06-01T12:00:00.000Z');
  });
});

describe('local', () => {
  test.each([
    ['UTC', '2026-06-01T02:00:00', '2026-06-01T02:00:00.000Z'],
    ['Etc/UTC', '2026-06-01T02:00:00', '2026-06-01T02:00:00.000Z'],
    ['Asia/Tokyo', '2026-06-01T02:00:00', '2026-05-31T17:00:00.000Z'],
    ['America/Los_Angeles', '2026-06-01T02:00:00', '2026-06-01T09:00:00.000Z'],
    ['America/Los_Angeles', '2026-01-15T02:00:00', '2026-01-15T10:00:00.000Z'],
    ['Asia/Kolkata', '2026-06-01T02:00:00', '2026-05-31T20:30:00.000Z'],
    ['Asia/Kathmandu', '2026-06-01T02:00:00', '2026-05-31T20:15:00.000Z'],
    ['Etc/GMT+5', '2026-06-01T02:00:00', '2026-06-01T07:00:00.000Z'],
    // Southern hemisphere: daylight time in January.
    ['Australia/Sydney', '2026-01-15T02:00:00', '2026-01-14T15:00:00.000Z'],
    ['Australia/Sydney', '2026-07-15T02:00:00', '2026-07-14T16:00:00.000Z'],
  ])('in %s, %s local is %s', (zone, wall, expected) => {
    expect(iso(scheduledInstantMs(local(wall), zone))).toBe(expected);
  });

  test('one local time is a different instant per zone: Tokyo first, Los Angeles last', () => {
    const at = local('2026-06-01T02:00:00');
    const starts = scheduleForAppliances(at, [
      { serial: 'A', time_zone: 'America/Los_Angeles' },
      { serial: 'B', time_zone: 'Asia/Tokyo' },
      { serial: 'C', time_zone: 'Europe/Berlin' },
      { serial: 'D', time_zone: 'Asia/Tokyo' },
    ]);
    expect(groupByStartInstant(starts).map((g) => [iso(g.startAtMs), g.serials])).toEqual([
      ['2026-05-31T17:00:00.000Z', ['B', 'D']],
      ['2026-06-01T00:00:00.000Z', ['C']],
      ['2026-06-01T09:00:00.000Z', ['A']],
    ]);
  });
});

describe('daylight saving time', () => {
  test.each([
    // Spring forward: 02:00 → 03:00 (New York 2026-03-08, Berlin 2026-03-29): 02:30 is shifted by the gap.
    ['America/New_York', { year: 2026, month: 3, day: 8, hour: 2, minute: 30, second: 0 }, '2026-03-08T07:30:00.000Z', 'gap_shifted'],
    ['Europe/Berlin', { year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 }, '2026-03-29T01:30:00.000Z', 'gap_shifted'],
    ['Australia/Sydney', { year: 2026, month: 10, day: 4, hour: 2, minute: 30, second: 0 }, '2026-10-03T16:30:00.000Z', 'gap_shifted'],
    // Fall back: 01:30 New York (2026-11-01) and 02:30 Berlin (2026-10-25) happen twice: the earlier (daylight) one.
    ['America/New_York', { year: 2026, month: 11, day: 1, hour: 1, minute: 30, second: 0 }, '2026-11-01T05:30:00.000Z', 'overlap_earlier'],
    ['Europe/Berlin', { year: 2026, month: 10, day: 25, hour: 2, minute: 30, second: 0 }, '2026-10-25T00:30:00.000Z', 'overlap_earlier'],
    // Just outside the transitions: no adjustment.
    ['America/New_York', { year: 2026, month: 3, day: 8, hour: 3, minute: 0, second: 0 }, '2026-03-08T07:00:00.000Z', 'none'],
    ['America/New_York', { year: 2026, month: 11, day: 1, hour: 2, minute: 0, second: 0 }, '2026-11-01T07:00:00.000Z', 'none'],
  ] as const)('%s %o → %s (%s)', (zone, wall, expected, adjustment) => {
    const result = localWallTimeToUtcMs(wall, zone);
    expect([iso(result.utcMs), result.adjustment]).toEqual([expected, adjustment]);
  });

  test('zone offsets either side of a transition', () => {
    expect(zoneOffsetMs(Date.parse('2026-03-08T06:59:59Z'), 'America/New_York')).toBe(-5 * 3600_000);
    expect(zoneOffsetMs(Date.parse('2026-03-08T07:00:00Z'), 'America/New_York')).toBe(-4 * 3600_000);
    expect(zoneOffsetMs(Date.parse('2026-06-01T00:00:00.750Z'), 'Asia/Kolkata')).toBe(5.5 * 3600_000);
  });
});

describe('errors', () => {
  test.each(['Mars/Olympus', '', 'not a zone'])('unknown zone %j is an error, not UTC', (zone) => {
    expect(isValidTimeZone(zone)).toBe(false);
    expect(() => scheduledInstantMs(local('2026-06-01T02:00:00'), zone)).toThrow(UnknownTimeZoneError);
  });

  test('a local time without a zone is an error naming the appliance', () => {
    expect(() => scheduledInstantMs(local('2026-06-01T02:00:00'), undefined, 'S12AB00000001')).toThrow(MissingTimeZoneError);
    expect(() => scheduledInstantMs(local('2026-06-01T02:00:00'), undefined, 'S12AB00000001')).toThrow(/S12AB00000001/);
  });

  test('a fleet with bad zones is refused once, listing every appliance at fault', () => {
    let error: unknown;
    try {
      scheduleForAppliances(local('2026-06-01T02:00:00'), [
        { serial: 'A', time_zone: 'Asia/Tokyo' },
        { serial: 'B', time_zone: 'Mars/Olympus' },
        { serial: 'C' },
      ]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ScheduleError);
    expect((error as ScheduleError).problems).toEqual([expect.stringMatching(/^appliance B: unknown time zone 'Mars\/Olympus'/), 'appliance C has no time zone, so a local time cannot be placed']);
  });

  test('valid zones are recognised', () => {
    for (const zone of ['UTC', 'Etc/GMT+5', 'Europe/London', 'Asia/Kathmandu']) expect(isValidTimeZone(zone)).toBe(true);
  });
});
