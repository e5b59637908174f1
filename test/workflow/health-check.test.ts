/**
 * The health check after an upgrade's final reboot, in virtual time: the settle time passes on a
 * durable timer before the first probe, probes come `interval_seconds` apart, and the task fails
 * with the reason once `probes` have not seen the appliance healthy (in-memory devices whose
 * services come up a set time after their reboot; real SQLite store).
 */
import type { HealthCheckPolicy } from '../../domain/rollout-safety';
import type { upgradeOperation } from '../../workflows';
import type { OperationInput } from '../../workflows/types';
import { fakeDeviceActivities } from '../helpers/fake-device';
import { useTimeSkipping } from '../helpers/time-skipping';
import { upgradeOperationDoc } from '../helpers/operation-doc';

const wf = useTimeSkipping();
const clock = () => wf.env.currentTimeMs();

function operationInput(serial: string, health_check: HealthCheckPolicy): OperationInput {
  return { operation: upgradeOperationDoc([serial], { health_check }), taskTimeoutMs: 3_600_000 };
}

/** Runs one appliance's upgrade; answers its outcome, its log and when (virtual ms after its reboot started) each health probe came. */
async function upgradeWithHealthCheck(serial: string, health_check: HealthCheckPolicy, healthySeconds: number) {
  const fake = fakeDeviceActivities({ clock, healthySecondsAfterReboot: { [serial]: healthySeconds } });
  let rebootAt = 0;
  const probesAt: number[] = [];
  const activities = {
    ...fake.activities,
    async startDeviceJob(input: Parameters<typeof fake.activities.startDeviceJob>[0]) {
      if (input.job.kind === 'reboot') rebootAt = await clock();
      return fake.activities.startDeviceJob(input);
    },
    async readApplianceHealth(input: Parameters<typeof fake.activities.readApplianceHealth>[0]) {
      probesAt.push((await clock()) - rebootAt);
      return fake.activities.readApplianceHealth(input);
    },
  };
  const input = operationInput(serial, health_check);
  const result = await wf.withWorker(activities, async (taskQueue) =>
    (
      await wf.env.client.workflow.start<typeof upgradeOperation>('upgradeOperation', {
        taskQueue,
        workflowId: `upgrade-${input.operation.id}`,
        args: [input],
      })
    ).result(),
  );
  const log = (await wf.store.getLog(input.operation.id, serial)).map((l) => l.log_entry);
  return { result, task: result.tasks[0]!, stored: await wf.store.getTask(input.operation.id, serial), log, probesAt };
}

test('the first probe waits out settle_seconds on a durable timer; a healthy appliance completes', async () => {
  const { task, stored, log, probesAt } = await upgradeWithHealthCheck(
    'S12HC00000001',
    { settle_seconds: 600, probes: 3, interval_seconds: 60 },
    0,
  );
  expect(task).toMatchObject({ status: 'successful', stage: 'completed' });
  expect(stored).toMatchObject({ status: 'successful', stage: 'completed' });
  expect(probesAt).toHaveLength(1);
  // Ten minutes of virtual time after the reboot, not a moment before (and no minute later).
  expect(probesAt[0]).toBeGreaterThanOrEqual(600_000);
  expect(probesAt[0]).toBeLessThan(660_000);
  expect(log).toContain(
    'health check: waiting 10 minutes for the appliance to settle, then up to 3 probe(s) 1 minute apart',
  );
  expect(log).toContain('health check passed at probe 1 of 3');
});

test('an appliance slow to come up passes at a later probe within the limit', async () => {
  const { task, log, probesAt } = await upgradeWithHealthCheck(
    'S12HC00000002',
    { settle_seconds: 60, probes: 3, interval_seconds: 60 },
    100,
  );
  expect(task).toMatchObject({ status: 'successful', stage: 'completed' });
  expect(probesAt).toHaveLength(2);
  expect(probesAt[1]! - probesAt[0]!).toBeGreaterThanOrEqual(60_000);
  expect(log).toContain('health probe 1 of 3: services not up: optimization starting');
  expect(log).toContain('health check passed at probe 2 of 3');
});

test('an appliance not healthy within the probes fails its task with the reason, after exactly that many probes', async () => {
  const { result, task, stored, log, probesAt } = await upgradeWithHealthCheck(
    'S12HC00000003',
    { settle_seconds: 60, probes: 3, interval_seconds: 60 },
    1000,
  );
  const reason =
    'health check failed: not healthy after 3 probe(s) over 3 minutes: services not up: optimization starting';
  expect(result.operation.status).toBe('failed');
  expect(task).toMatchObject({ status: 'failed', stage: 'failed', message: reason });
  expect(stored).toMatchObject({ status: 'failed', stage: 'failed', message: reason });
  expect(probesAt).toHaveLength(3);
  expect(probesAt[2]).toBeGreaterThanOrEqual(180_000);
  expect(probesAt[2]).toBeLessThan(240_000);
  expect(log).toContain('health probe 3 of 3: services not up: optimization starting');
  // Without a rollback policy the appliance stays where it is.
  expect(log.some((l) => l.includes('rolling back'))).toBe(false);
});
