/**
 * Per-task retries in virtual time: an attempt that runs out of its time limit is retried after its
 * backoff (a durable timer), each attempt with its own limit and its own idempotency keys, and the
 * task ends with the last attempt's reason once `max` retries are spent (in-memory devices, real
 * SQLite store).
 */
import type { TaskRetryPolicy } from '../../domain/rollout-safety';
import type { upgradeOperation } from '../../workflows';
import type { OperationInput } from '../../workflows/types';
import { fakeDeviceActivities } from '../helpers/fake-device';
import { useTimeSkipping } from '../helpers/time-skipping';
import { upgradeOperationDoc } from '../helpers/operation-doc';

const wf = useTimeSkipping();
const clock = () => wf.env.currentTimeMs();
const MINUTE = 60_000;

async function upgrade(serial: string, task_retries: TaskRetryPolicy, fake: ReturnType<typeof fakeDeviceActivities>) {
  const keys: { key: string; atMs: number }[] = [];
  const activities = {
    ...fake.activities,
    async startDeviceJob(input: Parameters<typeof fake.activities.startDeviceJob>[0]) {
      keys.push({ key: input.idempotencyKey, atMs: await clock() });
      return fake.activities.startDeviceJob(input);
    },
  };
  const operation = upgradeOperationDoc([serial], { task_retries });
  const input: OperationInput = { operation, taskTimeoutMs: 30 * MINUTE };
  const result = await wf.withWorker(activities, async (taskQueue) =>
    (
      await wf.env.client.workflow.start<typeof upgradeOperation>('upgradeOperation', {
        taskQueue,
        workflowId: `upgrade-${operation.id}`,
        args: [input],
      })
    ).result(),
  );
  const log = (await wf.store.getLog(operation.id, serial)).map((l) => l.log_entry);
  return { task: result.tasks[0]!, log, keys };
}

test("a timed-out attempt is retried after its backoff with its own time limit and keys; the last one's reason ends the task", async () => {
  const serial = 'S12TR00000001';
  // Staging answers "busy, try in an hour": every attempt runs out of its 30 minutes.
  const fake = fakeDeviceActivities({ busy: new Set([serial]), clock });
  const { task, log, keys } = await upgrade(serial, { max: 1, on: ['timed_out'], backoff_seconds: 600 }, fake);

  const reason = 'task did not finish within 30 minutes (timed out in stage downloading)';
  expect(task).toMatchObject({ status: 'failed', stage: 'failed', message: reason });
  expect(log).toContain(`attempt 1 of 2 timed out: ${reason}; attempt 2 in 10 minutes`);
  expect(log.filter((l) => l.startsWith('upgrade to 9.16.0-100 started'))).toEqual([
    'upgrade to 9.16.0-100 started (attempt 1 of 2)',
    'upgrade to 9.16.0-100 started (attempt 2 of 2)',
  ]);
  const first = keys.filter((k) => k.key.includes(':attempt-1:stage:'));
  const second = keys.filter((k) => k.key.includes(':attempt-2:stage:'));
  expect(first.length).toBeGreaterThan(0);
  expect(second.length).toBeGreaterThan(0);
  expect(new Set(keys.map((k) => k.key)).size).toBe(2);
  // Attempt 2 starts after attempt 1's 30 minutes and the 10-minute backoff.
  expect(second[0]!.atMs - first[0]!.atMs).toBeGreaterThanOrEqual(40 * MINUTE);
});

test('a failure is not retried when the policy names only timed_out', async () => {
  const serial = 'S12TR00000002';
  const fake = fakeDeviceActivities({ failing: new Set([serial]), clock });
  const { task, log, keys } = await upgrade(serial, { max: 3, on: ['timed_out'], backoff_seconds: 0 }, fake);
  expect(task).toMatchObject({ status: 'failed', message: `appliance ${serial} refused the image` });
  expect(log.filter((l) => l.startsWith('attempt '))).toEqual([]);
  // One attempt, one refused stage call.
  expect(keys.map((k) => k.key)).toEqual([
    expect.stringMatching(new RegExp(`^upgrade-\\d+-${serial}:attempt-1:stage:9\\.16\\.0-100$`)),
  ]);
});
