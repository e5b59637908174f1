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
import { retryDelayMs, rolledBackMessage, rollsBackOnFailure, type TaskSafety } from '../domain/rollout-safety';
import type { ApplianceUpgradeTaskStage, Version } from '../domain/scc';
import { runDeviceJob } from './device-job';
import {
  deviceCalls,
  endTask,
  imagePlans,
  runAttempt,
  TaskFailed,
  taskRecorder,
  type AttemptResult,
  type TaskRecorder,
} from './task-lifecycle';
import { returnToVersion, waitUntilHealthy } from './task-safety';
import { applianceTaskStateQuery, type ApplianceTaskOutcome, type ApplianceUpgradeTaskInput } from './types';

export function applianceUpgradeTask(input: ApplianceUpgradeTaskInput): Promise<ApplianceTaskOutcome> {
  return new UpgradeTask(input).run();
}

type FailedAttempt = Exclude<AttemptResult, { ok: true }>;

/** One appliance's upgrade or downgrade task: attempt after attempt, each through its image plan. */
class UpgradeTask {
  private readonly state: ApplianceTaskOutcome;
  private readonly recorder: TaskRecorder<ApplianceUpgradeTaskStage>;
  private readonly call: { operationId: string; serial: string };
  private readonly safety: TaskSafety;
  private readonly attempts: number;
  private attempt = 1;
  /** This attempt started an install: the standby partition may have been written. */
  private installStarted = false;
  private healthFailed = false;

  constructor(private readonly input: ApplianceUpgradeTaskInput) {
    const { operationId, serial } = input;
    this.state = { serial, status: 'scheduled', stage: 'waiting' };
    setHandler(applianceTaskStateQuery, () => this.state);
    this.recorder = taskRecorder<ApplianceUpgradeTaskStage>(operationId, this.state);
    this.call = { operationId, serial };
    this.safety = input.safety ?? {};
    this.attempts = 1 + (this.safety.task_retries?.max ?? 0);
  }

  /** Attempt after attempt as the retry policy says; a failed one rolls back first when the policy says so. */
  async run(): Promise<ApplianceTaskOutcome> {
    for (; ; this.attempt++) {
      const result = await runAttempt(this.input, this.state, () => this.runStages());
      if (result.ok) break;
      if (result.end === 'cancelled') {
        await endTask(this.recorder, result);
        break;
      }
      const { message, cancelled } = this.rollsBack()
        ? await this.rollBack(result.message)
        : { message: result.message };
      const delayMs = cancelled ? undefined : retryDelayMs(this.safety.task_retries, this.attempt, result.end);
      if (delayMs === undefined) {
        await endTask(this.recorder, { ...result, message, ...(cancelled ? { end: 'cancelled' as const } : {}) });
        break;
      }
      if (!(await this.beforeRetry(result, message, delayMs))) break;
    }
    return this.state;
  }

  /** One attempt's stages: initiating, the image plan's hops, the health check, completed. */
  private async runStages(): Promise<void> {
    const { kind, target_version } = this.input;
    const { state, recorder } = this;
    this.installStarted = false;
    this.healthFailed = false;
    state.taskStartMs ??= Date.now();
    const of = this.attempts > 1 ? ` (attempt ${this.attempt} of ${this.attempts})` : '';
    await recorder.enter('running', 'initiating', `${kind} to ${target_version.version_id} started${of}`);
    const info = await deviceCalls.readApplianceInfo(this.call);
    state.current_version = info.running_version;
    state.previous_version ??= info.running_version;
    await this.installThroughPlan(info);
    await this.healthCheck();
    await recorder.enter('successful', 'completed', `${kind} to ${target_version.version_id} completed`, 'notice');
  }

  /** The image plan's hops from the running version to the target, each installed (and activated before the next). */
  private async installThroughPlan(info: DeviceInfo): Promise<void> {
    const { kind, product_code, target_version, reboot } = this.input;
    const refusal = taskStartRefusal(kind, info, product_code);
    if (refusal) throw new TaskFailed(refusal);
    const { product_code: product, arch, running_version: current_version } = info;
    const plan = await imagePlans.planImages({
      ...this.call,
      kind,
      product_code: product,
      arch,
      current_version,
      target_version,
    });
    if (!plan.ok) throw new TaskFailed(plan.message);
    const { hops } = plan;
    if (hops.length > 1) {
      const chain = [current_version.version_id, ...hops.map((h) => h.request.target_version.version_id)].join(' → ');
      this.recorder.logWithNextWrite(`the target takes ${hops.length} images: ${chain}`);
    }
    for (const [i, hop] of hops.entries()) {
      const to = hop.request.target_version;
      await this.installHop(hop, hops.length > 1 ? ` (step ${i + 1} of ${hops.length})` : '');
      if (i < hops.length - 1) await this.activate(to, `rebooting to run ${to.version_id} before the next image`);
      else if (reboot) await this.activate(target_version, 'rebooting to activate the new partition');
    }
  }

  /** Stage (and patch) one image, then install it on the standby partition. */
  private async installHop(hop: ImageHop, step: string): Promise<void> {
    const { enter, logWithNextWrite } = this.recorder;
    const to = hop.request.target_version.version_id;
    await enter(
      'running',
      'downloading',
      `downloading ${hop.delta ? 'delta' : 'full'} image ${hop.image_id} (${hop.repository} repository) for ${to}${step}`,
    );
    await this.deviceJob({ kind: 'stage', request: hop.request }, to);
    logWithNextWrite(`image staged from ${hop.request.url}`);
    if (hop.delta) {
      await enter('running', 'patching', `patching ${hop.from_version_id} to ${to} with the delta image${step}`);
      await this.deviceJob({ kind: 'patch', request: { version_id: to } }, to);
    }
    await enter('running', 'installing', `installing ${to}${step}`);
    await this.deviceJob({ kind: 'install', request: { version_id: to, esxi_force: this.input.esxi_force } }, to);
    logWithNextWrite(`${to} installed on the standby partition`);
  }

  /** Reboots to the standby partition and checks the appliance came back running `version`. */
  private async activate(version: Version, why: string): Promise<void> {
    await this.recorder.log(why);
    await this.deviceJob({ kind: 'reboot', request: { switch_partition: true } }, version.version_id);
    const after = await deviceCalls.readApplianceInfo(this.call);
    this.state.current_version = after.running_version;
    if (after.running_version.version_id !== version.version_id) {
      throw new TaskFailed(
        `appliance came back running ${after.running_version.version_id}, expected ${version.version_id}`,
      );
    }
    this.recorder.logWithNextWrite(`appliance is running ${after.running_version.version_id}`);
    this.recorder.setRunningVersion(after.running_version);
  }

  /** Runs a device job to its end; the key is stable across retries and replays of one step of one attempt towards one version. */
  private deviceJob(job: DeviceJobStart, versionId: string): Promise<void> {
    if (job.kind === 'install') this.installStarted = true;
    const idempotencyKey = `${this.keyPrefix()}:${job.kind}:${versionId}`;
    return runDeviceJob(this.call, job, { idempotencyKey, onStopped: this.recorder.logWithNextWrite });
  }

  /** Unique to this workflow and attempt: every device job's idempotency key starts with it. */
  private keyPrefix(): string {
    return `${workflowInfo().workflowId}:attempt-${this.attempt}`;
  }

  /** After the task's own final reboot: the appliance must report healthy within the policy's probes. */
  private async healthCheck(): Promise<void> {
    const policy = this.safety.health_check;
    if (!policy || !this.input.reboot) return;
    const settle = formatDuration(policy.settle_seconds * 1000);
    const apart = formatDuration(policy.interval_seconds * 1000);
    await this.recorder.enter(
      'running',
      'health_check',
      `health check: waiting ${settle} for the appliance to settle, then up to ${policy.probes} probe(s) ${apart} apart`,
    );
    const problem = await waitUntilHealthy(this.call, policy, this.recorder);
    if (problem) {
      this.healthFailed = true;
      throw new TaskFailed(problem);
    }
  }

  /** A failed attempt rolls back when the policy says so and the attempt may have changed the appliance. */
  private rollsBack(): boolean {
    return (
      rollsBackOnFailure(this.safety.rollback) &&
      (this.healthFailed || this.installStarted) &&
      this.state.previous_version !== undefined
    );
  }

  /** Returns the appliance to the version it ran before the task; answers the task's final message (and whether the task was cancelled meanwhile). */
  private async rollBack(reason: string): Promise<{ message: string; cancelled?: true }> {
    const { state, recorder, input } = this;
    const previous = state.previous_version!;
    await recorder.enter('running', 'rolling_back', `${reason}; rolling back to ${previous.version_id}`, 'warning');
    const ctx = {
      call: this.call,
      kind: input.kind,
      esxi_force: input.esxi_force,
      keyPrefix: this.keyPrefix(),
      taskLog: recorder,
      onStopped: recorder.logWithNextWrite,
    };
    let step = 'none';
    const result = await runAttempt(input, state, async () => {
      step = await returnToVersion(ctx, previous);
    });
    if (!result.ok && result.end === 'cancelled')
      return {
        message: `${reason}; rollback to ${previous.version_id} cancelled in stage ${state.stage}`,
        cancelled: true,
      };
    if (!result.ok) return { message: `${reason}; rollback to ${previous.version_id} failed: ${result.message}` };
    state.current_version = previous;
    return {
      message:
        step === 'none'
          ? `${reason}; the appliance still runs ${previous.version_id}`
          : rolledBackMessage(reason, previous),
    };
  }

  /** Logs the failed attempt and waits out the backoff; false when the task was cancelled meanwhile. */
  private async beforeRetry(result: FailedAttempt, message: string, delayMs: number): Promise<boolean> {
    const { attempt, attempts } = this;
    const when = delayMs ? `in ${formatDuration(delayMs)}` : 'now';
    try {
      await this.recorder.log(
        `attempt ${attempt} of ${attempts} ${result.end === 'timed_out' ? 'timed out' : 'failed'}: ${message}; attempt ${attempt + 1} ${when}`,
        'warning',
      );
      if (delayMs) await sleep(delayMs);
      return true;
    } catch (err) {
      if (!isCancellation(err)) throw err;
      await endTask(this.recorder, {
        ok: false,
        end: 'cancelled',
        message: `cancelled while waiting to retry: ${message}`,
      });
      return false;
    }
  }
}
