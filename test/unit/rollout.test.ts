import { rolloutPolicy } from '../../domain/operation-schemas';
import { byStartInstant, failureThresholdReached, planBatches, planWaves } from '../../domain/rollout';

const fleet = (n: number) => Array.from({ length: n }, (_, i) => i);
const sizes = (waves: unknown[][]) => waves.map((w) => w.length);

describe('planWaves', () => {
  it('without a policy, one wave of every appliance (the seed behaviour)', () => {
    expect(sizes(planWaves(fleet(7)))).toEqual([7]);
  });
  it('a canary, then percentages rounded up; the last size repeats', () => {
    expect(sizes(planWaves(fleet(100), { waves: [1, '5%', '25%'] }))).toEqual([1, 5, 25, 25, 25, 19]);
    expect(sizes(planWaves(fleet(10), { waves: [1, '5%'] }))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(sizes(planWaves(fleet(10), { waves: [3] }))).toEqual([3, 3, 3, 1]);
  });
  it('keeps the given order and every appliance exactly once', () => {
    const waves = planWaves(fleet(23), { waves: [2, '10%', '50%'] });
    expect(waves.flat()).toEqual(fleet(23));
  });
  it('an empty operation has no waves', () => {
    expect(planWaves([], { waves: [1] })).toEqual([]);
  });
});

describe('failureThresholdReached', () => {
  it('never stops without a threshold', () => {
    expect(failureThresholdReached({ finished: 10, failed: 10 })).toBeUndefined();
  });
  it('stops when failures exceed max_failures', () => {
    const policy = { failure_threshold: { max_failures: 2, min_sample: 1 } };
    expect(failureThresholdReached({ finished: 5, failed: 2 }, policy)).toBeUndefined();
    expect(failureThresholdReached({ finished: 5, failed: 3 }, policy)).toBe(
      '3 task(s) failed, more than the 2 allowed',
    );
  });
  it('judges a percentage only once the minimum sample has finished', () => {
    const policy = { failure_threshold: { max_failure_percent: 20, min_sample: 5 } };
    expect(failureThresholdReached({ finished: 4, failed: 4 }, policy)).toBeUndefined();
    expect(failureThresholdReached({ finished: 5, failed: 1 }, policy)).toBeUndefined();
    expect(failureThresholdReached({ finished: 5, failed: 2 }, policy)).toBe(
      '2 of 5 finished task(s) failed (40.0%), more than the 20% allowed',
    );
  });
});

describe('rolloutPolicy', () => {
  it('accepts a full policy and defaults min_sample', () => {
    expect(
      rolloutPolicy.parse({
        waves: [1, '5%'],
        max_in_flight: 10,
        failure_threshold: { max_failure_percent: 10 },
        maintenance_window_end: 1800000000,
      }),
    ).toEqual({
      waves: [1, '5%'],
      max_in_flight: 10,
      failure_threshold: { max_failure_percent: 10, min_sample: 1 },
      maintenance_window_end: 1800000000,
    });
  });
  it.each([
    [{ waves: [0] }, 'waves.0'],
    [{ waves: ['150%'] }, 'waves.0'],
    [{ waves: [] }, 'waves'],
    [{ max_in_flight: 0 }, 'max_in_flight'],
    [{ failure_threshold: {} }, 'failure_threshold'],
    [{ failure_threshold: { max_failure_percent: 101 } }, 'failure_threshold.max_failure_percent'],
    [{ canary: 1 }, ''],
  ])('refuses %j at %s', (policy, path) => {
    const result = rolloutPolicy.safeParse(policy);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path.join('.')).toBe(path);
  });
});

describe('planBatches: large waves as batches of tasks', () => {
  const wave = Array.from({ length: 1234 }, (_, i) => i);
  test('batches of at most the batch size, in order, covering the wave once', () => {
    const { batches } = planBatches(wave, undefined, 500);
    expect(batches.map((b) => b.length)).toEqual([500, 500, 234]);
    expect(batches.flat()).toEqual(wave);
  });
  test('without max_in_flight every batch runs at once, each all at once', () => {
    expect(planBatches(wave, undefined, 500)).toMatchObject({ concurrent: 3 });
    expect(planBatches(wave, undefined, 500).maxInFlightPerBatch).toBeUndefined();
  });
  test('max_in_flight is shared by just enough batches and never exceeded in total', () => {
    for (const max of [1, 7, 499, 500, 999, 1000, 1234, 5000]) {
      const plan = planBatches(wave, max, 500);
      expect(plan.concurrent * plan.maxInFlightPerBatch!).toBeLessThanOrEqual(Math.max(max, 1));
      expect(plan.concurrent).toBeGreaterThanOrEqual(1);
      expect(plan.concurrent).toBeLessThanOrEqual(plan.batches.length);
    }
    expect(planBatches(wave, 50, 500)).toMatchObject({ concurrent: 1, maxInFlightPerBatch: 50 });
    expect(planBatches(wave, 1000, 500)).toMatchObject({ concurrent: 2, maxInFlightPerBatch: 500 });
    expect(planBatches(wave, 5000, 500)).toMatchObject({ concurrent: 3, maxInFlightPerBatch: 1666 });
  });
  test('an empty wave has no batches', () => {
    expect(planBatches([], undefined).batches).toEqual([]);
  });
});

describe('byStartInstant', () => {
  it('orders serials by their start instant, ties and unknown instants first in the given order', () => {
    expect(
      byStartInstant(['ny', 'tokyo', 'berlin', 'utc', 'london'], { ny: 30, tokyo: 10, berlin: 20, london: 20 }),
    ).toEqual(['utc', 'tokyo', 'berlin', 'london', 'ny']);
  });
  it('keeps the order when there are no per-appliance instants', () => {
    expect(byStartInstant(['b', 'a'], undefined)).toEqual(['b', 'a']);
  });
});
