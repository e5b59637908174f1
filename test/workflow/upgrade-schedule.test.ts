/**
 * Workflow tests in virtual time (Java time-skipping test server): hours-long waits and the task
 * time limit pass in seconds.
 */
import { createOperation } from '../../client/operations';
import type { UpgradeOperation } from '../../domain/scc';
import type { upgradeOperation } from '../../workflows';
import {
  pauseOperationSignal,
  resumeOperationSignal,
  operationStateQuery,
  type OperationInput,
} from '../../workflows/types';
import { fakeDeviceActivities } from '../helpers/fake-device';
import { useTimeSkipping } from '../helpers/time-skipping';
import { upgradeOperationDoc } from '../helpers/operation-doc';

const HOUR = 3600_000;
const wf = useTimeSkipping();

function operation(appliances: string[]): UpgradeOperation {
  return upgradeOperationDoc(appliances);
}

test('an operation scheduled 6 hours ahead starts its tasks at that instant, in virtual time', async () => {
  const fake = fakeDeviceActivities();
  const serials = ['S1212345678', 'S12A12345678', 'S12AB12345678'];
  const op = operation(serials);
  const wallStart = Date.now();
  const startAtMs = (await wf.env.currentTimeMs()) + 6 * HOUR;

  const result = await wf.withWorker(fake.activities, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof upgradeOperation>('upgradeOperation', {
      taskQueue,
      workflowId: `upgrade-${op.id}`,
      args: [{ operation: op, startAtMs } satisfies OperationInput],
    });
    // Before the instant: scheduled, and nothing has touched a device.
    const before = await handle.query(operationStateQuery);
    expect(before.operation.status).toBe('scheduled');
    expect(before.tasks.map((t) => t.status)).toEqual(['scheduled', 'scheduled', 'scheduled']);
    expect(fake.calls).toHaveLength(0);
    return handle.result();
  });

  expect(result.operation.status).toBe('successful');
  for (const task of result.tasks) {
    expect(task.status).toBe('successful');
    expect(task.stage).toBe('completed');
    // Each task ran at the scheduled instant (virtual time), not before it and not long after.
    expect(task.taskStartMs).toBeGreaterThanOrEqual(startAtMs);
    expect(task.taskStartMs! - startAtMs).toBeLessThan(60_000);
    expect(task.current_version?.version_id).toBe('9.16.0-100');
  }
  expect(new Set(fake.calls.filter((c) => c.activity === 'installImage').map((c) => c.serial))).toEqual(
    new Set(serials),
  );

  // The store holds the same story, readable without a worker.
  expect((await wf.store.getOperation('upgrade', op.id))?.status).toBe('successful');
  for (const serial of serials) {
    const task = await wf.store.getTask(op.id, serial);
    expect(task).toMatchObject({
      status: 'successful',
      stage: 'completed',
      target_version: { version_id: '9.16.0-100' },
      reboot: true,
    });
    const started = (task?.task_start_time as { datetime: number }).datetime * 1000;
    expect(started).toBeGreaterThanOrEqual(startAtMs - 1000);
    expect(started - startAtMs).toBeLessThan(60_000);
    const log = await wf.store.getLog(op.id, serial);
    expect(log.map((e) => e.log_entry)).toEqual([
      'upgrade to 9.16.0-100 started',
      'downloading full image full-9.16.0-100 (riverbed repository) for 9.16.0-100',
      'image staged from http://images.invalid/9.16.0-100.img',
      'installing 9.16.0-100',
      '9.16.0-100 installed on the standby partition',
      'rebooting to activate the new partition',
      'appliance is running 9.16.0-100',
      'upgrade to 9.16.0-100 completed',
    ]);
  }
  const operationLog = (await wf.store.getLog(op.id)).map((e) => e.log_entry);
  expect(operationLog[0]).toBe('upgrade of 3 appliance(s) to 9.16.0-100 created by tester');
  expect(operationLog).toContain(`scheduled for ${new Date(startAtMs).toISOString()}`);
  expect(operationLog.at(-1)).toBe('finished successful: 3 successful');
  // Six virtual hours took far less real time (a loose bound: this is about virtual time, not speed).
  expect(Date.now() - wallStart).toBeLessThan(HOUR / 60);
});

test('a task that cannot finish within its time limit fails with a clear message', async () => {
  const stuck = 'S12AB1234567B';
  const fake = fakeDeviceActivities({ unreachable: new Set([stuck]) });
  const op = operation(['S1212345678', stuck]);
  const result = await wf.withWorker(fake.activities, (taskQueue) =>
    wf.env.client.workflow.execute<typeof upgradeOperation>('upgradeOperation', {
      taskQueue,
      workflowId: `upgrade-${op.id}`,
      args: [{ operation: op, taskTimeoutMs: 2 * 60_000 } satisfies OperationInput],
    }),
  );
  const bySerial = new Map(result.tasks.map((t) => [t.serial, t]));
  expect(bySerial.get('S1212345678')!.status).toBe('successful');
  expect(bySerial.get(stuck)!.status).toBe('failed');
  expect(bySerial.get(stuck)!.stage).toBe('failed');
  expect(bySerial.get(stuck)!.message).toBe('task did not finish within 2 minutes (timed out in stage initiating)');
  expect(result.operation.status).toBe('partially_successful');
  expect(await wf.store.getTask(op.id, stuck)).toMatchObject({
    status: 'failed',
    stage: 'failed',
    message: 'task did not finish within 2 minutes (timed out in stage initiating)',
  });
  expect((await wf.store.getLog(op.id, stuck)).at(-1)).toMatchObject({
    severity: 'err',
    log_entry: 'task did not finish within 2 minutes (timed out in stage initiating)',
  });
  // The unreachable appliance was retried, then abandoned: never staged or installed.
  expect(fake.calls.filter((c) => c.serial === stuck && c.activity !== 'readApplianceInfo')).toHaveLength(0);
});

test('without a task_timeout, a task that cannot finish fails after 30 minutes', async () => {
  const busy = 'S12AB1234567D';
  const fake = fakeDeviceActivities({ busy: new Set([busy]) });
  await wf.withWorker(fake.activities, async (taskQueue) => {
    const startedAt = await wf.env.currentTimeMs();
    const { operation } = await createOperation(
      wf.env.client,
      'upgrade',
      {
        product_code: 'SH',
        target_version: { version_id: '9.16.0-100' },
        reboot: true,
        comment: 'default limit',
        appliances: [busy],
      },
      { taskQueue, username: 'tester', nowMs: startedAt },
    );
    const result = await wf.env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`).result();
    const message = 'task did not finish within 30 minutes (timed out in stage downloading)';
    expect(result.tasks).toEqual([expect.objectContaining({ serial: busy, status: 'failed', message })]);
    expect(await wf.store.getTask(operation.id, busy)).toMatchObject({ status: 'failed', message });
    // At the limit (virtual time), not before: the device asked to be tried again in an hour.
    // Log timestamps are whole seconds.
    const failedAt = (await wf.store.getLog(operation.id, busy)).at(-1)!.timestamp * 1000;
    const startedSecond = Math.floor(startedAt / 1000) * 1000;
    expect(failedAt - startedSecond).toBeGreaterThanOrEqual(30 * 60_000);
    expect(failedAt - startedSecond).toBeLessThan(31 * 60_000);
    expect(fake.calls.filter((c) => c.activity === 'stageImage')).toHaveLength(1);
  });
});

test('a maintenance window closing stops new tasks; the rest end cancelled with the reason', async () => {
  const slow = 'S12AB1234567C'; // unreachable: its task retries for minutes of virtual time, then fails
  const fake = fakeDeviceActivities({ unreachable: new Set([slow]) });
  const op = operation([slow, 'S1212345678', 'S1312345678']);
  const windowEnd = Math.floor((await wf.env.currentTimeMs()) / 1000) + 60;
  const result = await wf.withWorker(fake.activities, (taskQueue) =>
    wf.env.client.workflow.execute<typeof upgradeOperation>('upgradeOperation', {
      taskQueue,
      workflowId: `upgrade-${op.id}`,
      args: [{ operation: op, rollout: { waves: [1], maintenance_window_end: windowEnd } } satisfies OperationInput],
    }),
  );
  const reason = `maintenance window closed at ${new Date(windowEnd * 1000).toISOString()}: no new task starts`;
  expect(result.stop_reason).toBe(reason);
  expect(result.tasks.map((t) => [t.serial, t.status])).toEqual([
    [slow, 'failed'],
    ['S1212345678', 'cancelled'],
    ['S1312345678', 'cancelled'],
  ]);
  expect(result.operation.status).toBe('failed');
  expect(await wf.store.getTask(op.id, 'S1212345678')).toMatchObject({ status: 'cancelled', stage: 'cancelled' });
  expect((await wf.store.getLog(op.id, 'S1212345678')).map((e) => e.log_entry)).toEqual([`not started: ${reason}`]);
  expect((await wf.store.getOperation('upgrade', op.id))?.stop_reason).toBe(reason);
  expect(fake.calls.filter((c) => c.serial !== slow)).toEqual([]);
});

test('a paused operation starts no task until resumed', async () => {
  const fake = fakeDeviceActivities();
  const op = operation(['S1212345678', 'S1312345678']);
  const startAtMs = (await wf.env.currentTimeMs()) + HOUR;
  const result = await wf.withWorker(fake.activities, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof upgradeOperation>('upgradeOperation', {
      taskQueue,
      workflowId: `upgrade-${op.id}`,
      args: [{ operation: op, startAtMs } satisfies OperationInput],
    });
    await handle.signal(pauseOperationSignal);
    await wf.env.sleep(3 * HOUR);
    const paused = await handle.query(operationStateQuery);
    expect(paused.paused).toBe(true);
    expect(paused.operation.status).toBe('running');
    expect(paused.tasks.map((t) => t.status)).toEqual(['scheduled', 'scheduled']);
    expect(fake.calls).toEqual([]);
    expect((await wf.store.getOperation('upgrade', op.id))?.paused).toBe(true);
    await handle.signal(resumeOperationSignal);
    return handle.result();
  });
  expect(result.paused).toBe(false);
  expect(result.operation.status).toBe('successful');
  expect((await wf.store.getLog(op.id)).map((e) => e.log_entry)).toEqual(
    expect.arrayContaining(['paused: no new task starts until resumed', 'resumed']),
  );
});
