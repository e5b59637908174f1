/**
 * The collector upgrade task workflow in virtual time (Java time-skipping test server): the seed's
 * 30-minute automatic timeout passes in seconds. The collector is in memory; the store and its
 * status-recording activity are real.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { createCollectorActivities, type CollectorActivities } from '../../activities/collector-activities';
import { DeviceClient } from '../../activities/device-client';
import type { CollectorInfo, CollectorJob } from '../../domain/device-api';
import { createLogger } from '../../domain/logging';
import type { collectorUpgradeTask, CollectorUpgradeTaskInput } from '../../workflows/collector-upgrade';
import { useTimeSkipping } from '../helpers/time-skipping';

const MINUTE = 60_000;
const wf = useTimeSkipping();

/** A collector whose upgrade job behaves as `done` says once it is progressing. */
function fakeCollector(done: (job: CollectorJob) => CollectorJob) {
  let version = '19.115-37';
  const statuses: number[] = [];
  const info = (id: number): CollectorInfo => ({
    id,
    name: 'c',
    hostName: 'h',
    timeZone: 'UTC',
    ephemeral: false,
    sourceSyncMode: 'UI',
    collectorType: 'Installable',
    collectorVersion: version,
    osVersion: '1',
    osName: 'Linux',
    osArch: 'amd64',
    lastSeenAlive: 0,
    alive: true,
  });
  const real = createCollectorActivities({
    client: new DeviceClient({ baseUrl: 'http://127.0.0.1:9' }),
    store: wf.store,
    logger: createLogger('test', 'silent'),
  });
  const activities: CollectorActivities = {
    ...real,
    async refreshCollector({ collectorId }) {
      return info(collectorId);
    },
    async issueCollectorUpgrade({ collectorId, toVersion }) {
      return {
        id: 'upgrade-1',
        collector_id: collectorId,
        kind: 'upgrade',
        to_version: toVersion,
        state: 'running',
        progress: 0,
      };
    },
    async awaitCollectorJob({ collectorId, until }) {
      const running: CollectorJob = {
        id: 'upgrade-1',
        collector_id: collectorId,
        kind: 'upgrade',
        to_version: '20.1-2749',
        state: 'running',
        progress: 0.1,
      };
      if (until === 'progressing') return running;
      const job = done(running);
      if (job.state === 'succeeded') version = job.to_version;
      return job;
    },
    async recordCollectorUpgradeStatus(input) {
      statuses.push(input.status);
      return real.recordCollectorUpgradeStatus(input);
    },
  };
  return { activities, statuses };
}

async function run(activities: object, input: Omit<CollectorUpgradeTaskInput, 'taskId'>) {
  const task = await wf.store.insertCollectorUpgradeTask({
    collectorId: input.collectorId,
    toVersion: input.toVersion,
    requestTime: Date.now(),
    status: 0,
    message: '',
  });
  const workflowId = `collector-upgrade-${task.id}`;
  const result = await wf.withWorker(activities, (taskQueue) =>
    wf.env.client.workflow.execute<typeof collectorUpgradeTask>('collectorUpgradeTask', {
      taskQueue,
      workflowId,
      args: [{ ...input, taskId: task.id }],
    }),
  );
  // Virtual time the workflow ran (the server's clock jumps on once nothing is pending).
  const { startTime, closeTime } = await wf.env.client.workflow.getHandle(workflowId).describe();
  return {
    result,
    elapsedMs: closeTime!.getTime() - startTime.getTime(),
    stored: await wf.store.getCollectorUpgradeTask(task.id),
  };
}

test('an upgrade that never completes fails after 30 minutes (the default), in virtual time', async () => {
  // The collector stops answering about its job: every poll fails and is retried.
  const fake = fakeCollector(() => {
    throw ApplicationFailure.retryable('collector does not answer', 'network');
  });
  const { result, elapsedMs, stored } = await run(fake.activities, { collectorId: 100000001, toVersion: '20.1-2749' });
  expect(result.status).toBe(3);
  expect(result.message).toBe(
    'timed out: the upgrade to 20.1-2749 did not complete within 30 minutes (status was 6 progressing)',
  );
  expect(stored).toMatchObject({ status: 3, message: result.message });
  expect(fake.statuses).toEqual([1, 6, 3]);
  expect(elapsedMs).toBeGreaterThanOrEqual(30 * MINUTE);
  // Virtual time: the 30 minutes pass without waiting them (jest's timeout ends a test that would).
  expect(elapsedMs).toBeLessThan(31 * MINUTE);
});

test('the time limit is per task (workflow input)', async () => {
  const fake = fakeCollector(() => {
    throw ApplicationFailure.retryable('collector does not answer', 'network');
  });
  const { result, elapsedMs } = await run(fake.activities, {
    collectorId: 100000002,
    toVersion: '20.1-2749',
    timeoutMs: 5 * MINUTE,
  });
  expect(result.message).toMatch(/did not complete within 5 minutes/);
  expect(elapsedMs).toBeLessThan(6 * MINUTE);
});

test('a completed upgrade goes 1 → 6 → 2 with an empty message', async () => {
  const fake = fakeCollector((job) => ({ ...job, state: 'succeeded', progress: 1 }));
  const { result, stored } = await run(fake.activities, { collectorId: 100000003, toVersion: '20.1-2749' });
  expect(result).toMatchObject({ status: 2, message: '' });
  expect(stored).toMatchObject({ status: 2, message: '' });
  expect(fake.statuses).toEqual([1, 6, 2]);
});

test("a job the collector reports failed ends status 3 with the collector's reason", async () => {
  const fake = fakeCollector((job) => ({ ...job, state: 'failed', message: 'disk full' }));
  const { result, stored } = await run(fake.activities, { collectorId: 100000004, toVersion: '20.1-2749' });
  expect(result).toMatchObject({ status: 3, message: "the collector's upgrade to 20.1-2749 failed: disk full" });
  expect(stored?.status).toBe(3);
});
