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
  ChildWorkflowCancellationType,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  log as workflowLog,
  ParentClosePolicy,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { createdMessage, finalOperationStatus, operationWorkflowId, type OperationKind } from '../domain/operation';
import { byStartInstant, failureThresholdReached, planBatches, planWaves, TASKS_PER_BATCH, type RolloutCounts } from '../domain/rollout';
import { taskSafety } from '../domain/rollout-safety';
import type { ApplianceTaskStatus, OperationStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { applianceTaskBatch } from './appliance-task-batch';
import { RolloutGates, showHold } from './rollout-gates';
import { rollBackAfterFailureThreshold } from './rollback';
import { line, storeWrites } from './task-lifecycle';
import { TaskRunner, type TaskSpec } from './task-runner';
import {
  cancelApplianceTaskSignal,
  cancelApplianceTaskUpdate,
  DEFAULT_TASK_TIMEOUT_MS,
  pauseOperationSignal,
  precedingOperationFinishedSignal,
  progressStalledSignal,
  resumeOperationSignal,
  stopRolloutSignal,
  upgradeOperationStateQuery,
  type ApplianceTaskOutcome,
  type OperationDoc,
  type OperationInput,
  type OperationState,
  type PrecedingOutcome,
} from './types';

export const upgradeOperation = (input: OperationInput): Promise<OperationState> => runOperation('upgrade', input);
export const downgradeOperation = (input: OperationInput): Promise<OperationState> => runOperation('downgrade', input);
export const rebootOperation = (input: OperationInput): Promise<OperationState> => runOperation('reboot', input);

/** Whether an upgrade/downgrade leaves its reboot to a linked reboot operation. */
const defersReboot = (kind: OperationKind, input: OperationInput): boolean => kind !== 'reboot' && input.operation.reboot_id !== undefined;

const tally = (statuses: Partial<Record<ApplianceTaskStatus, number>>): string =>
  Object.entries(statuses)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');

async function runOperation(kind: OperationKind, input: OperationInput): Promise<OperationState> {
  const operation = { ...input.operation };
  const policy = input.rollout ?? {};
  // Large operations run their tasks in batch workflows (bounded histories); the rest directly.
  const tasksPerBatch = input.tasksPerBatch ?? TASKS_PER_BATCH;
  const batched = operation.appliances.length > tasksPerBatch;
  let paused = false;
  /** The operation is in the store (writes about it must come after). */
  let recorded = false;
  // A reboot that follows an upgrade/downgrade reboots only the appliances whose install succeeded.
  let preceding: PrecedingOutcome | undefined;
  const spec = (): TaskSpec => ({
    kind,
    operationId: operation.id,
    username: operation.username,
    ...(operation.product_code ? { product_code: operation.product_code } : {}),
    ...(operation.target_version ? { target_version: operation.target_version } : {}),
    reboot: operation.reboot === true && !defersReboot(kind, input),
    esxi_force: operation.esxi_force ?? false,
    switch_partition: operation.switch_partition === true,
    ...(preceding?.target_version ? { expectVersion: preceding.target_version } : {}),
    taskTimeoutMs: input.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
    ...(input.startAtBySerial ? { startAtBySerial: input.startAtBySerial } : {}),
    safety: taskSafety(operation),
  });
  let pauseReason: string | undefined;
  const runner: TaskRunner = new TaskRunner(operation.appliances, {
    spec,
    policy,
    operationStatus: () => operation.status,
    paused: () => paused,
    betweenWaves: (wave, waves, serials): Promise<void> => gates.afterWave(wave, waves, serials),
    onStalled: (reason): Promise<void> => gates.onStalled(reason),
  });
  const { tasks } = runner;
  // Success threshold, approval and progress deadline (./rollout-gates.ts).
  const gates: RolloutGates = new RolloutGates({
    operationId: operation.id,
    policy,
    status: () => operation.status,
    tasks,
    stop: (reason) => stopRollout(reason),
    stopped: () => runner.stopReason !== undefined,
    pause: (reason) => setPaused(true, reason),
  });
  const counts = (): Partial<Record<ApplianceTaskStatus, number>> => [...tasks.values()].reduce<Partial<Record<ApplianceTaskStatus, number>>>((acc, t) => ({ ...acc, [t.status]: (acc[t.status] ?? 0) + 1 }), {});
  const state = (): OperationState => ({
    operation,
    tasks: batched ? [] : [...tasks.values()],
    paused,
    ...(runner.stopReason ? { stop_reason: runner.stopReason } : {}),
    ...(batched ? { task_counts: counts(), tasks_omitted: true } : {}),
    ...(gates.approval ? { approval: gates.approval } : {}),
    ...(pauseReason ? { pause_reason: pauseReason } : {}),
  });
  setHandler(upgradeOperationStateQuery, state);

  /** Batches running now (workflow ids), and which batch runs each appliance. */
  const runningBatches = new Set<string>();
  const batchOf = new Map<string, string>();
  const cancelledBeforeBatch = new Set<string>();
  const toBatches = (signal: (id: string) => Promise<void>): Promise<void> => Promise.all([...runningBatches].map((id) => signal(id).catch(() => undefined))).then(() => undefined);

  setHandler(
    cancelApplianceTaskUpdate,
    async (serial) => {
      // Its record must come after the operation's.
      await condition(() => recorded);
      if (!batched) return runner.cancel(serial);
      const task = tasks.get(serial)!;
      if (task.status !== 'scheduled' && task.status !== 'running') return task.status;
      const batch = batchOf.get(serial);
      if (batch && runningBatches.has(batch)) await getExternalWorkflowHandle(batch).signal(cancelApplianceTaskSignal, serial);
      else {
        cancelledBeforeBatch.add(serial);
        await runner.recordCancelledBeforeStart(serial);
      }
      return 'cancelled';
    },
    {
      validator: (serial) => {
        if (!tasks.has(serial)) throw new Error(`appliance ${serial} is not part of operation ${operation.id}`);
      },
    },
  );
  /** Pause (by an operator, or by a rollout gate with its reason) or resume. */
  const setPaused = async (value: boolean, reason?: string): Promise<void> => {
    if (paused === value) return;
    paused = value;
    pauseReason = value ? reason : undefined;
    showHold(value ? 'paused' : gates.approval?.state === 'awaiting' ? 'awaiting_approval' : 'none');
    // A signal can arrive before the operation is in the store; its record must come after.
    await condition(() => recorded);
    const message = !paused ? 'resumed' : reason ? `paused: ${reason}; resume to go on` : 'paused: no new task starts until resumed';
    await storeWrites.recordOperationStatus({ operationId: operation.id, status: operation.status, paused, ...(pauseReason ? { pause_reason: pauseReason } : {}), log: line(message, reason ? 'warning' : 'info') });
    if (batched) await toBatches((id) => getExternalWorkflowHandle(id).signal(value ? pauseOperationSignal : resumeOperationSignal));
  };
  setHandler(pauseOperationSignal, () => setPaused(true));
  setHandler(resumeOperationSignal, () => setPaused(false));
  // A batch's tasks have stalled: the gate pauses or stops the whole operation.
  setHandler(progressStalledSignal, (reason) => gates.onStalled(reason));

  /** Stops the rollout, and a large operation's running batches with it. */
  async function stopRollout(reason: string): Promise<void> {
    await runner.stop(reason);
    if (batched) await toBatches((id) => getExternalWorkflowHandle(id).signal(stopRolloutSignal, runner.stopReason!));
  }

  const setStatus = async (status: OperationStatus, message: string): Promise<void> => {
    operation.status = status;
    upsertSearchAttributes([{ key: SA.operationStatus, value: status }]);
    await storeWrites.recordOperationStatus({ operationId: operation.id, status, log: line(message, status === 'failed' ? 'err' : 'info') });
  };

  setHandler(precedingOperationFinishedSignal, (outcome) => {
    preceding = outcome;
  });

  /** Tasks finished and failed in the batches that have ended. */
  const batchTotals: RolloutCounts = { finished: 0, failed: 0 };

  /** Runs one batch of tasks as a child workflow and takes in its outcomes. */
  async function runBatch(serials: string[], n: number, maxInFlight: number | undefined, counted: RolloutCounts): Promise<void> {
    const workflowId = `${operationWorkflowId(kind, operation.id)}-batch-${n}`;
    for (const serial of serials) batchOf.set(serial, workflowId);
    runningBatches.add(workflowId);
    const { waves: _waves, max_in_flight: _max, ...shared } = policy;
    try {
      const result = await executeChild(applianceTaskBatch, {
        workflowId,
        args: [{ spec: spec(), serials, policy: { ...shared, ...(maxInFlight !== undefined ? { max_in_flight: maxInFlight } : {}) }, counted, paused, cancelRequested: serials.filter((s) => cancelledBeforeBatch.has(s)) }],
        typedSearchAttributes: [
          { key: SA.operationId, value: operation.id },
          { key: SA.operationKind, value: kind },
          { key: SA.username, value: operation.username },
        ],
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      });
      for (const outcome of result.tasks) tasks.set(outcome.serial, outcome);
      batchTotals.finished += result.counts.finished;
      batchTotals.failed += result.counts.failed;
      if (result.stop_reason) await runner.stop(result.stop_reason, true);
      else {
        const reason = failureThresholdReached(batchTotals, policy);
        if (reason) await runner.stop(`rollout stopped: ${reason}`);
      }
    } finally {
      runningBatches.delete(workflowId);
    }
    if (runner.stopReason) await toBatches((id) => getExternalWorkflowHandle(id).signal(stopRolloutSignal, runner.stopReason!));
  }

  /** The waves of a large operation, each as batches, as many at once as max_in_flight allows. */
  async function runInBatches(serials: string[]): Promise<void> {
    let n = 0;
    const waves = planWaves(serials, policy);
    for (const [i, planned] of waves.entries()) {
      // In the order they are due, so the first batches are not those waiting longest.
      const wave = byStartInstant(planned, input.startAtBySerial);
      const plan = planBatches(wave, policy.max_in_flight, tasksPerBatch);
      const running = new Set<Promise<void>>();
      for (const batch of plan.batches) {
        await condition(() => running.size < plan.concurrent || runner.stopReason !== undefined);
        if (runner.stopReason) break;
        const started = runBatch(batch, ++n, plan.maxInFlightPerBatch, { ...batchTotals }).finally(() => running.delete(started));
        running.add(started);
      }
      await Promise.all(running);
      if (runner.stopReason) break;
      if (i < waves.length - 1) await gates.afterWave(i + 1, waves.length, planned);
      if (runner.stopReason) break;
    }
  }

  // The status only moves forward: an operation that starts at once is `running` from its creation.
  const startsLater = input.startAtMs !== undefined && input.startAtMs > Date.now();
  // Recorded even when a cancel arrives at once: the cancel then ends it below, in the store too.
  await CancellationScope.nonCancellable(async () => {
    await storeWrites.recordOperation({
      kind,
      operation: { ...operation, status: startsLater ? 'scheduled' : 'running' },
      ...(input.startAtBySerial ? { startAtBySerial: input.startAtBySerial } : {}),
      log: line(createdMessage(kind, operation)),
    });
    recorded = true;
    if (startsLater) await setStatus('scheduled', `scheduled for ${new Date(input.startAtMs!).toISOString()}`);
  });

  let cancelled = false;
  try {
    if (startsLater) await sleep(input.startAtMs! - Date.now());
    if (kind === 'reboot' && (operation.upgrade_id ?? operation.downgrade_id) !== undefined) {
      await condition(() => preceding !== undefined);
      const successful = new Set(preceding!.successful);
      const skipped = operation.appliances.filter((serial) => !successful.has(serial));
      const enabled = operation.appliances.filter((serial) => successful.has(serial));
      if (enabled.length) await storeWrites.recordTaskChanges({ operationId: operation.id, serials: enabled, changes: { deferred: true } });
      const reason = `not rebooted: its ${preceding!.kind} did not succeed`;
      for (const serial of skipped) tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: reason });
      if (skipped.length) await storeWrites.recordTasksCancelled({ operationId: operation.id, serials: skipped, log: line(reason, 'warning') });
    }
    await setStatus('running', 'running: starting the appliance tasks');
    if (batched) await runInBatches(operation.appliances.filter((serial) => tasks.get(serial)!.status === 'scheduled'));
    else await runner.run(planWaves(operation.appliances, policy));
    await rollBackAfterFailureThreshold({ kind, operation, policy, stopReason: runner.stopReason, counts: batched ? batchTotals : runner.counts, tasks, taskTimeoutMs: spec().taskTimeoutMs });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = true;
  }

  await runner.endUnstarted(cancelled);
  // A large operation's tasks in a cancelled batch reported nothing back: the store has them all.
  const final = batched ? await CancellationScope.nonCancellable(() => storeWrites.taskStatusCounts({ operationId: operation.id })) : counts();
  const status = finalOperationStatus(Object.entries(final).flatMap(([s, n]) => Array<ApplianceTaskStatus>(n).fill(s as ApplianceTaskStatus)));
  await CancellationScope.nonCancellable(() => setStatus(status, `finished ${status}: ${tally(final)}`));
  if (defersReboot(kind, input)) await CancellationScope.nonCancellable(() => handOverToReboot(kind, operation, [...tasks.values()]));
  return state();
}

/** Tells the linked reboot operation which appliances it may reboot. */
async function handOverToReboot(kind: OperationKind, operation: OperationDoc, tasks: ApplianceTaskOutcome[]): Promise<void> {
  const successful = tasks.filter((t) => t.status === 'successful').map((t) => t.serial);
  const operationId = operation.id;
  const rebootId = operation.reboot_id!;
  try {
    await getExternalWorkflowHandle(operationWorkflowId('reboot', String(rebootId))).signal(precedingOperationFinishedSignal, {
      kind,
      id: operationId,
      successful,
      ...(operation.target_version ? { target_version: operation.target_version } : {}),
    });
  } catch (err) {
    // The reboot operation was cancelled (or has ended): there is nothing to hand over to.
    workflowLog.warn('linked reboot operation did not take the hand-over', { operationId, rebootId, error: (err as Error).message });
  }
}
