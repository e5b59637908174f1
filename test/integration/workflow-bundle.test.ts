/**
 * The prebuilt workflow bundle on real parts: scripts/build-workflow-bundle.ts builds it into a temp
 * dir, createFleetWorker loads it (no webpack at worker start) with explicit sizing, and real
 * workflows run through it on the dev server against the simulator process.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { DeviceClient } from '../../activities/device-client';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { runInventoryRefresh } from '../../client/inventory';
import { createOperation } from '../../client/operations';
import { createLogger } from '../../domain/logging';
import { buildWorkflowBundle } from '../../scripts/build-workflow-bundle';
import { FleetStore } from '../../store/fleet-store';
import { createFleetWorker, type WorkerSizing } from '../../worker/create-worker';
import type { upgradeOperation } from '../../workflows';
import { startDevServer, startSimulator, type SimulatorProcess } from '../helpers/servers';
import { TEST_IMAGE_BASE_URL } from '../helpers/stack';

const taskQueue = 'integration-workflow-bundle';
const APPLIANCES = 12;
const TARGET = '9.16.0-100';
const SIZING: Required<WorkerSizing> = {
  maxCachedWorkflows: 50,
  workflowSlots: 8,
  activitySlots: 20,
  localActivitySlots: 12,
  workflowPollers: 4,
  activityPollers: 3,
};

let dir: string;
let bundlePath: string;
let env: TestWorkflowEnvironment;
let sim: SimulatorProcess;
let store: FleetStore;
let worker: Worker;
let running: Promise<void>;
let createOptions: WorkerOptions;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-bundle-'));
  let bundle: { path: string; bytes: number };
  [bundle, env, sim, store] = await Promise.all([
    buildWorkflowBundle(join(dir, 'out', 'workflow-bundle.js')),
    startDevServer(),
    startSimulator({ appliances: APPLIANCES, speed: 400 }),
    FleetStore.open(`sqlite:${join(dir, 'fleet.db')}`),
  ]);
  bundlePath = bundle.path;
  await ensureRiverbedCatalog(store, TEST_IMAGE_BASE_URL);
  const create = jest.spyOn(Worker, 'create');
  worker = await createFleetWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deviceApiUrl: sim.url,
    imageBaseUrl: TEST_IMAGE_BASE_URL,
    store,
    logger: createLogger('test-worker', 'warn'),
    sizing: SIZING,
    maxTasksInFlight: 20,
    workflowBundlePath: bundlePath,
  });
  createOptions = create.mock.calls[0]![0];
  create.mockRestore();
  running = worker.run();
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await Promise.all([sim?.stop(), store?.close()]);
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the script writes the bundle where asked, and the worker loads it with the sizing given', () => {
  expect(bundlePath).toBe(join(dir, 'out', 'workflow-bundle.js'));
  expect(statSync(bundlePath).size).toBeGreaterThan(10_000);
  expect(createOptions.workflowBundle).toEqual({ codePath: bundlePath });
  expect(createOptions).not.toHaveProperty('workflowsPath');
  // What the SDK made of the sizing: the values that take effect.
  expect(worker.options.maxCachedWorkflows).toBe(SIZING.maxCachedWorkflows);
  expect(worker.options.workflowTaskPollerBehavior).toEqual({
    type: 'simple-maximum',
    maximum: SIZING.workflowPollers,
  });
  expect(worker.options.activityTaskPollerBehavior).toEqual({
    type: 'simple-maximum',
    maximum: SIZING.activityPollers,
  });
  expect(worker.options.tuner).toMatchObject({
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: SIZING.workflowSlots },
    activityTaskSlotSupplier: { type: 'fixed-size', numSlots: SIZING.activitySlots },
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: SIZING.localActivitySlots },
  });
});

test('an inventory refresh runs to completion on the bundled workflows', async () => {
  const result = await runInventoryRefresh(env.client, taskQueue);
  expect(result).toEqual({ discovered: APPLIANCES, appliances: APPLIANCES, connected: APPLIANCES, disconnected: 0 });
  expect(await store.listAppliances()).toHaveLength(APPLIANCES);
});

test('a one-appliance upgrade runs to completion on the bundled workflows', async () => {
  const devices = new DeviceClient({ baseUrl: sim.url });
  const candidates = await Promise.all((await devices.listSerials()).map((serial) => devices.info(serial)));
  const appliance =
    candidates.find((info) => info.product_code === 'SH' && info.running_version.version_id !== TARGET) ??
    candidates.find((info) => info.running_version.version_id !== TARGET);
  expect(appliance).toBeDefined();
  const serial = appliance!.serial;
  const { operation } = await createOperation(
    env.client,
    'upgrade',
    {
      product_code: appliance!.product_code,
      target_version: { version_id: TARGET },
      reboot: true,
      comment: 'bundle',
      appliances: [serial],
    },
    { taskQueue, username: 'tester' },
  );
  const outcome = await env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`).result();
  expect(outcome.operation.status).toBe('successful');
  expect(outcome.tasks.map((t) => [t.serial, t.status, t.stage])).toEqual([[serial, 'successful', 'completed']]);
  expect((await devices.info(serial)).running_version.version_id).toBe(TARGET);
});
