/**
 * One appliance's upgrade or downgrade, as the seed's stages: waiting → initiating → downloading →
 * (patching, for a delta image) → installing → completed (or failed / cancelled). Each step is an
 * activity on the device; the task records its state in a query, in search attributes (for the
 * Web UI and the CLI) and in the store.
 *
 * The images come from the task's image plan: the upgrade path from the running version through
 * the images of every repository (one full image of the older version for a downgrade). When the
 * target takes more than one image, each intermediate version is installed and activated by a
 * reboot before the next hop (a delta, and a full image's source versions, apply to the running
 * version), each hop logged. Only the last hop's reboot follows the operation's `reboot`: with a
 * deferred reboot the target waits on the standby partition for the reboot operation.
 */
import { setHandler, workflowInfo } from '@temporalio/workflow';
import type { DeviceJobStart } from '../activities/device-activities';
import type { ImageHop } from '../activities/image-activities';
import type { DeviceInfo } from '../domain/device-api';
import { taskStartRefusal } from '../domain/eligibility';
import type { ApplianceUpgradeTaskStage, Version } from '../domain/scc';
import { runDeviceJob } from './device-job';
import { deviceCalls, imagePlans, runTask, TaskFailed, taskRecorder } from './task-lifecycle';
import { applianceTaskStateQuery, type ApplianceTaskOutcome, type ApplianceUpgradeTaskInput } from './types';

export async function applianceUpgradeTask(input: ApplianceUpgradeTaskInput): Promise<ApplianceTaskOutcome> {
  const { operationId, serial, target_version, kind } = input;
  const state: ApplianceTaskOutcome = { serial, status: 'scheduled', stage: 'waiting' };
  setHandler(applianceTaskStateQuery, () => state);

  const recorder = taskRecorder<ApplianceUpgradeTaskStage>(operationId, state);
  const { enter, log, note } = recorder;
  const call = { operationId, serial };

  /** Runs a device job to its end; the key is stable across retries and replays of one step towards one version. */
  function deviceJob(job: DeviceJobStart, versionId: string): Promise<void> {
    return runDeviceJob(call, job, { idempotencyKey: `${workflowInfo().workflowId}:${job.kind}:${versionId}`, onStopped: note });
  }

  /** Reboots to the standby partition and checks the appliance came back running `version`. */
  async function activate(version: Version, why: string): Promise<void> {
    await log(why);
    await deviceJob({ kind: 'reboot', request: { switch_partition: true } }, version.version_id);
    const after = await deviceCalls.readApplianceInfo(call);
    state.current_version = after.running_version;
    if (after.running_version.version_id !== version.version_id) {
      throw new TaskFailed(`appliance came back running ${after.running_version.version_id}, expected ${version.version_id}`);
    }
    note(`appliance is running ${after.running_version.version_id}`);
    recorder.noteRunningVersion(after.running_version);
  }

  /** Stage (and patch) one image, then install it on the standby partition. */
  async function installHop(hop: ImageHop, step: string): Promise<void> {
    const to = hop.request.target_version;
    await enter('running', 'downloading', `downloading ${hop.delta ? 'delta' : 'full'} image ${hop.image_id} (${hop.repository} repository) for ${to.version_id}${step}`);
    await deviceJob({ kind: 'stage', request: hop.request }, to.version_id);
    note(`image staged from ${hop.request.url}`);
    if (hop.delta) {
      await enter('running', 'patching', `patching ${hop.from_version_id} to ${to.version_id} with the delta image${step}`);
      await deviceJob({ kind: 'patch', request: { version_id: to.version_id } }, to.version_id);
    }
    await enter('running', 'installing', `installing ${to.version_id}${step}`);
    await deviceJob({ kind: 'install', request: { version_id: to.version_id, esxi_force: input.esxi_force } }, to.version_id);
    note(`${to.version_id} installed on the standby partition`);
  }

  /** The task's stages through its image plan. */
  async function planned(info: DeviceInfo): Promise<void> {
    const refusal = taskStartRefusal(kind, info, input.product_code);
    if (refusal) throw new TaskFailed(refusal);
    const plan = await imagePlans.planImages({ ...call, kind, product_code: info.product_code, arch: info.arch, current_version: info.running_version, target_version });
    if (!plan.ok) throw new TaskFailed(plan.message);
    const { hops } = plan;
    if (hops.length > 1) {
      const chain = [info.running_version.version_id, ...hops.map((h) => h.request.target_version.version_id)].join(' → ');
      note(`the target takes ${hops.length} images: ${chain}`);
    }
    for (const [i, hop] of hops.entries()) {
      const last = i === hops.length - 1;
      await installHop(hop, hops.length > 1 ? ` (step ${i + 1} of ${hops.length})` : '');
      if (!last) await activate(hop.request.target_version, `rebooting to run ${hop.request.target_version.version_id} before the next image`);
      else if (input.reboot) await activate(target_version, 'rebooting to activate the new partition');
    }
  }

  async function runStages(): Promise<void> {
    state.taskStartMs = Date.now();
    await enter('running', 'initiating', `${kind} to ${target_version.version_id} started`);
    const info = await deviceCalls.readApplianceInfo(call);
    state.current_version = info.running_version;
    await planned(info);
    await enter('successful', 'completed', `${kind} to ${target_version.version_id} completed`, 'notice');
  }

  await runTask(input, state, recorder, runStages);
  return state;
}
