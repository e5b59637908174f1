/**
 * A rollback survives its worker: the only worker process is killed with SIGKILL while an
 * appliance unhealthy after its upgrade is being rolled back (its reboot to the other partition
 * running on the device); a new worker takes the workflow over from its history. The appliance
 * ends on its old version, its task `failed` "rolled back to …", and the simulator counts the
 * rollback's reboot once: the replayed step is an idempotent replay, not a second reboot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DeviceClient, DeviceError } from '../../activities/device-client';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { createOperation } from '../../client/operations';
import type { DeviceInfo } from '../../domain/device-api';
import { FleetStore } from '../../store/fleet-store';
import type { upgradeOperation } from '../../workflows';
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
import { expectedCounters } from '../helpers/upgrade-plans';

const taskQueue = 'integration-rollback-worker-kill';
const TARGET = '9.16.0-100';
// Slow enough that the rollback's reboot (90 simulated seconds) runs for seconds of real time.
const SPEED = 20;

let dir: string;
let storeUrl: string;
let env: TestWorkflowEnvironment;
let sim: SimulatorProcess;
let store: FleetStore;
let devices: DeviceClient;
const workers: WorkerProcess[] = [];

const startWorker = async (): Promise<WorkerProcess> => {
  const worker = await startWorkerProcess(
    workerProcessEnv({ env, taskQueue, storeUrl, deviceApiUrl: sim.url, imageBaseUrl: TEST_IMAGE_BASE_URL }),
    { ready: (pid) => workerPolls(env.client, taskQueue, pid) },
  );
  workers.push(worker);
  return worker;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-rollback-kill-'));
  storeUrl = `sqlite:${join(dir, 'fleet.db')}`;
  [env, sim, store] = await Promise.all([
    startDevServer(),
    startSimulator({ appliances: 12, speed: SPEED, profile: 'clean' }),
    FleetStore.open(storeUrl),
  ]);
  await ensureRiverbedCatalog(store, TEST_IMAGE_BASE_URL);
  devices = new DeviceClient({ baseUrl: sim.url });
}, 180_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all([sim?.stop(), store?.close()]);
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** True while the device does not answer because it reboots. */
async function rebooting(serial: string): Promise<boolean> {
  return devices.info(serial).then(
    () => false,
    (err: unknown) => err instanceof DeviceError && err.code === 'device.rebooting',
  );
}

test('SIGKILL of the worker mid-rollback: a new worker finishes it, the appliance runs its old version, its reboot counted once', async () => {
  const infos = await Promise.all((await devices.listSerials()).map((s) => devices.info(s)));
  let sick: DeviceInfo | undefined;
  for (const info of infos)
    if (!sick && (await expectedCounters(store, info, TARGET).catch(() => undefined))?.installs === 1) sick = info;
  if (!sick) throw new Error(`no appliance upgrades to ${TARGET} with one image`);
  const expected = await expectedCounters(store, sick, TARGET);
  const before = sick.running_version.version_id;
  await devices.addFault(sick.serial, { kind: 'unhealthy_after_upgrade' });
  await devices.stats({ reset: true });

  const first = await startWorker();
  const { operation } = await createOperation(
    env.client,
    'upgrade',
    {
      product_code: sick.product_code,
      target_version: { version_id: TARGET },
      reboot: true,
      comment: 'rollback worker kill',
      appliances: [sick.serial],
      health_check: { settle_seconds: 1, probes: 2, interval_seconds: 1 },
      rollback: 'on_failure',
    },
    { taskQueue, username: 'tester' },
  );
  const result = env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${operation.id}`).result();
  result.catch(() => undefined);

  // Mid-rollback: the task is rolling back and the device is down in the rollback's reboot.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const task = await store.getTask(operation.id, sick.serial);
    if (task?.stage === 'rolling_back' && (await rebooting(sick.serial))) break;
    if (task?.status === 'failed' || task?.status === 'successful')
      throw new Error(`the task ended before its rollback was seen: ${JSON.stringify(task)}`);
    if (Date.now() > deadline) throw new Error(`never saw the rollback's reboot: ${JSON.stringify(task)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  first.kill('SIGKILL');
  expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
  const log = (await store.getLog(operation.id, sick.serial)).map((l) => l.log_entry);
  expect(log.at(-1)).toBe(`rollback: rebooting to the other partition, which still holds ${before}`);

  const second = await startWorker();
  const outcome = await result;
  expect(second.lines.filter((l) => l.includes('"level":60'))).toEqual([]);
  expect(outcome.operation.status).toBe('failed');
  expect(outcome.tasks[0]).toMatchObject({
    status: 'failed',
    stage: 'failed',
    message: expect.stringMatching(
      new RegExp(`^health check failed: .*; rolled back to ${before.replace(/\./g, '\\.')}$`),
    ),
  });
  expect(await store.getTask(operation.id, sick.serial)).toMatchObject({ status: 'failed', stage: 'failed' });
  expect((await devices.info(sick.serial)).running_version.version_id).toBe(before);

  // Exactly once: the plan's effects and one rollback reboot, however often the steps were replayed.
  const { stages, patches, installs, reboots } = await devices.counters(sick.serial);
  expect({ stages, patches, installs, reboots }).toEqual({ ...expected, reboots: expected.reboots + 1 });
  expect((await devices.stats()).jobs_started).toBe(
    expected.stages + expected.patches + expected.installs + expected.reboots + 1,
  );
});
