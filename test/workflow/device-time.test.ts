/**
 * Device jobs of hours, in virtual time: waiting for them holds no worker slot, and the fleet-wide
 * limit on tasks in flight is shared fairly by concurrent operations (in-memory devices whose jobs
 * last `jobSeconds` of the test server's clock; real SQLite store).
 */
import type { OperationInput } from '../../workflows/types';
import { HOUR_MS, operationInput, serials, startUpgrade, until } from '../helpers/device-time';
import { fakeDeviceActivities } from '../helpers/fake-device';
import { useTimeSkipping } from '../helpers/time-skipping';

const wf = useTimeSkipping();
const start = (taskQueue: string, input: OperationInput) => startUpgrade(wf, taskQueue, input);
const clock = () => wf.env.currentTimeMs();

test('20 tasks whose device jobs take 2 hours each run at once on a worker with 2 activity slots', async () => {
  const fake = fakeDeviceActivities({ jobSeconds: 2 * 3600, clock });
  const input = operationInput(serials('AA', 20));
  const worker = { maxConcurrentActivityTaskExecutions: 2, maxConcurrentLocalActivityExecutions: 2 };
  const result = await wf.withWorker(fake.activities, async (taskQueue) => (await start(taskQueue, input)).result(), {
    worker,
  });

  expect(result.operation.status).toBe('successful');
  // Every task's download ran alongside every other's: 20 jobs at once, not 2.
  expect(fake.peakConcurrentJobs()).toBe(20);
  // Two 2-hour jobs per task (stage, install), all tasks together: about 4 hours, not 40.
  expect(fake.jobSpanMs()).toBeGreaterThanOrEqual(4 * HOUR_MS);
  expect(fake.jobSpanMs()).toBeLessThan(5 * HOUR_MS);
  // Reads follow the job: at most one every 10 minutes of a 2-hour job (13 a job), not one a second.
  const reads = fake.calls.filter((c) => c.activity === 'readDeviceJob').length;
  expect(reads).toBeLessThanOrEqual(20 * 2 * 13);
});

test('two operations share one fleet-wide limit fairly; a task waiting for a place reads scheduled with a log line saying so', async () => {
  const fake = fakeDeviceActivities({ jobSeconds: 3600, clock });
  const first = operationInput(serials('BA', 8));
  const second = operationInput(serials('BB', 8));
  const results = await wf.withWorker(
    fake.activities,
    async (taskQueue) => {
      const a = await start(taskQueue, first);
      // The first operation holds every place before the second asks for any.
      await until(async () => (await wf.store.taskStatusCounts(first.operation.id)).running === 4);
      const b = await start(taskQueue, second);
      const waiting = second.operation.appliances[0]!;
      await until(async () =>
        (await wf.store.getLog(second.operation.id, waiting)).some((l) =>
          l.log_entry.startsWith('waiting for a place'),
        ),
      );
      expect((await wf.store.getTask(second.operation.id, waiting))?.status).toBe('scheduled');
      expect((await wf.store.getLog(second.operation.id, waiting)).map((l) => l.log_entry)).toContain(
        'waiting for a place: 4 appliance tasks are in flight across the fleet (FLEET_MAX_TASKS_IN_FLIGHT); this one starts when a place frees up',
      );
      // One at a time: the test server stops skipping time when one of two concurrent waits ends.
      return [await a.result(), await b.result()];
    },
    { maxTasksInFlight: 4 },
  );

  expect(results.map((r) => r.operation.status)).toEqual(['successful', 'successful']);
  // Never more than the limit at once, and the limit used.
  expect(fake.peakConcurrentJobs()).toBe(4);
  // Fair: once both wait, places alternate; the second's first task did not wait for all of the first's.
  const startTimes = async (input: OperationInput) =>
    Promise.all(
      input.operation.appliances.map(
        async (s) =>
          ((await wf.store.getTask(input.operation.id, s))?.task_start_time as { datetime: number }).datetime,
      ),
    );
  const [firstStarts, secondStarts] = await Promise.all([startTimes(first), startTimes(second)]);
  expect(Math.min(...secondStarts)).toBeLessThan(Math.max(...firstStarts));
  expect(Math.max(...secondStarts)).toBeGreaterThanOrEqual(Math.max(...firstStarts));
});
