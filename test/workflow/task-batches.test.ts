/**
 * Large operations run their appliance tasks in batch workflows, so no history holds thousands of
 * child workflows; the rollout policy still holds across batches. Small batch sizes stand in for
 * the default of 500 (virtual time, in-memory devices, real SQLite store).
 */
import type { UpgradeOperation } from '../../domain/scc';
import type { upgradeOperation } from '../../workflows';
import {
  cancelApplianceTaskUpdate,
  pauseOperationSignal,
  resumeOperationSignal,
  type OperationInput,
} from '../../workflows/types';
import { fakeDeviceActivities } from '../helpers/fake-device';
import { useTimeSkipping } from '../helpers/time-skipping';
import { upgradeOperationDoc } from '../helpers/operation-doc';

const wf = useTimeSkipping();

const serials = (n: number): string[] => Array.from({ length: n }, (_, i) => `S12AB${String(i).padStart(8, '0')}`);

function operation(appliances: string[]): UpgradeOperation {
  return upgradeOperationDoc(appliances);
}

async function run(
  input: OperationInput,
  activities: object,
  during?: (handle: { executeUpdate: (...a: any[]) => Promise<unknown> }) => Promise<void>,
) {
  return wf.withWorker(activities, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof upgradeOperation>('upgradeOperation', {
      taskQueue,
      workflowId: `upgrade-${input.operation.id}`,
      args: [input],
    });
    if (during) await during(handle);
    const result = await handle.result();
    const history = await handle.fetchHistory();
    return { result, history };
  });
}

const childStarts = (history: {
  events?:
    | {
        startChildWorkflowExecutionInitiatedEventAttributes?: { workflowType?: { name?: string | null } | null } | null;
      }[]
    | null;
}) =>
  (history.events ?? []).flatMap((e) =>
    e.startChildWorkflowExecutionInitiatedEventAttributes
      ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowType?.name]
      : [],
  );

test('tasks run in batches within max_in_flight; the operation starts only the batches', async () => {
  const fake = fakeDeviceActivities();
  const op = operation(serials(8));
  const { result, history } = await run(
    { operation: op, tasksPerBatch: 3, rollout: { max_in_flight: 4 } },
    fake.activities,
  );

  expect(result.operation.status).toBe('successful');
  expect(result).toMatchObject({ tasks: [], tasks_omitted: true, task_counts: { successful: 8 } });
  // The operation's own history has the three batches and no appliance task.
  expect(childStarts(history)).toEqual(['applianceTaskBatch', 'applianceTaskBatch', 'applianceTaskBatch']);
  const stored = await wf.store.listTasks(op.id);
  expect(stored.map((t) => [t.serial, t.status, t.stage])).toEqual(
    op.appliances.map((s) => [s, 'successful', 'completed']),
  );
  expect((await wf.store.getOperation('upgrade', op.id))?.status).toBe('successful');
  // Each appliance was installed once.
  expect(
    fake.calls
      .filter((c) => c.activity === 'installImage')
      .map((c) => c.serial)
      .sort(),
  ).toEqual([...op.appliances].sort());
  const batch = await wf.env.client.workflow.getHandle(`upgrade-${op.id}-batch-1`).describe();
  expect(batch.type).toBe('applianceTaskBatch');
});

test('the failure threshold counts across batches and stops the batches not yet started', async () => {
  const appliances = serials(6);
  const fake = fakeDeviceActivities({ failing: new Set([appliances[0]!]) });
  const op = operation(appliances);
  const { result } = await run(
    {
      operation: op,
      tasksPerBatch: 2,
      rollout: { max_in_flight: 1, failure_threshold: { max_failures: 0, min_sample: 1 } },
    },
    fake.activities,
  );

  expect(result.operation.status).toBe('failed');
  expect(result.stop_reason).toBe('rollout stopped: 1 task(s) failed, more than the 0 allowed');
  const stored = new Map((await wf.store.listTasks(op.id)).map((t) => [t.serial, t.status]));
  expect(stored.get(appliances[0]!)).toBe('failed');
  expect(appliances.slice(1).map((s) => stored.get(s))).toEqual([
    'cancelled',
    'cancelled',
    'cancelled',
    'cancelled',
    'cancelled',
  ]);
  // Only the first appliance was touched.
  expect(new Set(fake.calls.map((c) => c.serial))).toEqual(new Set([appliances[0]]));
  expect((await wf.store.getLog(op.id, appliances[5])).map((l) => l.log_entry)).toContain(
    'not started: rollout stopped: 1 task(s) failed, more than the 0 allowed',
  );
});

test.each([
  ['in a batch not yet started', 2],
  ['in an operation without batches', undefined],
])(
  'a task cancelled before it starts (%s) is recorded cancelled at once and never runs; the others do',
  async (_, tasksPerBatch) => {
    const appliances = serials(5);
    const fake = fakeDeviceActivities();
    const op = operation(appliances);
    const startAtMs = (await wf.env.currentTimeMs()) + 3600_000;
    const { result } = await run(
      { operation: op, startAtMs, ...(tasksPerBatch ? { tasksPerBatch } : {}) },
      fake.activities,
      async (handle) => {
        expect(await handle.executeUpdate(cancelApplianceTaskUpdate, { args: [appliances[4]!] })).toBe('cancelled');
        // An hour before the operation starts, the store already says so.
        expect(await wf.store.getTask(op.id, appliances[4]!)).toMatchObject({
          status: 'cancelled',
          stage: 'cancelled',
        });
        expect((await wf.store.getLog(op.id, appliances[4])).map((l) => l.log_entry)).toEqual([
          'cancelled before it started',
        ]);
        expect(await wf.env.currentTimeMs()).toBeLessThan(startAtMs);
      },
    );
    expect(result.operation.status).toBe('partially_successful');
    const stored = new Map((await wf.store.listTasks(op.id)).map((t) => [t.serial, t.status]));
    expect(appliances.map((s) => stored.get(s))).toEqual([
      'successful',
      'successful',
      'successful',
      'successful',
      'cancelled',
    ]);
    expect(fake.calls.some((c) => c.serial === appliances[4])).toBe(false);
    expect((await wf.store.getLog(op.id, appliances[4])).map((l) => l.log_entry)).toEqual([
      'cancelled before it started',
    ]);
  },
);

/** Until the stored task has this status (the workflow runs meanwhile, in real time). */
async function storedStatus(operationId: string, serial: string, status: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await wf.store.getTask(operationId, serial))?.status !== status) {
    if (Date.now() > deadline) throw new Error(`task ${serial} never became ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a task running in a batch is cancelled by the operation's update: its device job is stopped, the others go on", async () => {
  const appliances = serials(4);
  const fake = fakeDeviceActivities({ jobSeconds: 60, clock: () => wf.env.currentTimeMs() });
  const op = operation(appliances);
  const { result, history } = await run({ operation: op, tasksPerBatch: 2 }, fake.activities, async (handle) => {
    await storedStatus(op.id, appliances[3]!, 'running');
    expect(await handle.executeUpdate(cancelApplianceTaskUpdate, { args: [appliances[3]!] })).toBe('cancelled');
  });
  expect(childStarts(history)).toEqual(['applianceTaskBatch', 'applianceTaskBatch']);
  expect(result.operation.status).toBe('partially_successful');
  const stored = new Map((await wf.store.listTasks(op.id)).map((t) => [t.serial, t.status]));
  expect(appliances.map((s) => stored.get(s))).toEqual(['successful', 'successful', 'successful', 'cancelled']);
  // The device was asked to stop the cancelled task's job; no other job was stopped, and it never installed.
  expect(fake.calls.filter((c) => c.activity === 'cancelDeviceJob').map((c) => c.serial)).toEqual([appliances[3]]);
  expect(fake.calls.some((c) => c.activity === 'installImage' && c.serial === appliances[3])).toBe(false);
});

test('a pause reaches a running batch: its next task does not start until resumed', async () => {
  const appliances = serials(5);
  const fake = fakeDeviceActivities({ jobSeconds: 60, clock: () => wf.env.currentTimeMs() });
  const op = operation(appliances);
  // The first batch (four tasks) runs one task at a time.
  const { result } = await run(
    { operation: op, tasksPerBatch: 4, rollout: { max_in_flight: 1 } },
    fake.activities,
    async (handle) => {
      const signals = handle as unknown as {
        signal: (s: typeof pauseOperationSignal | typeof resumeOperationSignal) => Promise<void>;
      };
      await storedStatus(op.id, appliances[0]!, 'running');
      await signals.signal(pauseOperationSignal);
      // Its three device jobs of a minute each end in virtual time; paused, the next task never starts.
      await wf.env.sleep('1 hour');
      await storedStatus(op.id, appliances[0]!, 'successful');
      expect(appliances.slice(1).map((s) => fake.calls.some((c) => c.serial === s))).toEqual([
        false,
        false,
        false,
        false,
      ]);
      expect((await wf.store.getTask(op.id, appliances[1]!))?.status).toBe('scheduled');
      await signals.signal(resumeOperationSignal);
    },
  );
  expect(result.operation.status).toBe('successful');
  expect((await wf.store.listTasks(op.id)).map((t) => t.status)).toEqual(appliances.map(() => 'successful'));
});
