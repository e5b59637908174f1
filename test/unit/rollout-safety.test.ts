/** The pure rules of rollout safety (domain/rollout.ts) and which appliances a retry takes (client/operations.ts). */
import { appliancesToRetry } from '../../client/operations';
import { rolloutPolicy } from '../../domain/operation-schemas';
import {
  belowSuccessThreshold,
  needsApproval,
  onApprovalTimeout,
  onBelowThreshold,
  onProgressDeadline,
  progressStalled,
  waveOutcome,
} from '../../domain/rollout';

describe('needsApproval', () => {
  const policy = { approval: { after_waves: [1, 3] } };
  it('after a named wave that has a wave after it', () => {
    expect([1, 2, 3].map((wave) => needsApproval(wave, 5, policy))).toEqual([true, false, true]);
  });
  it('never after the last wave (nothing is left to approve), nor without an approval policy', () => {
    expect(needsApproval(3, 3, policy)).toBe(false);
    expect(needsApproval(1, 5)).toBe(false);
  });
});

describe('belowSuccessThreshold', () => {
  it('holds when the wave succeeded below the share, saying by how much', () => {
    expect(belowSuccessThreshold(2, { successful: 3, counted: 4 }, { success_threshold_percent: 80 })).toBe(
      'wave 2: 3 of 4 task(s) succeeded (75.0%), below the 80% success threshold',
    );
  });
  it('lets the next wave start at or above the share, without a threshold, or when no task counted', () => {
    expect(belowSuccessThreshold(1, { successful: 4, counted: 5 }, { success_threshold_percent: 80 })).toBeUndefined();
    expect(belowSuccessThreshold(1, { successful: 0, counted: 5 })).toBeUndefined();
    expect(belowSuccessThreshold(1, { successful: 0, counted: 0 }, { success_threshold_percent: 100 })).toBeUndefined();
  });
  it('tasks cancelled by request are left out of the share; failed ones count', () => {
    expect(waveOutcome(['successful', 'failed', 'cancelled', 'successful'])).toEqual({ successful: 2, counted: 3 });
  });
});

describe('progressStalled', () => {
  const policy = { progress_deadline_seconds: 60 };
  it('stalled once the deadline has passed with tasks running and none finished', () => {
    expect(progressStalled(2, 0, 60_000, policy)).toBe(
      'no task finished in 60 s while 2 task(s) ran (progress deadline)',
    );
  });
  it('not before the deadline, not with nothing running, not without a deadline', () => {
    expect(progressStalled(2, 0, 59_999, policy)).toBeUndefined();
    expect(progressStalled(0, 0, 600_000, policy)).toBeUndefined();
    expect(progressStalled(2, 0, 600_000)).toBeUndefined();
  });
});

describe('what a gate does by default', () => {
  it('pauses below the threshold and at the deadline, aborts when nobody approves', () => {
    expect([onBelowThreshold(), onProgressDeadline(), onApprovalTimeout({ approval: { after_waves: [1] } })]).toEqual([
      'pause',
      'pause',
      'abort',
    ]);
    expect([
      onBelowThreshold({ on_below_threshold: 'abort' }),
      onProgressDeadline({ on_progress_deadline: 'abort' }),
      onApprovalTimeout({ approval: { after_waves: [1], on_timeout: 'continue' } }),
    ]).toEqual(['abort', 'abort', 'continue']);
  });
});

describe('the rollout policy schema', () => {
  it('takes a full safety policy as sent', () => {
    const policy = {
      waves: [1, '25%'],
      approval: { after_waves: [1], timeout_seconds: 3600, on_timeout: 'continue' },
      success_threshold_percent: 95,
      on_below_threshold: 'abort',
      progress_deadline_seconds: 900,
      on_progress_deadline: 'pause',
    };
    expect(rolloutPolicy.parse(policy)).toEqual(policy);
  });
  it.each([
    [{ approval: { after_waves: [] } }, ['approval', 'after_waves']],
    [{ approval: { after_waves: [1], timeout_seconds: 0 } }, ['approval', 'timeout_seconds']],
    [{ success_threshold_percent: -1 }, ['success_threshold_percent']],
    [{ on_below_threshold: 'wait' }, ['on_below_threshold']],
    [{ progress_deadline_seconds: 604_801 }, ['progress_deadline_seconds']],
  ])('refuses %j at %j', (policy, path) => {
    const result = rolloutPolicy.safeParse(policy);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(path);
  });
});

describe('appliancesToRetry', () => {
  it('every appliance whose task did not succeed (failed, cancelled, never recorded), in the operation order', () => {
    const tasks = [
      { serial: 'C', status: 'successful' },
      { serial: 'A', status: 'failed' },
      { serial: 'B', status: 'cancelled' },
    ];
    expect(appliancesToRetry(['A', 'B', 'C', 'D'], tasks)).toEqual(['A', 'B', 'D']);
    expect(appliancesToRetry(['C'], tasks)).toEqual([]);
  });
});
