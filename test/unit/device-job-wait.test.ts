import { FIRST_POLL_MS, MAX_POLL_MS, MIN_POLL_MS, nextPollDelayMs } from '../../domain/device-job-wait';

describe('nextPollDelayMs', () => {
  it('reads a job about to end at once, the first time only', () => {
    expect(nextPollDelayMs({ reads: 0, elapsedMs: 0, progress: 0, expectedMs: 2 })).toBe(0);
    expect(nextPollDelayMs({ reads: 1, elapsedMs: 5, progress: 0.99, expectedMs: 2 })).toBe(MIN_POLL_MS);
    expect(nextPollDelayMs({ reads: 0, elapsedMs: 0, progress: 0, expectedMs: 1_000 })).toBe(1_500);
  });
  it('waits until a little past the end the device expects', () => {
    expect(nextPollDelayMs({ reads: 0, elapsedMs: 0, progress: 0, expectedMs: 6_000 })).toBe(6_500);
    expect(nextPollDelayMs({ reads: 1, elapsedMs: 0, progress: 0, expectedMs: 100_000 })).toBe(102_000);
  });
  it('without an estimate, reads first after FIRST_POLL_MS, then extrapolates from progress', () => {
    expect(nextPollDelayMs({ reads: 1, elapsedMs: 0, progress: 0 })).toBe(FIRST_POLL_MS);
    // A quarter done after 2 s: about 6 s left.
    expect(nextPollDelayMs({ reads: 1, elapsedMs: 2_000, progress: 0.25 })).toBe(6_500);
  });
  it('past the expected end, follows progress; a device that does not answer is read again at a quarter of the time waited', () => {
    expect(nextPollDelayMs({ reads: 1, elapsedMs: 10_000, progress: 0.5, expectedMs: 8_000 })).toBe(10_500);
    expect(nextPollDelayMs({ reads: 1, elapsedMs: 8_000, expectedMs: 4_000 })).toBe(2_000);
  });
  it('stays within MIN_POLL_MS..MAX_POLL_MS and never under a tenth of the time waited', () => {
    expect(nextPollDelayMs({ reads: 1, elapsedMs: 100, progress: 0.99 })).toBe(MIN_POLL_MS);
    expect(nextPollDelayMs({ reads: 1, elapsedMs: 0, expectedMs: 7_200_000 })).toBe(MAX_POLL_MS);
    expect(nextPollDelayMs({ reads: 1, elapsedMs: 600_000, progress: 0.999 })).toBe(60_000);
  });
});
