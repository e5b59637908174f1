/**
 * Rollout safety in virtual time: an approval's timeout (abort or continue) and the progress
 * deadline (pause or abort), with in-memory devices and the real SQLite store.
 */
import type { RolloutPolicy } from '../../domain/rollout';
import type { UpgradeOperation } from '../../domain/scc';
import type { upgradeOperation } from '../../workflows';
import {
  resumeOperationSignal,
  operationStateQuery,
  type OperationInput,
  type OperationState,
} from '../../workflows/types';
import { fakeDeviceActivities } from '../helpers/fake-device';
import { useTimeSkipping } from '../helpers/time-skipping';
import { upgradeOperationDoc } from '../helpers/operation-doc';

const wf = useTimeSkipping();
let seq = 0;

const serials = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `S13RS${String(seq * 10 + i).padStart(8, '0')}`);

function operation(appliances: string[]): UpgradeOperation {
  seq++;
  return upgradeOperationDoc(appliances);
}

type Handle = Awaited<ReturnType<typeof wf.env.client.workflow.start<typeof upgradeOperation>>>;

async function run(
  appliances: string[],
  rollout: RolloutPolicy,
  activities: object,
  during?: (handle: Handle, id: string) => Promise<void>,
  tasksPerBatch?: number,
) {
  const op = operation(appliances);
  const input: OperationInput = { operation: op, rollout, ...(tasksPerBatch ? { tasksPerBatch } : {}) };
  return wf.withWorker(activities, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof upgradeOperation>('upgradeOperation', {
      taskQueue,
      workflowId: `upgrade-${op.id}`,
      args: [input],
    });
    if (during) await during(handle, op.id);
    return { op, result: await handle.result() };
  });
}

const operationLog = async (id: string): Promise<string[]> => (await wf.store.getLog(id)).map((l) => l.log_entry);
const statuses = async (id: string, appliances: string[]): Promise<string[]> => {
  const stored = new Map((await wf.store.listTasks(id)).map((t) => [t.serial, t.status]));
  return appliances.map((s) => stored.get(s)!);
};

/** Until the operation's query says `fn`, moving virtual time on 30 s between reads (queries alone do not skip time). */
async function until(handle: Handle, fn: (state: OperationState) => boolean): Promise<void> {
  for (;;) {
    const state = await handle.query(operationStateQuery);
    if (fn(state)) return;
    await wf.env.sleep(30_000);
  }
}

describe('approval after a wave, nobody answers', () => {
  test('on_timeout abort: the rest of the rollout ends cancelled with the reason', async () => {
    const appliances = serials(3);
    const fake = fakeDeviceActivities();
    const { op, result } = await run(
      appliances,
      { waves: [1], approval: { after_waves: [1], timeout_seconds: 3600, on_timeout: 'abort' } },
      fake.activities,
    );
    const reason = 'rollout aborted: no approval within 1 hour after wave 1';
    expect(result.stop_reason).toBe(reason);
    expect(result.operation.status).toBe('partially_successful');
    expect(result.approval).toMatchObject({ state: 'timed_out', after_wave: 1 });
    expect(result.approval!.timeout_time! - result.approval!.since).toBe(3600);
    expect(await statuses(op.id, appliances)).toEqual(['successful', 'cancelled', 'cancelled']);
    expect((await wf.store.getLog(op.id, appliances[1])).map((l) => l.log_entry)).toEqual([`not started: ${reason}`]);
    expect(await operationLog(op.id)).toEqual(
      expect.arrayContaining([
        'awaiting approval after wave 1 (within 1 hour, then abort): approve or reject to go on',
        'no approval or reject within 1 hour after wave 1',
        reason,
      ]),
    );
    expect(await wf.store.getOperation('upgrade', op.id)).toMatchObject({
      status: 'partially_successful',
      stop_reason: reason,
      approval: { state: 'timed_out', after_wave: 1 },
    });
    // Only the first wave's appliance was touched.
    expect(new Set(fake.calls.map((c) => c.serial))).toEqual(new Set([appliances[0]]));
  });

  test('on_timeout continue: the next waves run after the timeout', async () => {
    const appliances = serials(3);
    const fake = fakeDeviceActivities();
    const startMs = await wf.env.currentTimeMs();
    const { op, result } = await run(
      appliances,
      { waves: [1, 2], approval: { after_waves: [1], timeout_seconds: 1800, on_timeout: 'continue' } },
      fake.activities,
    );
    expect(result.operation.status).toBe('successful');
    expect(result.stop_reason).toBeUndefined();
    expect(result.approval).toMatchObject({ state: 'timed_out', after_wave: 1 });
    expect(await statuses(op.id, appliances)).toEqual(['successful', 'successful', 'successful']);
    expect(await operationLog(op.id)).toContain(
      'no approval or reject within 30 minutes after wave 1: the rollout continues (on_timeout: continue)',
    );
    expect((await wf.env.currentTimeMs()) - startMs).toBeGreaterThanOrEqual(1800_000);
    // The second wave started only after the timeout.
    const secondStart = (
      await wf.env.client.workflow.getHandle(`upgrade-${op.id}-${appliances[1]}`).describe()
    ).startTime.getTime();
    const firstClose = (
      await wf.env.client.workflow.getHandle(`upgrade-${op.id}-${appliances[0]}`).describe()
    ).closeTime!.getTime();
    expect(secondStart - firstClose).toBeGreaterThanOrEqual(1800_000);
  });
});

describe('progress deadline: tasks run and none finishes in time', () => {
  const slowDevices = () => fakeDeviceActivities({ jobSeconds: 120, clock: () => wf.env.currentTimeMs() });
  const reason = 'no task finished in 60 s while 1 task(s) ran (progress deadline)';

  test('abort: no new task starts, the running one finishes', async () => {
    const appliances = serials(3);
    const { op, result } = await run(
      appliances,
      { max_in_flight: 1, progress_deadline_seconds: 60, on_progress_deadline: 'abort' },
      slowDevices().activities,
    );
    expect(result.stop_reason).toBe(`rollout aborted: ${reason}`);
    expect(await statuses(op.id, appliances)).toEqual(['successful', 'cancelled', 'cancelled']);
    expect(await operationLog(op.id)).toContain(`rollout aborted: ${reason}`);
  });

  test('pause: the operation pauses with the reason and goes on when resumed', async () => {
    const appliances = serials(2);
    const { op, result } = await run(
      appliances,
      { max_in_flight: 1, progress_deadline_seconds: 60 },
      slowDevices().activities,
      async (handle, id) => {
        await until(handle, (s) => s.paused && s.tasks[0]!.status === 'successful');
        expect(await wf.store.getOperation('upgrade', id)).toMatchObject({ paused: true, pause_reason: reason });
        expect((await wf.store.getTask(id, appliances[1]!))!.status).toBe('scheduled');
        await handle.signal(resumeOperationSignal);
      },
    );
    expect(result.operation.status).toBe('successful');
    expect(await operationLog(op.id)).toEqual(
      expect.arrayContaining([`paused: ${reason}; resume to go on`, 'resumed']),
    );
    // The second task, as slow, paused the rollout again; with nothing left to start the operation ended.
    expect(await statuses(op.id, appliances)).toEqual(['successful', 'successful']);
  });

  test('tasks that finish within the deadline keep the rollout going', async () => {
    const appliances = serials(3);
    const devices = fakeDeviceActivities({ jobSeconds: 5, clock: () => wf.env.currentTimeMs() });
    const { op, result } = await run(
      appliances,
      { max_in_flight: 1, progress_deadline_seconds: 3600, on_progress_deadline: 'abort' },
      devices.activities,
    );
    expect(result.operation.status).toBe('successful');
    expect(result.stop_reason).toBeUndefined();
    expect(await operationLog(op.id)).not.toEqual(
      expect.arrayContaining([expect.stringContaining('progress deadline')]),
    );
  });
});

describe('a large operation (tasks in batch workflows) keeps the gates', () => {
  test('approval timeout after a wave of batches: abort', async () => {
    const appliances = serials(4);
    const fake = fakeDeviceActivities();
    const { op, result } = await run(
      appliances,
      { waves: [2], approval: { after_waves: [1], timeout_seconds: 600 } },
      fake.activities,
      undefined,
      1,
    );
    expect(result.stop_reason).toBe('rollout aborted: no approval within 10 minutes after wave 1');
    expect(await statuses(op.id, appliances)).toEqual(['successful', 'successful', 'cancelled', 'cancelled']);
  });

  test('a batch whose tasks stall makes the operation stop every batch', async () => {
    const appliances = serials(3);
    const devices = fakeDeviceActivities({ jobSeconds: 120, clock: () => wf.env.currentTimeMs() });
    const { op, result } = await run(
      appliances,
      { max_in_flight: 1, progress_deadline_seconds: 60, on_progress_deadline: 'abort' },
      devices.activities,
      undefined,
      1,
    );
    expect(result.stop_reason).toBe(
      'rollout aborted: no task finished in 60 s while 1 task(s) ran (progress deadline)',
    );
    expect(await statuses(op.id, appliances)).toEqual(['successful', 'cancelled', 'cancelled']);
  });
});
