/**
 * The safety steps of an upgrade or downgrade task (domain/rollout-safety.ts): the health check
 * after its final reboot, and the rollback that returns an appliance to the version it ran before.
 * Every wait is a durable timer; every device job has an idempotency key of its own, so a rollback
 * retried or replayed after a worker restart acts on the device once.
 */
import { sleep } from '@temporalio/workflow';
import type { DeviceCallInput, DeviceJobStart } from '../activities/device-activities';
import { formatDuration } from '../domain/operation';
import { healthProblem, rollbackStep, type HealthCheckPolicy, type RollbackStep } from '../domain/rollout-safety';
import type { Version } from '../domain/scc';
import { runDeviceJob } from './device-job';
import { deviceCalls, imagePlans, recordedDeviceReads, TaskFailed } from './task-lifecycle';

/** What the safety steps write to the task's log (its recorder, ./task-lifecycle.ts). */
export interface SafetyLog {
  log(message: string, severity?: 'info' | 'warning'): Promise<void>;
  logWithNextWrite(message: string): void;
  setRunningVersion(version: Version): void;
}

/**
 * Waits `settle_seconds`, then probes the device's health up to `probes` times, `interval_seconds`
 * apart. Undefined once a probe passes; otherwise why the check failed. Each probe is logged.
 */
export async function waitUntilHealthy(
  call: DeviceCallInput,
  policy: HealthCheckPolicy,
  taskLog: SafetyLog,
): Promise<string | undefined> {
  if (policy.settle_seconds > 0) await sleep(policy.settle_seconds * 1000);
  let problem = '';
  for (let probe = 1; probe <= policy.probes; probe++) {
    if (probe > 1) await sleep(policy.interval_seconds * 1000);
    const reading = await recordedDeviceReads.readApplianceHealth(call);
    problem = (reading.reachable ? healthProblem(reading.health) : `no answer: ${reading.reason}`) ?? '';
    if (!problem) {
      taskLog.logWithNextWrite(`health check passed at probe ${probe} of ${policy.probes}`);
      return undefined;
    }
    taskLog.logWithNextWrite(`health probe ${probe} of ${policy.probes}: ${problem}`);
  }
  const span = formatDuration((policy.settle_seconds + (policy.probes - 1) * policy.interval_seconds) * 1000);
  return `health check failed: not healthy after ${policy.probes} probe(s) over ${span}: ${problem}`;
}

export interface RollbackContext {
  call: DeviceCallInput;
  /** The task's kind: rolling an upgrade back plans a downgrade, and the other way round. */
  kind: 'upgrade' | 'downgrade';
  esxi_force: boolean;
  /** Unique to this rollback (the workflow and the attempt): the device jobs' idempotency keys start with it. */
  keyPrefix: string;
  taskLog: SafetyLog;
  onStopped?: (message: string) => void;
}

/**
 * Returns the appliance to `previous`: a reboot to the other partition when it still holds that
 * version (A/B), else that version's images installed again, each step logged. Answers the step
 * taken ('none' when the appliance still ran it). Throws TaskFailed when it cannot.
 */
export async function returnToVersion(ctx: RollbackContext, previous: Version): Promise<RollbackStep> {
  const { call, taskLog } = ctx;
  const to = previous.version_id;
  const job = (start: DeviceJobStart, versionId: string): Promise<void> =>
    runDeviceJob(call, start, {
      idempotencyKey: `${ctx.keyPrefix}:rollback:${start.kind}:${versionId}`,
      ...(ctx.onStopped ? { onStopped: ctx.onStopped } : {}),
    });
  const reboot = async (version: Version, why: string): Promise<void> => {
    await taskLog.log(why, 'warning');
    await job({ kind: 'reboot', request: { switch_partition: true } }, version.version_id);
    const after = await deviceCalls.readApplianceInfo(call);
    if (after.running_version.version_id !== version.version_id)
      throw new TaskFailed(
        `rollback: appliance came back running ${after.running_version.version_id}, expected ${version.version_id}`,
      );
    taskLog.setRunningVersion(after.running_version);
    taskLog.logWithNextWrite(`appliance is running ${after.running_version.version_id}`);
  };

  const info = await recordedDeviceReads.readApplianceInfo(call);
  const step = rollbackStep(info, previous);
  if (step === 'none') {
    taskLog.logWithNextWrite(`rollback: the appliance still runs ${to} on its active partition, nothing to reboot`);
    return step;
  }
  if (step === 'switch_partition') {
    await reboot(previous, `rollback: rebooting to the other partition, which still holds ${to}`);
    return step;
  }
  const plan = await imagePlans.planImages({
    ...call,
    kind: ctx.kind === 'upgrade' ? 'downgrade' : 'upgrade',
    product_code: info.product_code,
    arch: info.arch,
    current_version: info.running_version,
    target_version: previous,
    rollback: true,
  });
  if (!plan.ok) throw new TaskFailed(`rollback: no image back to ${to}: ${plan.message}`);
  await taskLog.log(
    `rollback: the other partition holds ${info.standby_version?.version_id ?? 'nothing'}, installing the image of ${to} again`,
    'warning',
  );
  for (const hop of plan.hops) {
    const version = hop.request.target_version;
    await taskLog.log(
      `rollback: downloading ${hop.delta ? 'delta' : 'full'} image ${hop.image_id} for ${version.version_id}`,
    );
    await job({ kind: 'stage', request: hop.request }, version.version_id);
    if (hop.delta) await job({ kind: 'patch', request: { version_id: version.version_id } }, version.version_id);
    await taskLog.log(`rollback: installing ${version.version_id}`);
    await job(
      { kind: 'install', request: { version_id: version.version_id, esxi_force: ctx.esxi_force } },
      version.version_id,
    );
    await reboot(version, `rollback: rebooting to run ${version.version_id}`);
  }
  return step;
}
