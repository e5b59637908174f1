/** Rolling upgrades on real parts: waves, tasks in flight, the failure threshold. */
import { createOperation } from '../../client/operations';
import type { RolloutPolicy } from '../../domain/rollout';
import type { upgradeOperation } from '../../workflows';
import { startStack, type Stack } from '../helpers/stack';

const TARGET = '9.16.0-100';
let stack: Stack;
let sh: string[];

beforeAll(async () => {
  stack = await startStack({ appliances: 120, speed: 400, taskQueue: 'integration-rollout' });
  sh = await stack.devices.listSerials('SH');
});
afterAll(() => stack?.stop());

async function run(serials: string[], rollout: RolloutPolicy) {
  const { operation } = await createOperation(
    stack.env.client,
    'upgrade',
    {
      product_code: 'SH',
      target_version: { version_id: TARGET },
      reboot: false,
      comment: 'rollout',
      appliances: serials,
      rollout,
    },
    { taskQueue: stack.taskQueue, username: 'tester' },
  );
  const result = await stack.env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`).result();
  return { id: operation.id, result };
}

/** Each appliance task's [start, close] in ms, from its child workflow. */
async function spans(operationId: string, serials: string[]): Promise<[number, number][]> {
  return Promise.all(
    serials.map(async (serial) => {
      const d = await stack.env.client.workflow.getHandle(`upgrade-${operationId}-${serial}`).describe();
      return [d.startTime.getTime(), d.closeTime!.getTime()] as [number, number];
    }),
  );
}

function maxOverlap(intervals: [number, number][]): number {
  const events = intervals
    .flatMap(
      ([s, e]) =>
        [
          [s, 1],
          [e, -1],
        ] as [number, number][],
    )
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, delta] of events) max = Math.max(max, (now += delta));
  return max;
}

test('the failure threshold stops the rollout; tasks not started end cancelled with the reason', async () => {
  const [ok1, bad1, bad2, ok2, ok3] = sh.splice(0, 5) as [string, string, string, string, string];
  for (const serial of [bad1, bad2]) await stack.devices.addFault(serial, { kind: 'fail_at_stage', stage: 'install' });
  const { id, result } = await run([ok1, bad1, bad2, ok2, ok3], {
    waves: [1],
    failure_threshold: { max_failures: 1, min_sample: 1 },
  });
  const reason = 'rollout stopped: 2 task(s) failed, more than the 1 allowed';
  expect(result.stop_reason).toBe(reason);
  expect(result.operation.status).toBe('partially_successful');
  expect(result.tasks.map((t) => t.status)).toEqual(['successful', 'failed', 'failed', 'cancelled', 'cancelled']);
  for (const serial of [ok2, ok3]) {
    expect(await stack.store.getTask(id, serial)).toMatchObject({ status: 'cancelled', stage: 'cancelled' });
    expect((await stack.store.getLog(id, serial)).map((e) => e.log_entry)).toEqual([`not started: ${reason}`]);
    expect(await stack.devices.counters(serial)).toMatchObject({ stages: 0, installs: 0 });
  }
  expect(await stack.store.getOperation('upgrade', id)).toMatchObject({
    status: 'partially_successful',
    stop_reason: reason,
  });
});

test('never more than max_in_flight tasks run at once', async () => {
  const serials = sh.splice(0, 6);
  const { id, result } = await run(serials, { max_in_flight: 2 });
  expect(result.operation.status).toBe('successful');
  expect(maxOverlap(await spans(id, serials))).toBe(2);
});

test('waves run one after another: the canary finishes before anything else starts', async () => {
  const serials = sh.splice(0, 5);
  const { id, result } = await run(serials, { waves: [1, '50%'] });
  expect(result.operation.status).toBe('successful');
  const times = await spans(id, serials);
  // Waves: [1], [3] (50% of 5, rounded up), [1].
  const [canary, second, third] = [times.slice(0, 1), times.slice(1, 4), times.slice(4)];
  expect(Math.max(...canary.map(([, e]) => e))).toBeLessThanOrEqual(Math.min(...second.map(([s]) => s)));
  expect(Math.max(...second.map(([, e]) => e))).toBeLessThanOrEqual(Math.min(...third.map(([s]) => s)));
  expect(maxOverlap(second)).toBe(3);
});

test('a bad rollout policy is refused with the field named', async () => {
  await expect(run(sh.slice(0, 1), { waves: ['250%'] })).rejects.toThrow(
    'rollout.waves.0: a wave size is a positive count or a percentage',
  );
  await expect(run(sh.slice(0, 1), { max_in_flight: -1 })).rejects.toThrow(/^rollout\.max_in_flight: /);
});
