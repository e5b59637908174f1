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
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeviceActivities } from '../activities/device-activities';
import type { LogLine, StoreActivities } from '../activities/store-activities';
import type { ApplianceTaskStatus, ApplianceUpgradeTaskStage } from '../domain/scc';
import { formatDuration } from '../domain/operation';
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

const record = proxyLocalActivities<StoreActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumInterval: '10 seconds' },
});

class TaskFailed extends Error {}

const line = (message: string, severity: LogLine['severity'] = 'info'): LogLine => ({ message, severity, timestamp: Math.floor(Date.now() / 1000) });

export async function applianceUpgradeTask(input: ApplianceUpgradeTaskInput): Promise<ApplianceTaskOutcome> {
  const { operationId, serial, target_version } = input;
  const state: ApplianceTaskOutcome = { serial, status: 'scheduled', stage: 'waiting' };
  setHandler(applianceTaskStateQuery, () => state);

  /** Moves the task to a stage: query, search attributes, and the store with a log line. */
  const enter = async (status: ApplianceTaskStatus, stage: ApplianceUpgradeTaskStage, message: string, severity: LogLine['severity'] = 'info'): Promise<void> => {
    state.status = status;
    state.stage = stage;
    if (status === 'failed' || status === 'cancelled') state.message = message;
    upsertSearchAttributes([
      { key: SA.taskStatus, value: status },
      { key: SA.taskStage, value: stage },
    ]);
    const startTime = stage === 'initiating' && state.taskStartMs !== undefined ? { task_start_time: { datetime: Math.floor(state.taskStartMs / 1000), time_type: 'utc' } } : {};
    await record.recordTaskProgress({ operationId, serial, changes: { status, stage, ...startTime, ...(state.message ? { message: state.message } : {}) }, log: line(message, severity) });
  };
  const log = (message: string): Promise<void> => record.recordTaskProgress({ operationId, serial, changes: {}, log: line(message) });
  const call = { operationId, serial };
  const key = (step: string): string => `${workflowInfo().workflowId}:${step}:${target_version.version_id}`;

  async function runStages(): Promise<void> {
    state.taskStartMs = Date.now();
    await enter('running', 'initiating', `upgrade to ${target_version.version_id} started`);
    const info = await quick.readApplianceInfo(call);
    state.current_version = info.running_version;
    if (!info.connected) throw new TaskFailed(`appliance ${serial} is disconnected`);
    if (info.product_code !== input.product_code) throw new TaskFailed(`appliance ${serial} is ${info.product_code}, the operation is for ${input.product_code}`);
    if (info.read_only) throw new TaskFailed(`appliance ${serial} is read-only`);

    await enter('running', 'downloading', `downloading the image for ${info.product_code} ${info.arch}, running ${info.running_version.version_id}`);
    const image = await quick.resolveUpgradeImage({ ...call, product_code: info.product_code, arch: info.arch, target_version });
    const staging = await quick.stageImage({ ...call, idempotencyKey: key('stage'), request: image });
    await jobs.awaitDeviceJob({ ...call, jobId: staging.id });
    await log(`image staged from ${image.url}`);

    await enter('running', 'installing', `installing ${target_version.version_id}`);
    const install = await quick.installImage({ ...call, idempotencyKey: key('install'), request: { version_id: target_version.version_id, esxi_force: input.esxi_force } });
    await jobs.awaitDeviceJob({ ...call, jobId: install.id });
    await log(`${target_version.version_id} installed on the standby partition`);

    if (input.reboot) {
      await log('rebooting to activate the new partition');
      // The new version is on the standby partition until a reboot switches to it.
      const reboot = await quick.rebootAppliance({ ...call, idempotencyKey: key('reboot'), request: { switch_partition: true } });
      await jobs.awaitDeviceJob({ ...call, jobId: reboot.id });
      const after = await quick.readApplianceInfo(call);
      state.current_version = after.running_version;
      if (after.running_version.version_id !== target_version.version_id) {
        throw new TaskFailed(`appliance came back running ${after.running_version.version_id}, expected ${target_version.version_id}`);
      }
      await log(`appliance is running ${after.running_version.version_id}`);
    }
    await enter('successful', 'completed', `upgrade to ${target_version.version_id} completed`, 'notice');
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
        if (timedOut) throw new TaskFailed(`task did not finish within ${formatDuration(input.taskTimeoutMs)} (timed out in stage ${state.stage})`);
        throw err;
      } finally {
        scope.cancel();
      }
    });
  } catch (err) {
    // The final record must land even when the task itself was cancelled.
    await CancellationScope.nonCancellable(async () => {
      if (err instanceof TaskFailed) await enter('failed', 'failed', err.message, 'err');
      else if (isCancellation(err)) await enter('cancelled', 'cancelled', `cancelled in stage ${state.stage}`, 'warning');
      else await enter('failed', 'failed', failureMessage(err), 'err');
    });
  }
  return state;
}

/** The innermost cause's message: what the device said, not Temporal's wrapping. */
function failureMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && (current as { cause?: unknown }).cause instanceof Error) current = (current as { cause: Error }).cause;
  return current instanceof Error ? current.message : String(err);
}
