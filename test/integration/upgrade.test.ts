/**
 * One upgrade end to end on real parts: the Temporal CLI dev server, the simulator as a separate
 * process over HTTP, the real worker and activities, and the fleet CLI as a process.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  cancelOperation,
  createOperation,
  getOperation,
  InvalidRequestError,
  type OperationView,
} from '../../client/operations';
import type { upgradeOperation } from '../../workflows';
import { recordHistories, replayAll } from '../helpers/histories';
import { startStack, type Stack } from '../helpers/stack';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const taskQueue = 'integration-upgrades';
const TARGET = '9.16.0-100';

let stack: Stack;
// Shorthands for the parts the tests use most.
let env: Stack['env'];
let sim: Stack['sim'];
let devices: Stack['devices'];

beforeAll(async () => {
  stack = await startStack({ appliances: 180, speed: 400, taskQueue });
  ({ env, sim, devices } = stack);
});

// Every history the tests produced replays, checked once they have all run (in whatever order), then the stack stops.
afterAll(async () => {
  try {
    await replayHistories();
  } finally {
    await stack?.stop();
  }
});

const result = (operationId: string) =>
  env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${operationId}`).result();

/** Visibility is eventually consistent: read until it agrees with the expectation or time runs out. */
async function viewWhen(operationId: string, done: (view: OperationView) => boolean): Promise<OperationView> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const view = await getOperation(env.client, operationId);
    if (done(view) || Date.now() > deadline) return view;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('upgrades 20 appliances: all successful, each version changed, each installed exactly once', async () => {
  const serials = (await devices.listSerials('SH')).slice(0, 20);
  expect(serials).toHaveLength(20);
  const before = await Promise.all(serials.map((s) => devices.info(s)));
  expect(before.every((info) => info.running_version.version_id !== TARGET)).toBe(true);

  const { operation } = await createOperation(
    env.client,
    'upgrade',
    {
      product_code: 'SH',
      target_version: { version_id: TARGET },
      reboot: true,
      comment: 'integration',
      appliances: serials,
    },
    { taskQueue, username: 'tester' },
  );
  expect(operation.status).toBe('running');

  const outcome = await result(operation.id);
  expect(outcome.operation.status).toBe('successful');
  expect(outcome.tasks).toHaveLength(20);
  for (const task of outcome.tasks)
    expect([task.serial, task.status, task.stage]).toEqual([task.serial, 'successful', 'completed']);

  for (const serial of serials) {
    const [info, counters] = await Promise.all([devices.info(serial), devices.counters(serial)]);
    expect(info.running_version.version_id).toBe(TARGET);
    expect(counters.installs).toBe(1);
    expect(counters.reboots).toBe(1);
  }

  // The store has every task's final state and its log.
  expect((await stack.store.getOperation('upgrade', operation.id))?.status).toBe('successful');
  const stored = await stack.store.listTasks(operation.id);
  expect(stored.map((t) => [t.status, t.stage])).toEqual(Array(20).fill(['successful', 'completed']));
  expect((await stack.store.getLog(operation.id, serials[0])).at(-1)?.log_entry).toBe(`upgrade to ${TARGET} completed`);

  // The CLI/API view comes from visibility, without asking the worker.
  const view = await viewWhen(
    operation.id,
    (v) => v.operation.status === 'successful' && v.tasks.every((t) => t.stage === 'completed'),
  );
  expect(view.operation.status).toBe('successful');
  expect(view.tasks.map((t) => t.stage)).toEqual(Array(20).fill('completed'));
});

test('a task fails with the reason when its appliance is of another product or unknown; the operation is partially_successful', async () => {
  const [good] = await devices.listSerials('SH').then((s) => s.slice(20, 21));
  const [other] = await devices.listSerials('EX');
  const unknown = 'S00AB00000000';
  const { operation } = await createOperation(
    env.client,
    'upgrade',
    {
      product_code: 'SH',
      target_version: { version_id: TARGET },
      reboot: false,
      comment: '',
      appliances: [good!, other!, unknown],
    },
    { taskQueue, username: 'tester' },
  );
  const outcome = await result(operation.id);
  const bySerial = new Map(outcome.tasks.map((t) => [t.serial, t]));
  expect(outcome.operation.status).toBe('partially_successful');
  expect(bySerial.get(good!)!.status).toBe('successful');
  expect(bySerial.get(other!)).toMatchObject({
    status: 'failed',
    stage: 'failed',
    message: `appliance ${other} is EX, the operation is for SH`,
  });
  expect(bySerial.get(unknown)).toMatchObject({
    status: 'failed',
    stage: 'failed',
    message: `GET /devices/${unknown}: no device with serial ${unknown}`,
  });
  expect((await devices.counters(other!)).installs).toBe(0);
  expect(await stack.store.getTask(operation.id, other!)).toMatchObject({
    status: 'failed',
    stage: 'failed',
    message: `appliance ${other} is EX, the operation is for SH`,
  });

  const view = await viewWhen(operation.id, (v) =>
    v.tasks.every((t) => t.message !== undefined || t.status === 'successful'),
  );
  expect(view.tasks.find((t) => t.serial === other)?.message).toBe(`appliance ${other} is EX, the operation is for SH`);
});

test('cancelling a scheduled operation cancels every task and touches no device', async () => {
  const serials = (await devices.listSerials('IC')).slice(0, 3);
  const { operation } = await createOperation(
    env.client,
    'upgrade',
    {
      product_code: 'IC',
      target_version: { version_id: TARGET },
      reboot: true,
      comment: '',
      appliances: serials,
      upgrade_time: { datetime: Math.floor(Date.now() / 1000) + 3600, time_type: 'utc' },
    },
    { taskQueue, username: 'tester' },
  );
  expect(operation.status).toBe('scheduled');
  expect((await viewWhen(operation.id, (v) => v.operation.status === 'scheduled')).operation.status).toBe('scheduled');

  await cancelOperation(env.client, operation.id);
  const outcome = await result(operation.id);
  expect(outcome.operation.status).toBe('cancelled');
  expect(outcome.tasks.map((t) => [t.status, t.stage])).toEqual(Array(3).fill(['cancelled', 'cancelled']));
  for (const serial of serials)
    expect(await devices.counters(serial)).toMatchObject({ stages: 0, installs: 0, reboots: 0 });
  for (const serial of serials) {
    expect(await stack.store.getTask(operation.id, serial)).toMatchObject({ status: 'cancelled', stage: 'cancelled' });
    expect((await stack.store.getLog(operation.id, serial)).map((e) => e.log_entry)).toEqual([
      'cancelled before it started',
    ]);
  }
  expect((await stack.store.getOperation('upgrade', operation.id))?.status).toBe('cancelled');
});

test('an invalid request names the field and starts nothing', async () => {
  const attempt = createOperation(
    env.client,
    'upgrade',
    { product_code: 'SH', target_version: { version_id: TARGET }, reboot: true, comment: '', appliances: ['nope'] },
    { taskQueue, username: 'tester' },
  );
  await expect(attempt).rejects.toThrow(InvalidRequestError);
  await expect(attempt).rejects.toThrow('appliances.0: must match the serial pattern');
});

test('the fleet CLI starts an upgrade and shows each appliance reaching completed', async () => {
  const cliEnv = {
    ...process.env,
    FLEET_TEMPORAL_ADDRESS: env.address,
    FLEET_TASK_QUEUE: taskQueue,
    FLEET_DEVICE_API_URL: sim.url,
    FLEET_STORE_URL: stack.storeUrl,
    FLEET_LOG_LEVEL: 'warn',
  };
  const fleet = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', join(root, 'client/cli.ts'), ...args], { cwd: root, env: cliEnv });
  // The CLI checks eligibility against the inventory.
  await fleet('inventory', 'sync');

  const serials = (await fleet('devices', '--product', 'WW', '--limit', '3')).stdout.trim().split('\n');
  expect(serials).toHaveLength(3);
  const started = await fleet(
    'upgrade',
    '--product',
    'WW',
    '--version',
    TARGET,
    '--reboot',
    '--timeout',
    '900',
    '--json',
    '--user',
    'cli-user',
    ...serials,
  );
  const operation = JSON.parse(started.stdout) as {
    id: string;
    username: string;
    appliances: string[];
    task_timeout?: number;
  };
  expect(operation.username).toBe('cli-user');
  // --timeout is the operation's task_timeout (its tasks' time limit in seconds).
  expect(operation.task_timeout).toBe(900);
  expect(operation.appliances).toEqual(serials);

  const watched = await fleet('status', operation.id, '--watch', '--json');
  const last = JSON.parse(watched.stdout.trim().split('\n').pop()!) as OperationView;
  expect(last.operation.status).toBe('successful');
  expect(last.tasks.map((t) => [t.serial, t.status])).toEqual(serials.map((s) => [s, 'successful']));

  const table = await fleet('status', operation.id);
  expect(table.stdout).toContain(`operation ${operation.id}`);
  expect(table.stdout).toContain('3 successful');

  expect((await fleet('cancel', operation.id, '--serial', serials[0]!)).stdout.trim()).toBe(
    `${serials[0]} had already finished: successful`,
  );
  await expect(fleet('cancel', operation.id, '--serial', 'S00AB00000000')).rejects.toMatchObject({
    code: 1,
    stderr: `fleet: appliance S00AB00000000 is not part of operation ${operation.id}\n`,
  });
  await expect(fleet('status', '424242')).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringContaining('no operation with id 424242'),
  });
  await expect(fleet('upgrade', '--product', 'WW', serials[0]!)).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringContaining('--version is required'),
  });
  await expect(
    fleet('upgrade', '--product', 'WW', '--version', TARGET, '--timeout', 'soon', serials[0]!),
  ).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringContaining('--timeout must be a positive number of seconds'),
  });
});

/** Replays every history the tests produced against the current workflow code (and records fixtures, asked to). */
async function replayHistories(): Promise<void> {
  const query = "FleetOperationKind = 'upgrade'";
  // 4 operations above, each with its appliance tasks (the cancelled one never started tasks).
  expect(await replayAll(env.client, query)).toBeGreaterThanOrEqual(4 + 20 + 3 + 3);
  // `FLEET_RECORD_HISTORIES=test/fixtures/histories npx jest test/integration/upgrade.test.ts` records fixtures.
  await recordHistories(env.client, query, 'upgrade');
  // The task-slots workflow that granted their places (still running: it replays as far as it got).
  const slots = `WorkflowType = 'taskSlots'`;
  expect(await replayAll(env.client, slots)).toBeGreaterThanOrEqual(1);
  await recordHistories(env.client, slots, 'upgrade');
}
