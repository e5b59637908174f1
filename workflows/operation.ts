/**
 * Upgrade, downgrade and reboot operations: scheduled until their time, then one appliance task
 * (child workflow) per appliance, wave after wave as the rollout policy says (all at once by
 * default), never more than `max_in_flight` at a time, stopping early at the failure threshold or
 * the end of the maintenance window. The final status follows from the tasks' (successful /
 * partially_successful / failed / cancelled). An operation can be paused and resumed, one task
 * can be cancelled, or all of it.
 *
 * Deferred reboot: an upgrade or downgrade with `reboot` and a `reboot_time` installs without
 * rebooting, and a linked reboot operation (its `reboot_id`) reboots, at that time and once the
 * install has finished, the appliances whose install succeeded.
 */
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  log as workflowLog,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  createdMessage,
  finalOperationStatus,
  operationWorkflowId,
  type Operation,
  type OperationKind,
} from '../domain/operation';
import { TASKS_PER_BATCH, type RolloutPolicy } from '../domain/rollout';
import { taskSafety } from '../domain/rollout-safety';
import type { ApplianceTaskStatus, OperationStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { BatchedTasks, DirectTasks, type OperationTasks, type TaskCounts } from './operation-tasks';
import { RolloutGates, showHold } from './rollout-gates';
import { rollBackAfterFailureThreshold } from './rollback';
import { logLine, storeWrites } from './task-lifecycle';
import { cancelledDuring, TaskRunner, type TaskSpec } from './task-runner';
import {
  cancelApplianceTaskUpdate,
  DEFAULT_TASK_TIMEOUT_MS,
  operationStateQuery,
  pauseOperationSignal,
  precedingOperationFinishedSignal,
  progressStalledSignal,
  resumeOperationSignal,
  stopRolloutSignal,
  type ApplianceTaskOutcome,
  type OperationInput,
  type OperationState,
  type PrecedingOutcome,
} from './types';

export const upgradeOperation = (input: OperationInput): Promise<OperationState> =>
  new OperationWorkflow('upgrade', input).run();
export const downgradeOperation = (input: OperationInput): Promise<OperationState> =>
  new OperationWorkflow('downgrade', input).run();
export const rebootOperation = (input: OperationInput): Promise<OperationState> =>
  new OperationWorkflow('reboot', input).run();

const tally = (counts: TaskCounts): string =>
  Object.entries(counts)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');

/** One operation: its state, what it answers, and its run from creation to final status. */
class OperationWorkflow {
  private readonly operation: Operation;
  private readonly policy: RolloutPolicy;
  /** The operation's tasks: their statuses, the stop of the rollout, one task's cancel. */
  private readonly runner: TaskRunner;
  /** Success threshold, approval and progress deadline (./rollout-gates.ts). */
  private readonly gates: RolloutGates;
  /** How the tasks run: directly, or in batch workflows (./operation-tasks.ts). */
  private readonly tasks: OperationTasks;
  private paused = false;
  private pauseReason: string | undefined;
  /** The operation is in the store (writes about it must come after). */
  private recorded = false;
  /** A reboot that follows an upgrade/downgrade: that one's outcome (which appliances to reboot). */
  private preceding: PrecedingOutcome | undefined;

  constructor(
    private readonly kind: OperationKind,
    private readonly input: OperationInput,
  ) {
    this.operation = { ...input.operation };
    this.policy = input.rollout ?? {};
    this.runner = new TaskRunner(this.operation.appliances, {
      spec: () => this.taskSpec(),
      policy: this.policy,
      operationStatus: () => this.operation.status,
      paused: () => this.paused,
      betweenWaves: (wave, waves, serials) => this.gates.afterWave(wave, waves, serials),
      onStalled: (reason) => this.gates.onStalled(reason),
      onStop: (reason) => this.tasks.passOn(stopRolloutSignal, reason),
    });
    this.gates = new RolloutGates({
      operationId: this.operation.id,
      policy: this.policy,
      status: () => this.operation.status,
      tasks: this.runner.tasks,
      stop: (reason) => this.runner.stop(reason),
      stopped: () => this.runner.stopReason !== undefined,
      pause: (reason) => this.setPaused(true, reason),
    });
    this.tasks = this.chooseTasks();
    this.setHandlers();
  }

  /** Recorded, scheduled until its time, its tasks run (or it is cancelled), then its final status. */
  async run(): Promise<OperationState> {
    // The status only moves forward: an operation that starts at once is `running` from its creation.
    const { startAtMs } = this.input;
    const startsLater = startAtMs !== undefined && startAtMs > Date.now();
    await this.recordCreated(startsLater ? startAtMs : undefined);
    const cancelled = await cancelledDuring(async () => {
      if (startsLater) await sleep(startAtMs - Date.now());
      if (this.followsInstall()) await this.rebootOnlyWhereInstalled();
      await this.setStatus('running', 'running: starting the appliance tasks');
      await this.tasks.run();
      await this.rollBackIfStopped();
    });
    await this.finish(cancelled);
    return this.state();
  }

  /** Large operations run their tasks in batch workflows (bounded histories); the rest directly. */
  private chooseTasks(): OperationTasks {
    const tasksPerBatch = this.input.tasksPerBatch ?? TASKS_PER_BATCH;
    if (this.operation.appliances.length <= tasksPerBatch) return new DirectTasks(this.runner, this.policy);
    return new BatchedTasks(this.runner, {
      kind: this.kind,
      operation: this.operation,
      policy: this.policy,
      tasksPerBatch,
      ...(this.input.startAtBySerial ? { startAtBySerial: this.input.startAtBySerial } : {}),
      spec: () => this.taskSpec(),
      paused: () => this.paused,
      betweenWaves: (wave, waves, serials) => this.gates.afterWave(wave, waves, serials),
    });
  }

  private setHandlers(): void {
    setHandler(operationStateQuery, () => this.state());
    setHandler(cancelApplianceTaskUpdate, (serial) => this.cancelTask(serial), {
      validator: (serial: string) => {
        if (!this.runner.tasks.has(serial))
          throw new Error(`appliance ${serial} is not part of operation ${this.operation.id}`);
      },
    });
    setHandler(pauseOperationSignal, () => this.setPaused(true));
    setHandler(resumeOperationSignal, () => this.setPaused(false));
    // A batch's tasks have stalled: the gate pauses or stops the whole operation.
    setHandler(progressStalledSignal, (reason) => this.gates.onStalled(reason));
    setHandler(precedingOperationFinishedSignal, (outcome) => {
      this.preceding = outcome;
    });
  }

  /** What every appliance task starts with (read when each starts: a reboot learns its version late). */
  private taskSpec(): TaskSpec {
    const { operation, input, kind } = this;
    return {
      kind,
      operationId: operation.id,
      username: operation.username,
      ...(operation.product_code ? { product_code: operation.product_code } : {}),
      ...(operation.target_version ? { target_version: operation.target_version } : {}),
      reboot: operation.reboot === true && !this.defersReboot(),
      esxi_force: operation.esxi_force ?? false,
      switch_partition: operation.switch_partition === true,
      ...(this.preceding?.target_version ? { expectVersion: this.preceding.target_version } : {}),
      taskTimeoutMs: input.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
      ...(input.startAtBySerial ? { startAtBySerial: input.startAtBySerial } : {}),
      safety: taskSafety(operation),
    };
  }

  private state(): OperationState {
    return {
      operation: this.operation,
      ...this.tasks.stateTasks(),
      paused: this.paused,
      ...(this.runner.stopReason ? { stop_reason: this.runner.stopReason } : {}),
      ...(this.gates.approval ? { approval: this.gates.approval } : {}),
      ...(this.pauseReason ? { pause_reason: this.pauseReason } : {}),
    };
  }

  /** Whether an upgrade/downgrade leaves its reboot to a linked reboot operation. */
  private defersReboot(): boolean {
    return this.kind !== 'reboot' && this.operation.reboot_id !== undefined;
  }

  /** A reboot operation linked to an upgrade or downgrade: it reboots once that one has installed. */
  private followsInstall(): boolean {
    return this.kind === 'reboot' && (this.operation.upgrade_id ?? this.operation.downgrade_id) !== undefined;
  }

  /** Recorded even when a cancel arrives at once: the cancel then ends it, in the store too. */
  private recordCreated(startAtMs: number | undefined): Promise<void> {
    return CancellationScope.nonCancellable(async () => {
      await storeWrites.recordOperation({
        kind: this.kind,
        operation: { ...this.operation, status: startAtMs !== undefined ? 'scheduled' : 'running' },
        ...(this.input.startAtBySerial ? { startAtBySerial: this.input.startAtBySerial } : {}),
        log: logLine(createdMessage(this.kind, this.operation)),
      });
      this.recorded = true;
      if (startAtMs !== undefined)
        await this.setStatus('scheduled', `scheduled for ${new Date(startAtMs).toISOString()}`);
    });
  }

  /** Waits for the install's outcome: its appliances whose install did not succeed are not rebooted. */
  private async rebootOnlyWhereInstalled(): Promise<void> {
    await condition(() => this.preceding !== undefined);
    const { id: operationId, appliances } = this.operation;
    const successful = new Set(this.preceding!.successful);
    const enabled = appliances.filter((serial) => successful.has(serial));
    const skipped = appliances.filter((serial) => !successful.has(serial));
    if (enabled.length)
      await storeWrites.recordTaskChanges({ operationId, serials: enabled, changes: { deferred: true } });
    const reason = `not rebooted: its ${this.preceding!.kind} did not succeed`;
    for (const serial of skipped)
      this.runner.tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: reason });
    if (skipped.length)
      await storeWrites.recordTasksCancelled({ operationId, serials: skipped, log: logLine(reason, 'warning') });
  }

  /** With `rollback: "all"`, once the failure threshold stopped the rollout (./rollback.ts). */
  private rollBackIfStopped(): Promise<void> {
    const { kind, operation, policy, runner } = this;
    const { stopReason } = runner;
    const { taskTimeoutMs } = this.taskSpec();
    return rollBackAfterFailureThreshold({
      kind,
      operation,
      policy,
      stopReason,
      counts: this.tasks.counts,
      tasks: runner.tasks,
      taskTimeoutMs,
    });
  }

  /** Tasks not started end cancelled; the operation's final status follows from its tasks'. */
  private async finish(cancelled: boolean): Promise<void> {
    await this.runner.endUnstarted(cancelled);
    const final = await this.tasks.finalCounts();
    const statuses = Object.entries(final).flatMap(([s, n]) =>
      Array<ApplianceTaskStatus>(n).fill(s as ApplianceTaskStatus),
    );
    const status = finalOperationStatus(statuses);
    await CancellationScope.nonCancellable(() => this.setStatus(status, `finished ${status}: ${tally(final)}`));
    if (this.defersReboot())
      await CancellationScope.nonCancellable(() =>
        handOverToReboot(this.kind, this.operation, [...this.runner.tasks.values()]),
      );
  }

  /** The update's handler: the task's record must come after the operation's. */
  private async cancelTask(serial: string): Promise<ApplianceTaskStatus> {
    await condition(() => this.recorded);
    return this.runner.cancel(serial);
  }

  /** Pause (by an operator, or by a rollout gate with its reason) or resume. */
  private async setPaused(value: boolean, reason?: string): Promise<void> {
    if (this.paused === value) return;
    this.paused = value;
    this.pauseReason = value ? reason : undefined;
    showHold(value ? 'paused' : this.gates.approval?.state === 'awaiting' ? 'awaiting_approval' : 'none');
    // A signal can arrive before the operation is in the store; its record must come after.
    await condition(() => this.recorded);
    const message = !value
      ? 'resumed'
      : reason
        ? `paused: ${reason}; resume to go on`
        : 'paused: no new task starts until resumed';
    const { pauseReason } = this;
    await storeWrites.recordOperationStatus({
      operationId: this.operation.id,
      status: this.operation.status,
      paused: value,
      ...(pauseReason ? { pause_reason: pauseReason } : {}),
      log: logLine(message, reason ? 'warning' : 'info'),
    });
    await this.tasks.passOn(value ? pauseOperationSignal : resumeOperationSignal);
  }

  private async setStatus(status: OperationStatus, message: string): Promise<void> {
    this.operation.status = status;
    upsertSearchAttributes([{ key: SA.operationStatus, value: status }]);
    await storeWrites.recordOperationStatus({
      operationId: this.operation.id,
      status,
      log: logLine(message, status === 'failed' ? 'err' : 'info'),
    });
  }
}

/** Tells the linked reboot operation which appliances it may reboot. */
async function handOverToReboot(
  kind: OperationKind,
  operation: Operation,
  tasks: ApplianceTaskOutcome[],
): Promise<void> {
  const successful = tasks.filter((t) => t.status === 'successful').map((t) => t.serial);
  const operationId = operation.id;
  const rebootId = operation.reboot_id!;
  try {
    await getExternalWorkflowHandle(operationWorkflowId('reboot', String(rebootId))).signal(
      precedingOperationFinishedSignal,
      {
        kind,
        id: operationId,
        successful,
        ...(operation.target_version ? { target_version: operation.target_version } : {}),
      },
    );
  } catch (err) {
    // The reboot operation was cancelled (or has ended): there is nothing to hand over to.
    workflowLog.warn('linked reboot operation did not take the hand-over', {
      operationId,
      rebootId,
      error: (err as Error).message,
    });
  }
}
