/**
 * A terminated operation's places, in virtual time, on a time-skipping server of its own: with --randomize, a test of
 * the same server run after this one hung (its operation never ended; most likely the terminated operation's leftovers
 * on a task queue nobody polls any more keep the server from skipping time). device-time.test.ts has the others.
 */
import { operationInput, serials, startUpgrade, until } from '../helpers/device-time';
import { fakeDeviceActivities } from '../helpers/fake-device';
import { useTimeSkipping } from '../helpers/time-skipping';

const wf = useTimeSkipping();
const start = (taskQueue: string, input: Parameters<typeof startUpgrade>[2]) => startUpgrade(wf, taskQueue, input);
const clock = () => wf.env.currentTimeMs();

test('places held by an operation that was terminated are given to the waiting ones', async () => {
  const fake = fakeDeviceActivities({ jobSeconds: 3600, clock });
  const first = operationInput(serials('CA', 2));
  const second = operationInput(serials('CB', 2));
  const result = await wf.withWorker(
    fake.activities,
    async (taskQueue) => {
      const a = await start(taskQueue, first);
      await until(async () => (await wf.store.taskStatusCounts(first.operation.id)).running === 2);
      const b = await start(taskQueue, second);
      await until(async () =>
        (await wf.store.getLog(second.operation.id, second.operation.appliances[0])).some((l) =>
          l.log_entry.startsWith('waiting for a place'),
        ),
      );
      // Terminated: the operation never gives its places back itself.
      await a.terminate('test');
      return b.result();
    },
    { maxTasksInFlight: 2 },
  );
  expect(result.operation.status).toBe('successful');
});
