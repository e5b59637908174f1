/**
 * Every simulator fault, seen two ways: through the device client (the classified error) and
 * through a real upgrade (the task's final status and reason).
 */
import { DeviceError } from '../../activities/device-client';
import { cancelApplianceTask, createOperation, TaskNotFoundError } from '../../client/operations';
import type { upgradeOperation } from '../../workflows';
import { startStack, type Stack } from '../helpers/stack';

const TARGET = '9.16.0-100';
let stack: Stack;
let pool: Map<string, string[]>;

beforeAll(async () => {
  stack = await startStack({ appliances: 120, speed: 400, taskQueue: 'integration-faults' });
  pool = new Map();
  for (const product of ['SH', 'EX', 'IC', 'SMC', 'WW', 'GC'])
    pool.set(product, await stack.devices.listSerials(product));
});
afterAll(() => stack?.stop());

/** A fresh appliance of a product code for each scenario. */
function take(product = 'SH'): string {
  const serial = pool.get(product)?.shift();
  if (!serial) throw new Error(`no unused ${product} appliance left: enlarge the simulated fleet`);
  return serial;
}

async function upgrade(serials: string[], options: { esxi_force?: boolean; task_timeout?: number } = {}) {
  const { operation } = await createOperation(
    stack.env.client,
    'upgrade',
    {
      product_code: 'SH',
      target_version: { version_id: TARGET },
      reboot: true,
      comment: 'faults',
      appliances: serials,
      ...options,
    },
    { taskQueue: stack.taskQueue, username: 'tester' },
  );
  const result = await stack.env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`).result();
  return { status: result.operation.status, tasks: new Map(result.tasks.map((t) => [t.serial, t])) };
}

/** Reads until the device answers (a retryable refusal, such as rebooting, is read again). */
async function settled<T>(read: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof DeviceError) || !err.retryable) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function deviceError(promise: Promise<unknown>): Promise<DeviceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeviceError);
  return err as DeviceError;
}

test('the device client classifies each fault: unreachable ones retryable, refusals final', async () => {
  const { devices } = stack;
  const [a, b, c, d] = [take(), take(), take(), take()];
  await devices.addFault(a, { kind: 'disconnect' });
  expect(await deviceError(devices.info(a))).toMatchObject({
    status: 503,
    code: 'device.disconnected',
    retryable: true,
  });
  await devices.addFault(b, { kind: 'flapping_5xx', probability: 1 });
  expect(await deviceError(devices.info(b))).toMatchObject({
    status: 503,
    code: 'device.unavailable',
    retryable: true,
  });
  await devices.addFault(c, { kind: 'no_return_from_reboot' });
  await devices.reboot(c, {}, 'c-reboot');
  // A healthy twin rebooted just after: once it answers again, c's reboot is over too, yet c stays down.
  const twin = take();
  await devices.reboot(twin, {}, 'twin-reboot');
  await settled(() => devices.info(twin));
  expect(await deviceError(devices.info(c))).toMatchObject({ status: 503, code: 'device.rebooting', retryable: true });
  await devices.addFault(d, { kind: 'esxi_conflict' });
  const staged = await devices.stage(
    d,
    { url: 'http://images.invalid/x.img', target_version: { version_id: TARGET } },
    'd-stage',
  );
  while ((await devices.job(d, staged.id)).state === 'running') await new Promise((r) => setTimeout(r, 20));
  expect(await deviceError(devices.install(d, { version_id: TARGET }, 'd-install'))).toMatchObject({
    status: 409,
    code: 'install.esxi_conflict',
    retryable: false,
  });
  // A bad fault is refused and changes nothing.
  expect(await deviceError(devices.addFault(d, { kind: 'melt' }))).toMatchObject({ status: 400, retryable: false });
  for (const serial of [a, b, c, d]) await devices.clearFaults(serial);
});

test("a failing stage fails its task with the device's reason; flapping and short disconnects are retried through", async () => {
  const [failing, flapping, blip, healthy] = [take(), take(), take(), take()];
  await stack.devices.addFault(failing, { kind: 'fail_at_stage', stage: 'install' });
  await stack.devices.addFault(flapping, { kind: 'flapping_5xx', probability: 0.3 });
  await stack.devices.addFault(blip, { kind: 'disconnect', seconds: 400 }); // one real second at speed 400
  const { status, tasks } = await upgrade([failing, flapping, blip, healthy]);
  expect(status).toBe('partially_successful');
  expect(tasks.get(failing)).toMatchObject({
    status: 'failed',
    stage: 'failed',
    message: expect.stringMatching(/^install job install-\d+ failed: simulated failure during install$/),
  });
  for (const serial of [flapping, blip, healthy])
    expect(tasks.get(serial)).toMatchObject({ status: 'successful', stage: 'completed' });
  await stack.devices.clearFaults(flapping);
  expect((await stack.devices.info(flapping)).running_version.version_id).toBe(TARGET);
  expect((await stack.devices.counters(failing)).installs).toBe(0);
});

test('an ESXi refusal fails the task with the reason unless the operation sets esxi_force', async () => {
  const serial = take();
  await stack.devices.addFault(serial, { kind: 'esxi_conflict' });
  const refused = await upgrade([serial]);
  expect(refused.status).toBe('failed');
  expect(refused.tasks.get(serial)?.message).toMatch(
    /^POST \/devices\/\w+\/install: installing 9\.16\.0-100 would replace ESXi .* set esxi_force to proceed$/,
  );
  const forced = await upgrade([serial], { esxi_force: true });
  expect(forced.tasks.get(serial)).toMatchObject({ status: 'successful', stage: 'completed' });
});

test('an appliance that comes back on the wrong version fails its task', async () => {
  const serial = take();
  const before = (await stack.devices.info(serial)).running_version.version_id;
  await stack.devices.addFault(serial, { kind: 'wrong_version_after_reboot' });
  const { tasks } = await upgrade([serial]);
  expect(tasks.get(serial)).toMatchObject({
    status: 'failed',
    message: `appliance came back running ${before}, expected ${TARGET}`,
  });
});

test('a hung download hits the task time limit, and the device is told to stop', async () => {
  const serial = take();
  await stack.devices.addFault(serial, { kind: 'hang_at_stage', stage: 'stage' });
  const { status, tasks } = await upgrade([serial], { task_timeout: 3 });
  expect(status).toBe('failed');
  expect(tasks.get(serial)).toMatchObject({
    status: 'failed',
    stage: 'failed',
    message: 'task did not finish within 3 seconds (timed out in stage downloading)',
  });
  // The hung job was cancelled on the device, so it accepts new work at once.
  await stack.devices.clearFaults(serial);
  expect(
    (
      await stack.devices.stage(
        serial,
        { url: 'http://images.invalid/y.img', target_version: { version_id: TARGET } },
        'after-hang',
      )
    ).state,
  ).toBe('running');
});

test('an appliance that never comes back from its reboot fails at the time limit', async () => {
  const serial = take();
  await stack.devices.addFault(serial, { kind: 'no_return_from_reboot' });
  const { tasks } = await upgrade([serial], { task_timeout: 5 });
  expect(tasks.get(serial)).toMatchObject({
    status: 'failed',
    message: 'task did not finish within 5 seconds (timed out in stage installing)',
  });
});

test("cancelling one appliance's task stops its device job; the rest of the operation goes on", async () => {
  const [stuck, healthy] = [take(), take()];
  await stack.devices.addFault(stuck, { kind: 'hang_at_stage', stage: 'stage' });
  const { operation } = await createOperation(
    stack.env.client,
    'upgrade',
    {
      product_code: 'SH',
      target_version: { version_id: TARGET },
      reboot: true,
      comment: '',
      appliances: [stuck, healthy],
    },
    { taskQueue: stack.taskQueue, username: 'tester' },
  );
  // Wait until the hung appliance is downloading, as an operator watching would.
  for (;;) {
    const task = await stack.store.getTask(operation.id, stuck);
    if (task?.stage === 'downloading') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await expect(cancelApplianceTask(stack.env.client, operation.id, 'S00AB00000000')).rejects.toThrow(TaskNotFoundError);
  expect(await cancelApplianceTask(stack.env.client, operation.id, stuck)).toBe('cancelled');

  const result = await stack.env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`).result();
  const tasks = new Map(result.tasks.map((t) => [t.serial, t]));
  expect(result.operation.status).toBe('partially_successful');
  expect(tasks.get(healthy)).toMatchObject({ status: 'successful', stage: 'completed' });
  expect(tasks.get(stuck)).toMatchObject({ status: 'cancelled', stage: 'cancelled' });
  expect(await stack.store.getTask(operation.id, stuck)).toMatchObject({
    status: 'cancelled',
    stage: 'cancelled',
    message: 'cancelled in stage downloading',
  });
  expect((await stack.store.getLog(operation.id, stuck)).at(-1)).toMatchObject({
    severity: 'warning',
    log_entry: 'cancelled in stage downloading',
  });
  // The device was told to stop: with the fault cleared, it takes new work at once.
  await stack.devices.clearFaults(stuck);
  expect(
    (
      await stack.devices.stage(
        stuck,
        { url: 'http://images.invalid/z.img', target_version: { version_id: TARGET } },
        'after-cancel',
      )
    ).state,
  ).toBe('running');
  // On a finished operation, cancelling a task changes nothing and answers its final status.
  expect(await cancelApplianceTask(stack.env.client, operation.id, healthy)).toBe('successful');
});
