/** The system on real parts for integration tests: dev server, simulator process, SQLite store, worker. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { DeviceClient } from '../../activities/device-client';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { createLogger } from '../../domain/logging';
import { FleetStore } from '../../store/fleet-store';
import { recordLoaded } from '../../store/readiness';
import { createFleetWorker, type WorkerSizing } from '../../worker/create-worker';
import { startDevServer, startSimulator, type SimulatorProcess } from './servers';
import { testWorkflowBundle } from './workflow-bundle';

export const TEST_IMAGE_BASE_URL = 'http://images.test.invalid';

export interface Stack {
  env: TestWorkflowEnvironment;
  sim: SimulatorProcess;
  devices: DeviceClient;
  store: FleetStore;
  storeUrl: string;
  taskQueue: string;
  stop(): Promise<void>;
}

/**
 * Simulator options (collectors, profile, faults, fleet file) pass through to startSimulator;
 * `workerSizing` and `maxTasksInFlight` to the worker (unset: the SDK's and DEFAULT_MAX_TASKS_IN_FLIGHT).
 */
export async function startStack(
  options: { taskQueue: string; workerSizing?: WorkerSizing; maxTasksInFlight?: number } & Parameters<
    typeof startSimulator
  >[0],
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-stack-'));
  const storeUrl = `sqlite:${join(dir, 'fleet.db')}`;
  const [env, sim, store] = await Promise.all([startDevServer(), startSimulator(options), FleetStore.open(storeUrl)]);
  // The images appliance tasks plan their upgrades with, as the API adds them at start.
  await ensureRiverbedCatalog(store, TEST_IMAGE_BASE_URL);
  await recordLoaded(store, 'catalog');
  const worker: Worker = await createFleetWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: options.taskQueue,
    deviceApiUrl: sim.url,
    imageBaseUrl: TEST_IMAGE_BASE_URL,
    store,
    logger: createLogger('test-worker', 'warn'),
    ...(options.workerSizing ? { sizing: options.workerSizing } : {}),
    ...(options.maxTasksInFlight !== undefined ? { maxTasksInFlight: options.maxTasksInFlight } : {}),
    ...(testWorkflowBundle() !== undefined ? { workflowBundlePath: testWorkflowBundle()! } : {}),
  });
  const running = worker.run();
  return {
    env,
    sim,
    devices: new DeviceClient({ baseUrl: sim.url }),
    store,
    storeUrl,
    taskQueue: options.taskQueue,
    async stop() {
      worker.shutdown();
      await running;
      await Promise.all([sim.stop(), store.close()]);
      await env.teardown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
