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
import { patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { DeviceJobStart } from '../activities/device-activities';
import type { ImageHop } from '../activities/image-activities';
import type { DeviceInfo } from '../domain/device-api';
import { taskStartRefusal } from '../domain/eligibility';
import type { ApplianceUpgradeTaskStage, Version } from '../domain/scc';
import { jobs, quick, quickReads, record, runTask, TaskFailed, taskRecorder } from './task-lifecycle';
import { applianceTaskStateQuery, type ApplianceTaskOutcome, type ApplianceUpgradeTaskInput } from './types';

export async function applianceUpgradeTask(input: ApplianceUpgradeTaskInput): Promise<ApplianceTaskOutcome> {
  const { operationId, serial, target_version } = input;
  const kind = input.kind ?? 'upgrade';
  const state: ApplianceTaskOutcome = { serial, status: 'scheduled', stage: 'waiting' };
  setHandler(applianceTaskStateQuery, () => state);

  const recorder = taskRecorder<ApplianceUpgradeTaskStage>(operationId, state);
  const { enter, log } = recorder;
  const call = { operationId, serial };
  /** Stable across retries and replays of one step towards one version. */
  const key = (step: string, versionId = target_version.version_id): string => `${workflowInfo().workflowId}:${step}:${versionId}`;
  /**
   * Tasks started since `compact-task-history` run each device job as one activity, read the
   * device and plan images as local activities, and write a line that another write follows at
   * once with that write: about 80 history events for a two-image upgrade instead of 160. Older
   * histories keep their separate steps.
   */
  let compact = false;
  /** The device's answer, and the image plan. */
  const reads = (): typeof quickReads => (compact ? quickReads : quick);
  /** A line that the task's next write follows at once. */
  const tell = (message: string): Promise<void> | void => (compact ? recorder.note(message) : log(message));

  /** Runs a device job to its end. */
  async function deviceJob(job: DeviceJobStart, versionId?: string): Promise<void> {
    const idempotencyKey = key(job.kind, versionId);
    if (compact) {
      await jobs.runDeviceJob({ ...call, idempotencyKey, job });
      return;
    }
    const started = await startJob(job, idempotencyKey);
    await jobs.awaitDeviceJob({ ...call, jobId: started.id });
  }

  function startJob(job: DeviceJobStart, idempotencyKey: string): Promise<{ id: string }> {
    switch (job.kind) {
      case 'stage':
        return quick.stageImage({ ...call, idempotencyKey, request: job.request });
      case 'patch':
        return quick.patchImage({ ...call, idempotencyKey, request: job.request });
      case 'install':
        return quick.installImage({ ...call, idempotencyKey, request: job.request });
      case 'reboot':
        return quick.rebootAppliance({ ...call, idempotencyKey, request: job.request });
    }
  }

  /** Reboots to the standby partition and checks the appliance came back running `version`. */
  async function activate(version: Version, why: string): Promise<void> {
    await log(why);
    await deviceJob({ kind: 'reboot', request: { switch_partition: true } }, version.version_id);
    const after = await reads().readApplianceInfo(call);
    state.current_version = after.running_version;
    if (after.running_version.version_id !== version.version_id) {
      throw new TaskFailed(`appliance came back running ${after.running_version.version_id}, expected ${version.version_id}`);
    }
    await tell(`appliance is running ${after.running_version.version_id}`);
    if (compact) recorder.noteRunningVersion(after.running_version);
    // Histories from before the inventory learnt versions from operations do not have this step.
    else if (patched('record-appliance-version')) await record.recordApplianceVersion({ operationId, serial, version: after.running_version });
  }

  /** Stage (and patch) one image, then install it on the standby partition. */
  async function installHop(hop: ImageHop, step: string): Promise<void> {
    const to = hop.request.target_version;
    await enter('running', 'downloading', `downloading ${hop.delta ? 'delta' : 'full'} image ${hop.image_id} (${hop.repository} repository) for ${to.version_id}${step}`);
    await deviceJob({ kind: 'stage', request: hop.request }, to.version_id);
    await tell(`image staged from ${hop.request.url}`);
    if (hop.delta) {
      await enter('running', 'patching', `patching ${hop.from_version_id} to ${to.version_id} with the delta image${step}`);
      await deviceJob({ kind: 'patch', request: { version_id: to.version_id } }, to.version_id);
    }
    await enter('running', 'installing', `installing ${to.version_id}${step}`);
    await deviceJob({ kind: 'install', request: { version_id: to.version_id, esxi_force: input.esxi_force } }, to.version_id);
    await tell(`${to.version_id} installed on the standby partition`);
  }

  /** The task's stages through its image plan. */
  async function planned(info: DeviceInfo): Promise<void> {
    const refusal = taskStartRefusal(kind, info, input.product_code);
    if (refusal) throw new TaskFailed(refusal);
    const plan = await reads().planImages({ ...call, kind, product_code: info.product_code, arch: info.arch, current_version: info.running_version, target_version });
    if (!plan.ok) throw new TaskFailed(plan.message);
    const { hops } = plan;
    if (hops.length > 1) {
      const chain = [info.running_version.version_id, ...hops.map((h) => h.request.target_version.version_id)].join(' → ');
      await tell(`the target takes ${hops.length} images: ${chain}`);
    }
    for (const [i, hop] of hops.entries()) {
      const last = i === hops.length - 1;
      await installHop(hop, hops.length > 1 ? ` (step ${i + 1} of ${hops.length})` : '');
      if (!last) await activate(hop.request.target_version, `rebooting to run ${hop.request.target_version.version_id} before the next image`);
      else if (input.reboot) await activate(target_version, 'rebooting to activate the new partition');
    }
  }

  /** Tasks started before image plans: one full image from FLEET_IMAGE_BASE_URL. */
  async function singleImage(info: DeviceInfo): Promise<void> {
    if (!info.connected) throw new TaskFailed(`appliance ${serial} is disconnected`);
    if (info.product_code !== input.product_code) throw new TaskFailed(`appliance ${serial} is ${info.product_code}, the operation is for ${input.product_code}`);
    if (info.read_only) throw new TaskFailed(`appliance ${serial} is read-only`);
    await enter('running', 'downloading', `downloading the image for ${info.product_code} ${info.arch}, running ${info.running_version.version_id}`);
    const image = await quick.resolveUpgradeImage({ ...call, product_code: info.product_code, arch: info.arch, target_version });
    await deviceJob({ kind: 'stage', request: image });
    await log(`image staged from ${image.url}`);
    await enter('running', 'installing', `installing ${target_version.version_id}`);
    await deviceJob({ kind: 'install', request: { version_id: target_version.version_id, esxi_force: input.esxi_force } });
    await log(`${target_version.version_id} installed on the standby partition`);
    if (input.reboot) await activate(target_version, 'rebooting to activate the new partition');
  }

  async function runStages(): Promise<void> {
    state.taskStartMs = Date.now();
    await enter('running', 'initiating', `${kind} to ${target_version.version_id} started`);
    compact = patched('compact-task-history');
    const info = await reads().readApplianceInfo(call);
    state.current_version = info.running_version;
    if (compact || patched('image-plan')) await planned(info);
    else await singleImage(info);
    await enter('successful', 'completed', `${kind} to ${target_version.version_id} completed`, 'notice');
  }

  await runTask(input, state, recorder, runStages);
  return state;
}
