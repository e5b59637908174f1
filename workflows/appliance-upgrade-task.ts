/**
 * One appliance's upgrade, as the seed's stages: waiting → initiating → downloading → installing →
 * completed (or failed / cancelled). Each step is an activity on the device; the task records its
 * state in a query and in search attributes so the Web UI and the CLI see it.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeviceActivities } from '../activities/device-activities';
import type { ApplianceTaskStatus, ApplianceUpgradeTaskStage } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { applianceTaskStateQuery, type ApplianceTaskOutcome, type ApplianceUpgradeTaskInput } from './types';

const quick = proxyActivities<DeviceActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const jobs = proxyActivities<DeviceActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
  // Wait until the device has been asked to stop before the task records `cancelled`.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

class TaskFailed extends Error {}

export async function applianceUpgradeTask(input: ApplianceUpgradeTaskInput): Promise<ApplianceTaskOutcome> {
  const { operationId, serial, target_version } = input;
  const state: ApplianceTaskOutcome = { serial, status: 'scheduled', stage: 'waiting' };
  setHandler(applianceTaskStateQuery, () => state);

  const enter = (status: ApplianceTaskStatus, stage: ApplianceUpgradeTaskStage, message?: string): void => {
    state.status = status;
    state.stage = stage;
    if (message !== undefined) state.message = message;
    upsertSearchAttributes([
      { key: SA.taskStatus, value: status },
      { key: SA.taskStage, value: stage },
    ]);
  };
  const call = { operationId, serial };
  const key = (step: string): string => `${workflowInfo().workflowId}:${step}:${target_version.version_id}`;

  async function runStages(): Promise<void> {
    enter('running', 'initiating');
    state.taskStartMs = Date.now();
    const info = await quick.readApplianceInfo(call);
    state.current_version = info.running_version;
    if (!info.connected) throw new TaskFailed(`appliance ${serial} is disconnected`);
    if (info.product_code !== input.product_code) throw new TaskFailed(`appliance ${serial} is ${info.product_code}, the operation is for ${input.product_code}`);
    if (info.read_only) throw new TaskFailed(`appliance ${serial} is read-only`);

    enter('running', 'downloading');
    const image = await quick.resolveUpgradeImage({ ...call, product_code: info.product_code, arch: info.arch, target_version });
    const staging = await quick.stageImage({ ...call, idempotencyKey: key('stage'), request: image });
    await jobs.awaitDeviceJob({ ...call, jobId: staging.id });

    enter('running', 'installing');
    const install = await quick.installImage({ ...call, idempotencyKey: key('install'), request: { version_id: target_version.version_id, esxi_force: input.esxi_force } });
    await jobs.awaitDeviceJob({ ...call, jobId: install.id });

    if (input.reboot) {
      // The new version is on the standby partition until a reboot switches to it.
      const reboot = await quick.rebootAppliance({ ...call, idempotencyKey: key('reboot'), request: { switch_partition: true } });
      await jobs.awaitDeviceJob({ ...call, jobId: reboot.id });
      const after = await quick.readApplianceInfo(call);
      state.current_version = after.running_version;
      if (after.running_version.version_id !== target_version.version_id) {
        throw new TaskFailed(`appliance came back running ${after.running_version.version_id}, expected ${target_version.version_id}`);
      }
    }
    enter('successful', 'completed');
  }

  try {
    if (input.startAtMs !== undefined && input.startAtMs > Date.now()) await sleep(input.startAtMs - Date.now());
    let timedOut = false;
    await CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      const limit = sleep(input.taskTimeoutMs).then(() => {
        timedOut = true;
        scope.cancel();
      });
      limit.catch(() => undefined);
      try {
        await runStages();
      } catch (err) {
        if (timedOut) throw new TaskFailed(`task did not finish within ${Math.round(input.taskTimeoutMs / 60000)} minutes (timed out in stage ${state.stage})`);
        throw err;
      } finally {
        scope.cancel();
      }
    });
  } catch (err) {
    if (err instanceof TaskFailed) enter('failed', 'failed', err.message);
    else if (isCancellation(err)) enter('cancelled', 'cancelled', `cancelled in stage ${state.stage}`);
    else enter('failed', 'failed', failureMessage(err));
  }
  return state;
}

/** The innermost cause's message: what the device said, not Temporal's wrapping. */
function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && (current as { cause?: unknown }).cause instanceof Error) current = (current as { cause: Error }).cause;
  return current instanceof Error ? current.message : String(err);
}
