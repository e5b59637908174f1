/**
 * One appliance's upgrade or downgrade, as the seed's stages: waiting → initiating → downloading →
 * installing → completed (or failed / cancelled). Each step is an activity on the device; the task
 * records its state in a query, in search attributes (for the Web UI and the CLI) and in the store.
 * A downgrade installs an older full image; with a deferred reboot the new version waits on the
 * standby partition for the reboot operation.
 */
import { patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ApplianceUpgradeTaskStage } from '../domain/scc';
import { jobs, quick, record, runTask, TaskFailed, taskRecorder } from './task-lifecycle';
import { applianceTaskStateQuery, type ApplianceTaskOutcome, type ApplianceUpgradeTaskInput } from './types';

export async function applianceUpgradeTask(input: ApplianceUpgradeTaskInput): Promise<ApplianceTaskOutcome> {
  const { operationId, serial, target_version } = input;
  const kind = input.kind ?? 'upgrade';
  const state: ApplianceTaskOutcome = { serial, status: 'scheduled', stage: 'waiting' };
  setHandler(applianceTaskStateQuery, () => state);

  const recorder = taskRecorder<ApplianceUpgradeTaskStage>(operationId, state);
  const { enter, log } = recorder;
  const call = { operationId, serial };
  const key = (step: string): string => `${workflowInfo().workflowId}:${step}:${target_version.version_id}`;

  async function runStages(): Promise<void> {
    state.taskStartMs = Date.now();
    await enter('running', 'initiating', `${kind} to ${target_version.version_id} started`);
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
      // Histories from before the inventory learnt versions from operations do not have this step.
      if (patched('record-appliance-version')) await record.recordApplianceVersion({ operationId, serial, version: after.running_version });
    }
    await enter('successful', 'completed', `${kind} to ${target_version.version_id} completed`, 'notice');
  }

  await runTask(input, state, recorder, runStages);
  return state;
}
