/** Inventory on real parts: discovery from the simulator's listing, refresh into the store, the Schedule. */
import { ensureInventorySchedule, INVENTORY_SCHEDULE_ID, runInventoryRefresh } from '../../client/inventory';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const APPLIANCES = 24;
/** The store before anything was read into it, and the first refresh (each test may refresh again). */
let empty: unknown[];
let firstRefresh: Awaited<ReturnType<typeof runInventoryRefresh>>;

beforeAll(async () => {
  stack = await startStack({ appliances: APPLIANCES, speed: 1000, taskQueue: 'integration-inventory' });
  empty = await stack.store.listAppliances();
  firstRefresh = await runInventoryRefresh(stack.env.client, stack.taskQueue);
});
afterAll(() => stack?.stop());

async function settled<T>(read: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await read();
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

test('a refresh discovers every simulated appliance and records it as the device reports it', async () => {
  expect(empty).toEqual([]);
  expect(firstRefresh).toEqual({
    discovered: APPLIANCES,
    appliances: APPLIANCES,
    connected: APPLIANCES,
    disconnected: 0,
  });

  const serials = await stack.devices.listSerials();
  const stored = await stack.store.listAppliances();
  expect(stored.map((a) => a.serial).sort()).toEqual([...serials].sort());
  const info = await stack.devices.info(serials[0]!);
  expect(await stack.store.getAppliance(serials[0]!)).toMatchObject({
    serial: info.serial,
    product_code: info.product_code,
    arch: info.arch,
    hostname: info.hostname,
    time_zone: info.time_zone,
    current_version: info.running_version,
    connected: true,
    model_eol: false,
  });
  expect(await stack.store.lastSeenMs(serials[0]!)).toBeGreaterThan(Date.now() - 60_000);

  // A second refresh finds nothing new.
  expect((await runInventoryRefresh(stack.env.client, stack.taskQueue)).discovered).toBe(0);
});

test('a version change on a device lands in the version history at the next refresh', async () => {
  const [serial] = await stack.devices.listSerials('GC');
  const target = { version_id: '9.16.0-100', version_number: '9.16.0', build_number: '100' };
  const before = (await stack.devices.info(serial!)).running_version.version_id;
  const stage = await stack.devices.stage(
    serial!,
    { url: 'http://images.invalid/gc.img', target_version: target },
    'inv-stage',
  );
  await settled(async () => {
    if ((await stack.devices.job(serial!, stage.id)).state !== 'succeeded') throw new Error('not yet');
  });
  const install = await stack.devices.install(serial!, { version_id: target.version_id }, 'inv-install');
  await settled(async () => {
    if ((await stack.devices.job(serial!, install.id)).state !== 'succeeded') throw new Error('not yet');
  });
  await stack.devices.reboot(serial!, { switch_partition: true }, 'inv-reboot');
  await settled(() => stack.devices.info(serial!));

  await runInventoryRefresh(stack.env.client, stack.taskQueue);
  expect((await stack.store.getAppliance(serial!))?.current_version).toEqual(target);
  expect((await stack.store.versionHistory(serial!)).map((c) => [c.from_version_id, c.to_version_id])).toEqual([
    [before, target.version_id],
  ]);
});

test('the refresh Schedule is created once, updated in place, and removed with 0', async () => {
  const client = stack.env.client;
  expect(await ensureInventorySchedule(client, { taskQueue: stack.taskQueue, everySeconds: 300 })).toBe('created');
  expect(await ensureInventorySchedule(client, { taskQueue: stack.taskQueue, everySeconds: 60 })).toBe('updated');
  const description = await client.schedule.getHandle(INVENTORY_SCHEDULE_ID).describe();
  expect(description.spec.intervals?.[0]?.every).toBe(60_000);
  expect(description.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'inventoryRefresh',
    taskQueue: stack.taskQueue,
  });
  expect(await ensureInventorySchedule(client, { taskQueue: stack.taskQueue, everySeconds: 0 })).toBe('deleted');
  expect(await ensureInventorySchedule(client, { taskQueue: stack.taskQueue, everySeconds: 0 })).toBe('absent');
});

// Its own stack: the simulator is stopped, which no other test could run after.
describe('with the device API gone', () => {
  let gone: Stack;
  beforeAll(async () => {
    gone = await startStack({ appliances: APPLIANCES, speed: 1000, taskQueue: 'integration-inventory-gone' });
    await runInventoryRefresh(gone.env.client, gone.taskQueue);
  });
  afterAll(() => gone?.stop());

  test('when devices stop answering, a refresh marks them disconnected and keeps their last-seen time', async () => {
    const stack = gone;
    const serials = (await stack.store.listAppliances()).map((a) => a.serial);
    const lastSeen = await stack.store.lastSeenMs(serials[0]!);
    await stack.sim.stop();
    const result = await runInventoryRefresh(stack.env.client, stack.taskQueue).catch((err: unknown) => err);
    // Discovery cannot list devices with the simulator gone; the refresh reports that failure.
    expect(result).toBeInstanceOf(Error);

    // Without discovery, every known appliance is read and recorded as disconnected.
    const handle = await stack.env.client.workflow.execute('inventoryRefresh', {
      taskQueue: stack.taskQueue,
      workflowId: `refresh-nodiscover-${Date.now()}`,
      args: [{ discover: false }],
    });
    expect(handle).toEqual({ discovered: 0, appliances: APPLIANCES, connected: 0, disconnected: APPLIANCES });
    expect((await stack.store.listAppliances()).every((a) => a.connected === false)).toBe(true);
    expect(await stack.store.lastSeenMs(serials[0]!)).toBe(lastSeen);
  });
});
