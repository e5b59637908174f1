/**
 * What the workflow tests share: the Java time-skipping test server, a real SQLite store in a temp
 * folder, and a worker on a fresh task queue with the given activities and the real store activities.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { createStoreActivities } from '../../activities/store-activities';
import { createTaskSlotActivities } from '../../activities/task-slot-activities';
import { DEFAULT_MAX_TASKS_IN_FLIGHT } from '../../domain/rollout';
import { createLogger } from '../../domain/logging';
import { FleetStore } from '../../store/fleet-store';
import { startTimeSkippingServer } from './servers';
import { workflowCode } from './workflow-bundle';

export interface WorkerExtras {
  maxTasksInFlight?: number;
  worker?: Partial<WorkerOptions>;
}

export interface TimeSkippingFixture {
  readonly env: TestWorkflowEnvironment;
  readonly store: FleetStore;
  /**
   * Runs `fn` while a worker serves a new task queue with these activities, the store's and the
   * fleet-wide limit's (`maxTasksInFlight`, default 1000); `worker` overrides worker options.
   */
  withWorker<T>(activities: object, fn: (taskQueue: string) => Promise<T>, options?: WorkerExtras): Promise<T>;
}

/** Starts the server and the store before the file's tests and removes them after. */
export function useTimeSkipping(): TimeSkippingFixture {
  let env: TestWorkflowEnvironment | undefined;
  let store: FleetStore | undefined;
  let dir: string | undefined;
  let queues = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleet-wf-'));
    [env, store] = await Promise.all([startTimeSkippingServer(), FleetStore.open(`sqlite:${join(dir, 'fleet.db')}`)]);
  });
  afterAll(async () => {
    await env?.teardown();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get env() {
      return env!;
    },
    get store() {
      return store!;
    },
    async withWorker(activities, fn, extras = {}) {
      const taskQueue = `tq-${++queues}-${Date.now()}`;
      const logger = createLogger('test', 'silent');
      const worker = await Worker.create({
        connection: env!.nativeConnection,
        taskQueue,
        ...workflowCode(),
        // Devices are in memory; the store is real (SQLite), as are its activities.
        activities: {
          ...createStoreActivities({ store: store!, logger }),
          ...createTaskSlotActivities({ limit: extras.maxTasksInFlight ?? DEFAULT_MAX_TASKS_IN_FLIGHT, logger }),
          ...activities,
        },
        ...extras.worker,
      });
      return worker.runUntil(fn(taskQueue));
    },
  };
}
