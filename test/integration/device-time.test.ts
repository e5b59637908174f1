/**
 * Waiting on a device holds no worker slot: 240 appliances in 3 concurrent upgrade operations,
 * device jobs that last seconds (simulator speed 20: a 120 s install takes 6 s), and one worker
 * process with only 20 activity slots and 20 local activity slots (device calls may be either).
 * Far more than 20 device jobs must run at once (the simulator's peak_jobs_running), every
 * appliance must reach the target, and every effect must happen exactly once. Where waiting for a
 * job holds a slot, the peak is the slot count (20).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DeviceClient } from '../../activities/device-client';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { createOperation } from '../../client/operations';
import type { ProductCode } from '../../domain/scc';
import { FleetStore } from '../../store/fleet-store';
import type { upgradeOperation } from '../../workflows';
import { expectedCounters } from '../helpers/upgrade-plans';
import {
  startDevServer,
  startSimulator,
  startWorkerProcess,
  workerPolls,
  workerProcessEnv,
  type SimulatorProcess,
  type WorkerProcess,
} from '../helpers/servers';
import { TEST_IMAGE_BASE_URL } from '../helpers/stack';

const taskQueue = 'integration-device-time';
const TARGET = '9.16.0-100';
const SPEED = 20;
const ACTIVITY_SLOTS = 20;
const PRODUCTS: ProductCode[] = ['SH', 'EX', 'IC'];
const PER_OPERATION = 80;
const TASKS = PRODUCTS.length * PER_OPERATION;

let dir: string;
let env: TestWorkflowEnvironment;
let sim: SimulatorProcess;
let store: FleetStore;
let worker: WorkerProcess | undefined;
let devices: DeviceClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-device-time-'));
  const storeUrl = `sqlite:${join(dir, 'fleet.db')}`;
  // Six product codes in turn: 480 appliances hold 80 of each of the three used.
  [env, sim, store] = await Promise.all([
    startDevServer(),
    startSimulator({ appliances: 2 * TASKS, speed: SPEED, profile: 'clean' }),
    FleetStore.open(storeUrl),
  ]);
  await ensureRiverbedCatalog(store, TEST_IMAGE_BASE_URL);
  devices = new DeviceClient({ baseUrl: sim.url });
  worker = await startWorkerProcess(
    workerProcessEnv(
      { env, taskQueue, storeUrl, deviceApiUrl: sim.url, imageBaseUrl: TEST_IMAGE_BASE_URL },
      {
        FLEET_WORKER_ACTIVITY_SLOTS: String(ACTIVITY_SLOTS),
        FLEET_WORKER_LOCAL_ACTIVITY_SLOTS: String(ACTIVITY_SLOTS),
        FLEET_MAX_TASKS_IN_FLIGHT: String(TASKS),
      },
    ),
    { ready: (pid) => workerPolls(env.client, taskQueue, pid) },
  );
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await Promise.all([sim?.stop(), store?.close()]);
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`${TASKS} appliances in ${PRODUCTS.length} concurrent operations: far more than ${ACTIVITY_SLOTS} device jobs run at once, each appliance upgraded exactly once`, async () => {
  const serials = new Map<ProductCode, string[]>();
  for (const product of PRODUCTS) serials.set(product, (await devices.listSerials(product)).slice(0, PER_OPERATION));
  const all = [...serials.values()].flat();
  expect(all).toHaveLength(TASKS);
  const before = new Map((await Promise.all(all.map((s) => devices.info(s)))).map((info) => [info.serial, info]));
  expect([...before.values()].filter((info) => info.running_version.version_id === TARGET)).toEqual([]);
  const expected = new Map(
    await Promise.all(
      [...before].map(async ([serial, info]) => [serial, await expectedCounters(store, info, TARGET)] as const),
    ),
  );
  const expectedJobs = [...expected.values()].reduce((n, c) => n + c.stages + c.patches + c.installs + c.reboots, 0);

  await devices.stats({ reset: true });
  const startedAt = Date.now();
  const operations = await Promise.all(
    PRODUCTS.map((product) =>
      createOperation(
        env.client,
        'upgrade',
        {
          product_code: product,
          target_version: { version_id: TARGET },
          reboot: true,
          comment: 'device time',
          appliances: serials.get(product)!,
        },
        { taskQueue, username: 'tester' },
      ).then(({ operation }) => operation),
    ),
  );
  const outcomes = await Promise.all(
    operations.map((op) => env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${op.id}`).result()),
  );
  const seconds = (Date.now() - startedAt) / 1000;
  const stats = await devices.stats();
  console.log(
    `device-time: ${TASKS} tasks in ${seconds.toFixed(1)} s with ${ACTIVITY_SLOTS} activity and ${ACTIVITY_SLOTS} local activity slots; simulator: peak_jobs_running ${stats.peak_jobs_running}, ` +
      `jobs_started ${stats.jobs_started} (plans need ${expectedJobs}), requests ${stats.requests}, jobs_running now ${stats.jobs_running}`,
  );

  for (const [i, outcome] of outcomes.entries()) {
    expect([operations[i]!.id, outcome.operation.status]).toEqual([operations[i]!.id, 'successful']);
    expect(outcome.tasks).toHaveLength(PER_OPERATION);
    const notDone = outcome.tasks.filter((t) => t.status !== 'successful' || t.stage !== 'completed');
    expect(notDone).toEqual([]);
    expect((await store.getOperation('upgrade', operations[i]!.id))?.status).toBe('successful');
  }

  // Every appliance runs the target, and did exactly what its image plan needs, once.
  const after = await Promise.all(
    all.map(async (serial) => ({ serial, info: await devices.info(serial), counters: await devices.counters(serial) })),
  );
  const replays = after.reduce((n, a) => n + a.counters.idempotent_replays, 0);
  console.log(`device-time: idempotent_replays across the fleet: ${replays}`);
  const wrong = after
    .filter((a) => a.info.running_version.version_id !== TARGET)
    .map((a) => `${a.serial}: ${a.info.running_version.version_id}`);
  expect(wrong).toEqual([]);
  const miscounted = after
    .map(({ serial, counters: { idempotent_replays: _, ...counted } }) => ({
      serial,
      counted,
      expected: expected.get(serial)!,
    }))
    .filter((a) => (['stages', 'patches', 'installs', 'reboots'] as const).some((k) => a.counted[k] !== a.expected[k]));
  expect(miscounted).toEqual([]);
  // No job started that the plans did not need (a retried start is an idempotent replay, not a job).
  expect(stats.jobs_started).toBe(expectedJobs);
  expect(stats.jobs_running).toBe(0);

  // Waiting on devices held no activity slot: many more jobs ran at once than there are slots.
  expect(stats.peak_jobs_running).toBeGreaterThan(ACTIVITY_SLOTS);
  // In fact most of the fleet was in a device job at the same time.
  expect(stats.peak_jobs_running).toBeGreaterThanOrEqual(TASKS / 2);
}, 420_000);
