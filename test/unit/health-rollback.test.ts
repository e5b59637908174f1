import { healthCheck, taskRetries } from '../../domain/operation-schemas';
import {
  healthCheckRefusal,
  healthProblem,
  retryDelayMs,
  rollbackStep,
  rolledBackMessage,
  rollsBackOnFailure,
  safetySummary,
  taskSafety,
} from '../../domain/rollout-safety';
import { downgradeOperationRequest, rebootOperationRequest, upgradeOperationRequest } from '../../domain/scc';

const v = (version_id: string) => ({ version_id });
const health = (services: [string, 'up' | 'starting' | 'down'][], error_counters: Record<string, number> = {}) => ({
  serial: 'S1',
  uptime_seconds: 100,
  services: services.map(([name, state]) => ({ name, state })),
  error_counters,
});

describe('healthProblem', () => {
  it('is healthy when every service is up and no error was counted since boot', () => {
    expect(
      healthProblem(
        health(
          [
            ['management', 'up'],
            ['datapath', 'up'],
          ],
          { service_restarts: 0 },
        ),
      ),
    ).toBeUndefined();
  });
  it('names the services not up and the error counters above zero', () => {
    expect(
      healthProblem(
        health(
          [
            ['management', 'up'],
            ['optimization', 'down'],
            ['datapath', 'starting'],
          ],
          { service_restarts: 3, kernel_panics: 0 },
        ),
      ),
    ).toBe('services not up: optimization down, datapath starting; errors since boot: service_restarts 3');
  });
});

describe('retryDelayMs', () => {
  const policy = taskRetries.parse({ max: 2, on: ['timed_out'], backoff_seconds: 30 });
  it('never retries without a policy', () => {
    expect(retryDelayMs(undefined, 1, 'failed')).toBeUndefined();
  });
  it('retries up to max more attempts, only on the named ends, after the backoff', () => {
    expect(retryDelayMs(policy, 1, 'timed_out')).toBe(30_000);
    expect(retryDelayMs(policy, 2, 'timed_out')).toBe(30_000);
    expect(retryDelayMs(policy, 3, 'timed_out')).toBeUndefined();
    expect(retryDelayMs(policy, 1, 'failed')).toBeUndefined();
  });
  it('defaults: on failed and timed_out, at once', () => {
    const defaults = taskRetries.parse({ max: 1 });
    expect(defaults).toEqual({ max: 1, on: ['failed', 'timed_out'], backoff_seconds: 0 });
    expect(retryDelayMs(defaults, 1, 'failed')).toBe(0);
  });
});

describe('rollback rules', () => {
  it('rolls back on failure with on_failure and all only', () => {
    expect([undefined, 'none', 'on_failure', 'all'].map((p) => rollsBackOnFailure(p as never))).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });
  it('nothing when the appliance still runs the previous version; the other partition when it holds it; else the image', () => {
    expect(rollbackStep({ running_version: v('9.12'), standby_version: v('9.14') }, v('9.12'))).toBe('none');
    expect(rollbackStep({ running_version: v('9.14'), standby_version: v('9.12') }, v('9.12'))).toBe(
      'switch_partition',
    );
    expect(rollbackStep({ running_version: v('9.18'), standby_version: v('9.16') }, v('9.12'))).toBe('image');
    expect(rollbackStep({ running_version: v('9.18'), standby_version: null }, v('9.12'))).toBe('image');
  });
  it('says where the appliance went', () => {
    expect(rolledBackMessage('health check failed: x', v('9.12.0-100'))).toBe(
      'health check failed: x; rolled back to 9.12.0-100',
    );
  });
});

describe('health check rules', () => {
  const policy = healthCheck.parse({ settle_seconds: 60, probes: 5, interval_seconds: 30 });
  it('defaults a health check to 60 s settle, 5 probes 30 s apart', () => {
    expect(healthCheck.parse({})).toEqual(policy);
  });
  it("needs the task's own reboot", () => {
    expect(healthCheckRefusal(policy, { reboot: false, deferredReboot: false, taskTimeoutSeconds: 1800 })).toMatch(
      /needs reboot: true without a reboot_time/,
    );
    expect(healthCheckRefusal(policy, { reboot: true, deferredReboot: true, taskTimeoutSeconds: 1800 })).toMatch(
      /needs reboot: true/,
    );
    expect(
      healthCheckRefusal(policy, { reboot: true, deferredReboot: false, taskTimeoutSeconds: 1800 }),
    ).toBeUndefined();
  });
  it("must fit in the task's time limit", () => {
    expect(healthCheckRefusal(policy, { reboot: true, deferredReboot: false, taskTimeoutSeconds: 180 })).toBe(
      "settle_seconds + (probes - 1) × interval_seconds is 180 s: it must be less than the task's time limit (180 s)",
    );
    expect(
      healthCheckRefusal(policy, { reboot: true, deferredReboot: false, taskTimeoutSeconds: 181 }),
    ).toBeUndefined();
  });
});

describe('the operation request fields', () => {
  const base = {
    product_code: 'SH',
    target_version: { version_id: '9.16.0-100' },
    reboot: true,
    comment: '',
    appliances: ['S0AA00000001'],
  };
  const firstIssue = (body: unknown) => {
    const r = upgradeOperationRequest.safeParse(body);
    return r.success ? undefined : r.error.issues[0]!.path.join('.');
  };
  it('accepts a full policy on upgrades and downgrades, with defaults filled in', () => {
    const body = {
      ...base,
      health_check: { settle_seconds: 5, probes: 3, interval_seconds: 10 },
      rollback: 'on_failure',
      task_retries: { max: 2 },
    };
    expect(upgradeOperationRequest.parse(body)).toMatchObject({
      rollback: 'on_failure',
      task_retries: { max: 2, on: ['failed', 'timed_out'], backoff_seconds: 0 },
    });
    expect(downgradeOperationRequest.safeParse(body).success).toBe(true);
  });
  it.each([
    [{ health_check: { probes: 0 } }, 'health_check.probes'],
    [{ health_check: { interval_seconds: 1.5 } }, 'health_check.interval_seconds'],
    [{ health_check: { settle_seconds: -1 } }, 'health_check.settle_seconds'],
    [{ health_check: { wait: 1 } }, 'health_check'],
    [{ rollback: 'sometimes' }, 'rollback'],
    [{ task_retries: { max: 11 } }, 'task_retries.max'],
    [{ task_retries: {} }, 'task_retries.max'],
    [{ task_retries: { max: 1, on: ['crashed'] } }, 'task_retries.on.0'],
    [{ task_retries: { max: 1, on: [] } }, 'task_retries.on'],
    [{ task_retries: { max: 1, backoff_seconds: 3601 } }, 'task_retries.backoff_seconds'],
  ])('refuses %j naming %s', (extra, field) => {
    expect(firstIssue({ ...base, ...extra })).toBe(field);
  });
  it('reboot operations have none of them', () => {
    expect(Object.keys(rebootOperationRequest.shape)).not.toContain('health_check');
  });
  it('the policy of an operation document, and its line in fleet status', () => {
    const operation = upgradeOperationRequest.parse({
      ...base,
      health_check: { settle_seconds: 5, probes: 3, interval_seconds: 10 },
      rollback: 'all',
      task_retries: { max: 2, backoff_seconds: 30 },
    });
    expect(taskSafety(operation)).toEqual({
      health_check: { settle_seconds: 5, probes: 3, interval_seconds: 10 },
      rollback: 'all',
      task_retries: { max: 2, on: ['failed', 'timed_out'], backoff_seconds: 30 },
    });
    expect(safetySummary(operation)).toBe(
      'health check: settle 5 s, 3 probe(s) 10 s apart; rollback: all; task retries: up to 2 on failed/timed_out, 30 s apart',
    );
    expect(safetySummary(base)).toBeUndefined();
    expect(taskSafety(base)).toEqual({});
  });
});
