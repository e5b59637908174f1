/**
 * Schedules in virtual time (Java time-skipping test server, in-memory devices, real SQLite store),
 * created the way the API creates them: a local-time upgrade across three time zones on the day
 * New York springs forward, and an upgrade whose linked reboot operation reboots at reboot_time.
 */
import { createOperation } from '../../client/operations';
import type { rebootOperation, upgradeOperation } from '../../workflows';
import { fakeDeviceActivities } from '../helpers/fake-device';
import { useTimeSkipping, type WorkerExtras } from '../helpers/time-skipping';

const HOUR = 3600_000;
const wf = useTimeSkipping();

/** A worker with fresh in-memory devices. */
function withDevices<T>(
  fn: (taskQueue: string, fake: ReturnType<typeof fakeDeviceActivities>) => Promise<T>,
  extras?: WorkerExtras,
): Promise<T> {
  const fake = fakeDeviceActivities();
  return wf.withWorker(fake.activities, (taskQueue) => fn(taskQueue, fake), extras);
}

const startedAt = async (operationId: string, serial: string): Promise<number> =>
  ((await wf.store.getTask(operationId, serial))?.task_start_time as { datetime: number }).datetime * 1000;

test('a local-time upgrade starts each task at that wall-clock time in its own zone, across a DST gap', async () => {
  const zones = new Map([
    ['S12AB00000101', 'America/New_York'],
    ['S12AB00000102', 'Europe/Berlin'],
    ['S12AB00000103', 'Asia/Tokyo'],
  ]);
  // 02:30 on the second Sunday of March next year (by the virtual clock, whatever other tests skipped), the day
  // New York springs forward: 02:30 does not exist there and shifts forward to 03:30 EDT; Berlin (still CET) and
  // Tokyo have it as it is.
  const year = new Date(await wf.env.currentTimeMs()).getUTCFullYear() + 1;
  const day = 8 + ((7 - new Date(Date.UTC(year, 2, 1)).getUTCDay()) % 7);
  const wallClock = Date.UTC(year, 2, day, 2, 30) / 1000;
  const expected = new Map([
    ['S12AB00000101', Date.UTC(year, 2, day, 7, 30)],
    ['S12AB00000102', Date.UTC(year, 2, day, 1, 30)],
    ['S12AB00000103', Date.UTC(year, 2, day - 1, 17, 30)],
  ]);
  expect(await wf.env.currentTimeMs()).toBeLessThan(Date.UTC(year, 2, day - 1));

  await withDevices(async (taskQueue) => {
    const { operation } = await createOperation(
      wf.env.client,
      'upgrade',
      {
        product_code: 'SH',
        target_version: { version_id: '9.16.0-100' },
        reboot: true,
        upgrade_time: { datetime: wallClock, time_type: 'local' },
        comment: 'follow the sun',
        appliances: [...zones.keys()],
      },
      {
        taskQueue,
        username: 'tester',
        timeZones: async (serials) => new Map(serials.map((s) => [s, zones.get(s)])),
        nowMs: await wf.env.currentTimeMs(),
      },
    );
    const result = await wf.env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`).result();
    expect(result.operation.status).toBe('successful');
    for (const [serial, at] of expected) {
      const started = await startedAt(operation.id, serial);
      // At its own instant, not before, and not long after (virtual time).
      expect([serial, started >= at, started - at < 60_000]).toEqual([serial, true, true]);
    }
    // The seed stores the time "as the UTC value" whatever its type: the wall clock, as a UTC timestamp.
    expect((await wf.store.getOperation('upgrade', operation.id))?.upgrade_time).toEqual({
      datetime: wallClock,
      time_type: 'local',
    });
  });
});

test('with one task in flight at a time, a task waiting for its local time holds back none that is due', async () => {
  // Listed latest-due first: were the waiting task holding the one place, the others would wait a day.
  const zones = new Map([
    ['S12AB00000111', 'America/Los_Angeles'],
    ['S12AB00000112', 'Europe/London'],
    ['S12AB00000113', 'Asia/Kolkata'],
    ['S12AB00000114', 'Asia/Kolkata'],
  ]);
  await withDevices(
    async (taskQueue, fake) => {
      // 03:00 on 1 June next year (virtual time has moved on in earlier tests), summer time in LA and London.
      const year = new Date(await wf.env.currentTimeMs()).getUTCFullYear() + 1;
      const wallClock = Date.UTC(year, 5, 1, 3, 0) / 1000;
      const expected = new Map([
        ['S12AB00000111', Date.UTC(year, 5, 1, 10, 0)],
        ['S12AB00000112', Date.UTC(year, 5, 1, 2, 0)],
        ['S12AB00000113', Date.UTC(year, 4, 31, 21, 30)],
        ['S12AB00000114', Date.UTC(year, 4, 31, 21, 30)],
      ]);
      const { operation } = await createOperation(
        wf.env.client,
        'upgrade',
        {
          product_code: 'SH',
          target_version: { version_id: '9.16.0-100' },
          reboot: true,
          upgrade_time: { datetime: wallClock, time_type: 'local' },
          comment: 'one at a time',
          appliances: [...zones.keys()],
        },
        {
          taskQueue,
          username: 'tester',
          timeZones: async (serials) => new Map(serials.map((s) => [s, zones.get(s)])),
          nowMs: await wf.env.currentTimeMs(),
        },
      );
      const result = await wf.env.client.workflow
        .getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`)
        .result();
      expect(result.operation.status).toBe('successful');
      for (const [serial, at] of expected) {
        const started = await startedAt(operation.id, serial);
        expect([serial, started >= at, started - at < 60_000]).toEqual([serial, true, true]);
      }
      // One at a time: the two Kolkata tasks, due together, ran one after the other, never interleaved.
      const order = fake.calls.map((c) => c.serial).filter((serial, i, all) => i === 0 || all[i - 1] !== serial);
      expect(order).toEqual(['S12AB00000113', 'S12AB00000114', 'S12AB00000112', 'S12AB00000111']);
    },
    { maxTasksInFlight: 1 },
  );
});

test('a task due after the maintenance window closes does not start; the window closing is recorded when it closes', async () => {
  const zones = new Map([
    ['S12AB00000121', 'Asia/Tokyo'],
    ['S12AB00000122', 'America/New_York'],
  ]);
  await withDevices(async (taskQueue, fake) => {
    const year = new Date(await wf.env.currentTimeMs()).getUTCFullYear() + 1;
    // 09:00 on 1 July: 00:00 UTC in Tokyo, 13:00 UTC in New York; the window ends at 06:00 UTC.
    const windowEnd = Date.UTC(year, 6, 1, 6, 0) / 1000;
    const { operation } = await createOperation(
      wf.env.client,
      'upgrade',
      {
        product_code: 'SH',
        target_version: { version_id: '9.16.0-100' },
        reboot: true,
        upgrade_time: { datetime: Date.UTC(year, 6, 1, 9, 0) / 1000, time_type: 'local' },
        comment: 'window',
        rollout: { maintenance_window_end: windowEnd },
        appliances: [...zones.keys()],
      },
      {
        taskQueue,
        username: 'tester',
        timeZones: async (serials) => new Map(serials.map((s) => [s, zones.get(s)])),
        nowMs: await wf.env.currentTimeMs(),
      },
    );
    const result = await wf.env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`).result();
    const reason = `maintenance window closed at ${new Date(windowEnd * 1000).toISOString()}: no new task starts`;
    expect(result.stop_reason).toBe(reason);
    expect(result.tasks.map((t) => [t.serial, t.status])).toEqual([
      ['S12AB00000121', 'successful'],
      ['S12AB00000122', 'cancelled'],
    ]);
    expect(fake.calls.filter((c) => c.serial === 'S12AB00000122')).toEqual([]);
    // Recorded when the window closed, not when the New York task would have been due.
    const closed = (await wf.store.getLog(operation.id)).find((e) => e.log_entry === reason);
    expect(closed?.timestamp).toBe(windowEnd);
  });
});

test('an upgrade with a reboot_time installs at once; its linked reboot operation reboots at reboot_time', async () => {
  const serial = 'S12AB00000201';
  await withDevices(async (taskQueue, fake) => {
    const now = await wf.env.currentTimeMs();
    const rebootAt = Math.floor((now + 5 * HOUR) / 1000) * 1000;
    const { operation, linked } = await createOperation(
      wf.env.client,
      'upgrade',
      {
        product_code: 'SH',
        target_version: { version_id: '9.16.0-100' },
        reboot: true,
        reboot_time: { datetime: rebootAt / 1000, time_type: 'utc' },
        comment: 'reboot tonight',
        appliances: [serial],
      },
      { taskQueue, username: 'tester', nowMs: now },
    );
    expect(linked).toBeDefined();
    expect(operation.reboot_id).toBe(Number(linked!.operation.id));

    const upgraded = await wf.env.client.workflow
      .getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`)
      .result();
    expect(upgraded.tasks[0]).toMatchObject({ status: 'successful', stage: 'completed' });
    // Installed on the standby partition, not rebooted by the upgrade.
    expect(fake.calls.filter((c) => c.serial === serial).map((c) => c.activity)).not.toContain('rebootAppliance');
    expect(await startedAt(operation.id, serial)).toBeLessThan(rebootAt);

    const rebooted = await wf.env.client.workflow
      .getHandle<typeof rebootOperation>(`reboot-${linked!.operation.id}`)
      .result();
    expect(rebooted.operation.status).toBe('successful');
    expect(rebooted.tasks[0]).toMatchObject({
      serial,
      status: 'successful',
      stage: 'completed',
      current_version: { version_id: '9.16.0-100' },
    });
    const rebootStarted = await startedAt(linked!.operation.id, serial);
    expect(rebootStarted).toBeGreaterThanOrEqual(rebootAt);
    expect(rebootStarted - rebootAt).toBeLessThan(60_000);
    expect(fake.calls.filter((c) => c.serial === serial && c.activity === 'rebootAppliance')).toHaveLength(1);
    expect(await wf.store.getTask(linked!.operation.id, serial)).toMatchObject({
      deferred: true,
      status: 'successful',
    });
  });
});
