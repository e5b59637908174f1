/**
 * A terminated operation's places, in virtual time, on a time-skipping server of its own: with --randomize, a test of
 * the same server run after this one hung (its operation never ended; most likely the terminated operation's leftovers
 * on a task queue nobody polls any more keep the server from skipping time). device-time.test.ts has the others.
 */
import type { UpgradeOperation } from '../../domain/scc';
import type { upgradeOperation } from '../../workflows';
import type { OperationInput } from '../../workflows/types';
import { fakeDeviceActivities } from '../helpers/fake-device';
import { useTimeSkipping } from '../helpers/time-skipping';

const wf = useTimeSkipping();
let seq = 0;
const HOUR_MS = 3_600_000;

const serials = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `S12${prefix}${String(i).padStart(8, '0')}`);

function operationInput(appliances: string[]): OperationInput {
  seq++;
  const operation: UpgradeOperation = {
    id: `7${seq}${Date.now() % 100000}`,
    username: 'tester',
    create_time: new Date().toISOString(),
    status: 'scheduled',
    product_code: 'SH',
    target_version: { version_id: '9.16.0-100' },
    reboot: false,
    comment: '',
    appliances,
  };
  return { operation, taskTimeoutMs: 12 * HOUR_MS };
}

const start = (taskQueue: string, input: OperationInput) =>
  wf.env.client.workflow.start<typeof upgradeOperation>('upgradeOperation', {
    taskQueue,
    workflowId: `upgrade-${input.operation.id}`,
    args: [input],
  });

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

/** Polls a condition of the store until it holds (the workflows get there without time passing; the deadline only ends a hung test). */
async function until(check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
