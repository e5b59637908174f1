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
 *
 * Rollout safety (domain/rollout-safety.ts): with `health_check`, after its own final reboot the
 * task waits for the appliance to report healthy (stage `health_check`); with `rollback`, an
 * appliance whose health check failed, or whose install failed once the standby partition may have
 * been written, is returned to the version it ran before (stage `rolling_back`); with
 * `task_retries`, a failed or timed-out attempt runs again after its backoff, each attempt with its
 * own time limit and its own idempotency keys.
 */
import { isCancellation, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { DeviceJobStart } from '../activities/device-activities';
import type { ImageHop } from '../activities/image-activities';
import type { DeviceInfo } from '../domain/device-api';
import { taskStartRefusal } from '../domain/eligibility';
import { formatDuration } from '../domain/operation';
import { retryDelayMs, rolledBackMessage, rollsBackOnFailure } from '../domain/rollout-safety';
import type { ApplianceUpgradeTaskStage, Version } from '../domain/scc';
import { runDeviceJob } from './device-job';
import { deviceCalls, endTask, imagePlans, runAttempt, TaskFailed, taskRecorder, type AttemptResult } from './task-lifecycle';
import { returnToVersion, waitUntilHealthy } from './task-safety';
import { applianceTaskStateQuery, type ApplianceTaskOutcome, type ApplianceUpgradeTaskInput } from './types';

export async function applianceUpgradeTask(input: ApplianceUpgradeTaskInput): Promise<ApplianceTaskOutcome> {
  const { operationId, serial, target_version, kind } = input;
  const state: ApplianceTaskOutcome = { serial, status: 'scheduled', stage: 'waiting' };
  setHandler(applianceTaskStateQuery, () => state);

  const recorder = taskRecorder<ApplianceUpgradeTaskStage>(operationId, state);
  const { enter, log, note } = recorder;
  const call = { operationId, serial };
  const safety = input.safety ?? {};
  const attempts = 1 + (safety.task_retries?.max ?? 0);
  let attempt = 1;
  /** This attempt started an install: the standby partition may have been written. */
  let installStarted = false;
  let healthFailed = false;

  /** Runs a device job to its end; the key is stable across retries and replays of one step of one attempt towards one version. */
  function deviceJob(job: DeviceJobStart, versionId: string): Promise<void> {
    if (job.kind === 'install') installStarted = true;
    return runDeviceJob(call, job, { idempotencyKey: `${workflowInfo().workflowId}:attempt-${attempt}:${job.kind}:${versionId}`, onStopped: note });
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

  /** After the task's own final reboot: the appliance must report healthy within the policy's probes. */
  async function healthCheck(): Promise<void> {
    const policy = safety.health_check;
    if (!policy || !input.reboot) return;
    await enter('running', 'health_check', `health check: waiting ${formatDuration(policy.settle_seconds * 1000)} for the appliance to settle, then up to ${policy.probes} probe(s) ${formatDuration(policy.interval_seconds * 1000)} apart`);
    const problem = await waitUntilHealthy(call, policy, recorder);
    if (problem) {
      healthFailed = true;
      throw new TaskFailed(problem);
    }
  }

  async function runStages(): Promise<void> {
    installStarted = false;
    healthFailed = false;
    state.taskStartMs ??= Date.now();
    await enter('running', 'initiating', `${kind} to ${target_version.version_id} started${attempts > 1 ? ` (attempt ${attempt} of ${attempts})` : ''}`);
    const info = await deviceCalls.readApplianceInfo(call);
    state.current_version = info.running_version;
    state.previous_version ??= info.running_version;
    await planned(info);
    await healthCheck();
    await enter('successful', 'completed', `${kind} to ${target_version.version_id} completed`, 'notice');
  }

  /** Returns the appliance to the version it ran before the task; answers the task's final message (and whether the task was cancelled meanwhile). */
  async function rollBack(reason: string): Promise<{ message: string; cancelled?: true }> {
    const previous = state.previous_version!;
    await enter('running', 'rolling_back', `${reason}; rolling back to ${previous.version_id}`, 'warning');
    let step = 'none';
    const result = await runAttempt(input, state, async () => {
      step = await returnToVersion({ call, kind, esxi_force: input.esxi_force, keyPrefix: `${workflowInfo().workflowId}:attempt-${attempt}`, out: recorder, onStopped: note }, previous);
    });
    if (!result.ok && result.end === 'cancelled') return { message: `${reason}; rollback to ${previous.version_id} cancelled in stage ${state.stage}`, cancelled: true };
    if (!result.ok) return { message: `${reason}; rollback to ${previous.version_id} failed: ${result.message}` };
    state.current_version = previous;
    return { message: step === 'none' ? `${reason}; the appliance still runs ${previous.version_id}` : rolledBackMessage(reason, previous) };
  }

  /** Logs the failed attempt and waits out the backoff; false when the task was cancelled meanwhile. */
  async function beforeRetry(result: AttemptResult & { ok: false }, message: string, delayMs: number): Promise<boolean> {
    try {
      await log(`attempt ${attempt} of ${attempts} ${result.end === 'timed_out' ? 'timed out' : 'failed'}: ${message}; attempt ${attempt + 1} ${delayMs ? `in ${formatDuration(delayMs)}` : 'now'}`, 'warning');
      if (delayMs) await sleep(delayMs);
      return true;
    } catch (err) {
      if (!isCancellation(err)) throw err;
      await endTask(recorder, { ok: false, end: 'cancelled', message: `cancelled while waiting to retry: ${message}` });
      return false;
    }
  }

  /** Attempt after attempt as the retry policy says; a failed one rolls back first when the policy says so. */
  for (; ; attempt++) {
    const result: AttemptResult = await runAttempt(input, state, runStages);
    if (result.ok) break;
    if (result.end === 'cancelled') {
      await endTask(recorder, result);
      break;
    }
    const wrote = healthFailed || installStarted;
    const { message, cancelled } = rollsBackOnFailure(safety.rollback) && wrote && state.previous_version ? await rollBack(result.message) : { message: result.message };
    const delayMs = cancelled ? undefined : retryDelayMs(safety.task_retries, attempt, result.end);
    if (delayMs === undefined) {
      await endTask(recorder, { ...result, message, ...(cancelled ? { end: 'cancelled' as const } : {}) });
      break;
    }
    if (!(await beforeRetry(result, message, delayMs))) break;
  }
  return state;
}
