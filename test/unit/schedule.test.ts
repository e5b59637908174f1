import {
  groupByStartInstant,
  isValidTimeZone,
  localWallTimeToUtcMs,
  MissingTimeZoneError,
  resolveScheduledTime,
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

  test('does not look at the zone: missing or unknown zones still schedule', () => {
    const at = { datetime: Date.parse('2026-06-01T12:00:00Z') / 1000, time_type: 'utc' as const };
    expect(scheduledInstantMs(at, 'Mars/Olympus')).toBe(Date.parse('2026-06-01T12:00:00Z'));
    expect(scheduleForAppliances(at, [{ serial: 'A', time_zone: 'Mars/Olympus' }, { serial: 'B' }])).toEqual([
      { serial: 'A', startAtMs: Date.parse('2026-06-01T12:00:00Z'), adjustment: 'none' },
      { serial: 'B', startAtMs: Date.parse('2026-06-01T12:00:00Z'), adjustment: 'none' },
    ]);
  });

  test('fractional seconds are kept', () => {
    expect(iso(scheduledInstantMs({ datetime: 1780315200.25, time_type: 'utc' }, undefined))).toBe(
      '2026-06-01T12:00:00.250Z',
    );
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
    // POSIX sign: Etc/GMT+5 is five hours behind UTC.
    ['Etc/GMT+5', '2026-06-01T02:00:00', '2026-06-01T07:00:00.000Z'],
    ['US/Eastern', '2026-06-01T02:00:00', '2026-06-01T06:00:00.000Z'],
    ['asia/tokyo', '2026-06-01T02:00:00', '2026-05-31T17:00:00.000Z'],
    // Southern hemisphere: daylight time in January.
    ['Australia/Sydney', '2026-01-15T02:00:00', '2026-01-14T15:00:00.000Z'],
    ['Australia/Sydney', '2026-07-15T02:00:00', '2026-07-14T16:00:00.000Z'],
  ])('in %s, %s local is %s', (zone, wall, expected) => {
    expect(iso(scheduledInstantMs(local(wall), zone))).toBe(expected);
  });

  test('milliseconds under the second are carried over', () => {
    expect(
      iso(
        scheduledInstantMs(
          { datetime: Date.parse('2026-06-01T02:00:00.500Z') / 1000, time_type: 'local' },
          'Asia/Tokyo',
        ),
      ),
    ).toBe('2026-05-31T17:00:00.500Z');
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
    [
      'America/New_York',
      { year: 2026, month: 3, day: 8, hour: 2, minute: 30, second: 0 },
      '2026-03-08T07:30:00.000Z',
      'gap_shifted',
    ],
    [
      'Europe/Berlin',
      { year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 },
      '2026-03-29T01:30:00.000Z',
      'gap_shifted',
    ],
    [
      'Australia/Sydney',
      { year: 2026, month: 10, day: 4, hour: 2, minute: 30, second: 0 },
      '2026-10-03T16:30:00.000Z',
      'gap_shifted',
    ],
    // Lord Howe Island moves by half an hour: 02:00 → 02:30, so 02:15 becomes 02:45 (+11:00).
    [
      'Australia/Lord_Howe',
      { year: 2026, month: 10, day: 4, hour: 2, minute: 15, second: 0 },
      '2026-10-03T15:45:00.000Z',
      'gap_shifted',
    ],
    // Samoa skipped 2011-12-30 entirely (−10:00 → +14:00): noon is shifted by the whole day.
    [
      'Pacific/Apia',
      { year: 2011, month: 12, day: 30, hour: 12, minute: 0, second: 0 },
      '2011-12-30T22:00:00.000Z',
      'gap_shifted',
    ],
    // Fall back: 01:30 New York (2026-11-01) and 02:30 Berlin (2026-10-25) happen twice: the earlier (daylight) one.
    [
      'America/New_York',
      { year: 2026, month: 11, day: 1, hour: 1, minute: 30, second: 0 },
      '2026-11-01T05:30:00.000Z',
      'overlap_earlier',
    ],
    [
      'Europe/Berlin',
      { year: 2026, month: 10, day: 25, hour: 2, minute: 30, second: 0 },
      '2026-10-25T00:30:00.000Z',
      'overlap_earlier',
    ],
    // Southern hemisphere fall back (Sydney 2026-04-05 03:00 AEDT → 02:00 AEST): 02:30 at +11:00.
    [
      'Australia/Sydney',
      { year: 2026, month: 4, day: 5, hour: 2, minute: 30, second: 0 },
      '2026-04-04T15:30:00.000Z',
      'overlap_earlier',
    ],
    [
      'Australia/Lord_Howe',
      { year: 2026, month: 4, day: 5, hour: 1, minute: 45, second: 0 },
      '2026-04-04T14:45:00.000Z',
      'overlap_earlier',
    ],
    // Just outside the transitions: no adjustment.
    [
      'America/New_York',
      { year: 2026, month: 3, day: 8, hour: 3, minute: 0, second: 0 },
      '2026-03-08T07:00:00.000Z',
      'none',
    ],
    [
      'America/New_York',
      { year: 2026, month: 11, day: 1, hour: 2, minute: 0, second: 0 },
      '2026-11-01T07:00:00.000Z',
      'none',
    ],
    [
      'America/New_York',
      { year: 2026, month: 3, day: 8, hour: 1, minute: 59, second: 59 },
      '2026-03-08T06:59:59.000Z',
      'none',
    ],
    [
      'America/New_York',
      { year: 2026, month: 11, day: 1, hour: 0, minute: 59, second: 59 },
      '2026-11-01T04:59:59.000Z',
      'none',
    ],
  ] as const)('%s %o → %s (%s)', (zone, wall, expected, adjustment) => {
    const result = localWallTimeToUtcMs(wall, zone);
    expect([iso(result.utcMs), result.adjustment]).toEqual([expected, adjustment]);
  });

  test('zone offsets either side of a transition', () => {
    expect(zoneOffsetMs(Date.parse('2026-03-08T06:59:59Z'), 'America/New_York')).toBe(-5 * 3600_000);
    expect(zoneOffsetMs(Date.parse('2026-03-08T07:00:00Z'), 'America/New_York')).toBe(-4 * 3600_000);
    expect(zoneOffsetMs(Date.parse('2026-06-01T00:00:00.750Z'), 'Asia/Kolkata')).toBe(5.5 * 3600_000);
    expect(zoneOffsetMs(Date.parse('2026-06-01T00:00:00Z'), 'Asia/Kathmandu')).toBe(5.75 * 3600_000);
    expect(zoneOffsetMs(Date.parse('2026-01-15T00:00:00Z'), 'Australia/Sydney')).toBe(11 * 3600_000);
  });

  test('a local schedule reports how it was placed, through every entry point', () => {
    const at = local('2026-03-08T02:30:00');
    expect(resolveScheduledTime(at, 'America/New_York')).toEqual({
      utcMs: Date.parse('2026-03-08T07:30:00Z'),
      adjustment: 'gap_shifted',
    });
    expect(
      scheduleForAppliances(at, [
        { serial: 'NY', time_zone: 'America/New_York' },
        { serial: 'TYO', time_zone: 'Asia/Tokyo' },
      ]),
    ).toEqual([
      { serial: 'NY', startAtMs: Date.parse('2026-03-08T07:30:00Z'), adjustment: 'gap_shifted' },
      { serial: 'TYO', startAtMs: Date.parse('2026-03-07T17:30:00Z'), adjustment: 'none' },
    ]);
  });
});

describe('calendar edge cases', () => {
  test('years 0–99 and before the common era are not read as 19xx', () => {
    expect(zoneOffsetMs(Date.parse('0050-06-01T00:00:00Z'), 'UTC')).toBe(0);
    expect(zoneOffsetMs(Date.parse('-000050-06-01T00:00:00Z'), 'UTC')).toBe(0);
    // Tokyo local mean time before 1888: +09:18:59.
    expect(zoneOffsetMs(Date.parse('1800-01-01T00:00:00Z'), 'Asia/Tokyo')).toBe((9 * 3600 + 18 * 60 + 59) * 1000);
    expect(iso(localWallTimeToUtcMs({ year: 50, month: 6, day: 1, hour: 0, minute: 0, second: 0 }, 'UTC').utcMs)).toBe(
      '0050-06-01T00:00:00.000Z',
    );
  });

  test.each([
    { year: 2026, month: 2, day: 29, hour: 0, minute: 0, second: 0 },
    { year: 2026, month: 13, day: 1, hour: 0, minute: 0, second: 0 },
    { year: 2026, month: 6, day: 1, hour: 24, minute: 0, second: 0 },
    { year: 2026, month: 6, day: 1, hour: 1, minute: 0, second: 60 },
    { year: 2026, month: 6, day: 1.5, hour: 1, minute: 0, second: 0 },
  ])('an impossible wall time %o is refused, not normalised', (wall) => {
    expect(() => localWallTimeToUtcMs(wall, 'UTC')).toThrow(RangeError);
  });

  test('a leap day is a wall time', () => {
    expect(
      iso(localWallTimeToUtcMs({ year: 2028, month: 2, day: 29, hour: 9, minute: 0, second: 0 }, 'Asia/Tokyo').utcMs),
    ).toBe('2028-02-29T00:00:00.000Z');
  });

  test('a datetime that is not a number is refused', () => {
    expect(() => scheduledInstantMs({ datetime: Number.NaN, time_type: 'local' }, 'UTC')).toThrow(RangeError);
    expect(() => scheduledInstantMs({ datetime: Number.POSITIVE_INFINITY, time_type: 'utc' }, undefined)).toThrow(
      RangeError,
    );
    expect(() => zoneOffsetMs(Number.NaN, 'UTC')).toThrow(RangeError);
  });
});

describe('errors', () => {
  test.each(['Mars/Olympus', '', '   ', 'not a zone', ' Asia/Tokyo', '+05:30', '-08:00', 'Etc/GMT+15'])(
    'unknown zone %j is an error, not UTC',
    (zone) => {
      expect(isValidTimeZone(zone)).toBe(false);
      expect(() => scheduledInstantMs(local('2026-06-01T02:00:00'), zone)).toThrow(UnknownTimeZoneError);
      expect(() => zoneOffsetMs(0, zone)).toThrow(UnknownTimeZoneError);
      expect(() => localWallTimeToUtcMs({ year: 2026, month: 6, day: 1, hour: 2, minute: 0, second: 0 }, zone)).toThrow(
        UnknownTimeZoneError,
      );
    },
  );

  test('the error names the zone and, when known, the appliance', () => {
    let error: unknown;
    try {
      scheduledInstantMs(local('2026-06-01T02:00:00'), 'Mars/Olympus', 'S12AB00000002');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UnknownTimeZoneError);
    expect(error).toMatchObject({
      timeZone: 'Mars/Olympus',
      serial: 'S12AB00000002',
      message: expect.stringMatching(/S12AB00000002.*'Mars\/Olympus'/),
    });
  });

  test('a local time without a zone is an error naming the appliance', () => {
    expect(() => scheduledInstantMs(local('2026-06-01T02:00:00'), undefined, 'S12AB00000001')).toThrow(
      MissingTimeZoneError,
    );
    expect(() => scheduledInstantMs(local('2026-06-01T02:00:00'), undefined, 'S12AB00000001')).toThrow(/S12AB00000001/);
    // JSON null is as missing as undefined.
    expect(() => scheduledInstantMs(local('2026-06-01T02:00:00'), null)).toThrow(MissingTimeZoneError);
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
    expect((error as ScheduleError).problems).toEqual([
      expect.stringMatching(/^appliance B: unknown time zone 'Mars\/Olympus'/),
      'appliance C has no time zone, so a local time cannot be placed',
    ]);
    expect(
      (error as ScheduleError).failures.map(({ serial, timeZone, reason }) => ({ serial, timeZone, reason })),
    ).toEqual([
      { serial: 'B', timeZone: 'Mars/Olympus', reason: 'unknown_time_zone' },
      { serial: 'C', timeZone: undefined, reason: 'missing_time_zone' },
    ]);
    expect((error as Error).message).toMatch(
      /^2 appliance\(s\) cannot be scheduled in local time: appliance B: .*; appliance C has no time zone/,
    );
  });

  test('a large fleet with bad zones lists them all, but keeps the message short', () => {
    const fleet = Array.from({ length: 10_000 }, (_, i) => ({
      serial: `S${i}`,
      time_zone: i % 2 ? 'Mars/Olympus' : undefined,
    }));
    let error: unknown;
    try {
      scheduleForAppliances(local('2026-06-01T02:00:00'), fleet);
    } catch (err) {
      error = err;
    }
    expect((error as ScheduleError).failures).toHaveLength(10_000);
    expect((error as ScheduleError).failures[9_999]).toMatchObject({
      serial: 'S9999',
      timeZone: 'Mars/Olympus',
      reason: 'unknown_time_zone',
    });
    expect((error as Error).message).toMatch(/; and 9980 more$/);
    expect((error as Error).message.length).toBeLessThan(3_000);
  });

  test('valid zones are recognised', () => {
    for (const zone of [
      'UTC',
      'Etc/UTC',
      'GMT',
      'Etc/GMT+5',
      'Etc/GMT-14',
      'Europe/London',
      'Asia/Kathmandu',
      'US/Eastern',
    ])
      expect(isValidTimeZone(zone)).toBe(true);
  });
});

describe('fleets', () => {
  test('a mixed fleet is grouped by start instant, earliest first, serials in the order given', () => {
    const fleet = [
      { serial: 'LA-1', time_zone: 'America/Los_Angeles' },
      { serial: 'NY-1', time_zone: 'America/New_York' },
      { serial: 'KTM-1', time_zone: 'Asia/Kathmandu' },
      { serial: 'UTC-1', time_zone: 'UTC' },
      { serial: 'TYO-1', time_zone: 'Asia/Tokyo' },
      { serial: 'DEL-1', time_zone: 'Asia/Kolkata' },
      { serial: 'NY-2', time_zone: 'US/Eastern' },
      { serial: 'SYD-1', time_zone: 'Australia/Sydney' },
      { serial: 'UTC-2', time_zone: 'Etc/UTC' },
    ];
    // 2026-03-08 02:30: New York's spring-forward gap (shifted to 03:30 EDT).
    const groups = groupByStartInstant(scheduleForAppliances(local('2026-03-08T02:30:00'), fleet));
    expect(groups.map((g) => [iso(g.startAtMs), g.serials])).toEqual([
      ['2026-03-07T15:30:00.000Z', ['SYD-1']],
      ['2026-03-07T17:30:00.000Z', ['TYO-1']],
      ['2026-03-07T20:45:00.000Z', ['KTM-1']],
      ['2026-03-07T21:00:00.000Z', ['DEL-1']],
      ['2026-03-08T02:30:00.000Z', ['UTC-1', 'UTC-2']],
      ['2026-03-08T07:30:00.000Z', ['NY-1', 'NY-2']],
      ['2026-03-08T10:30:00.000Z', ['LA-1']],
    ]);
  });

  test('grouping sorts by instant, not by insertion, and handles an empty fleet', () => {
    expect(groupByStartInstant([])).toEqual([]);
    expect(
      groupByStartInstant([
        { serial: 'b', startAtMs: 20 },
        { serial: 'a', startAtMs: 3 },
        { serial: 'c', startAtMs: 20 },
        { serial: 'd', startAtMs: -5 },
      ]),
    ).toEqual([
      { startAtMs: -5, serials: ['d'] },
      { startAtMs: 3, serials: ['a'] },
      { startAtMs: 20, serials: ['b', 'c'] },
    ]);
  });

  test('10,000 appliances share one formatter per zone', () => {
    const construct = jest.spyOn(Intl, 'DateTimeFormat');
    try {
      // A zone no other test uses, so its formatter is not cached yet.
      const fleet = Array.from({ length: 10_000 }, (_, i) => ({
        serial: `S${i}`,
        time_zone: 'America/Argentina/Ushuaia',
      }));
      const starts = scheduleForAppliances(local('2026-06-01T02:00:00'), fleet);
      expect(groupByStartInstant(starts)).toEqual([
        { startAtMs: Date.parse('2026-06-01T05:00:00Z'), serials: fleet.map((a) => a.serial) },
      ]);
      for (let i = 0; i < 100; i++)
        scheduledInstantMs(local(`2026-06-01T02:${String(i % 60).padStart(2, '0')}:00`), 'America/Argentina/Ushuaia');
      expect(construct).toHaveBeenCalledTimes(1);
    } finally {
      construct.mockRestore();
    }
  });
});
