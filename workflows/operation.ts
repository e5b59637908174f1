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
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { StoreActivities } from '../activities/store-activities';
import { applianceTaskWorkflowId, createdMessage, finalOperationStatus, operationWorkflowId, secondsToMs, taskFields, type OperationKind } from '../domain/operation';
import { failureThresholdReached, planWaves } from '../domain/rollout';
import type { OperationStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { applianceRebootTask } from './appliance-reboot-task';
import { applianceUpgradeTask } from './appliance-upgrade-task';
import { line } from './task-lifecycle';
import {
  cancelApplianceTaskUpdate,
  DEFAULT_TASK_TIMEOUT_MS,
  pauseOperationSignal,
  precedingOperationFinishedSignal,
  resumeOperationSignal,
  upgradeOperationStateQuery,
  type ApplianceTaskOutcome,
  type OperationDoc,
  type OperationInput,
  type OperationState,
  type PrecedingOutcome,
} from './types';

const record = proxyLocalActivities<StoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
});

export const upgradeOperation = (input: OperationInput): Promise<OperationState> => runOperation('upgrade', input);
export const downgradeOperation = (input: OperationInput): Promise<OperationState> => runOperation('downgrade', input);
export const rebootOperation = (input: OperationInput): Promise<OperationState> => runOperation('reboot', input);

/** Whether an upgrade/downgrade leaves its reboot to a linked reboot operation. */
const defersReboot = (kind: OperationKind, input: OperationInput): boolean => kind !== 'reboot' && input.operation.reboot_id !== undefined;

async function runOperation(kind: OperationKind, input: OperationInput): Promise<OperationState> {
  const operation = { ...input.operation };
  const policy = input.rollout ?? {};
  const tasks = new Map<string, ApplianceTaskOutcome>(
    operation.appliances.map((serial) => [serial, { serial, status: 'scheduled', stage: 'waiting' }]),
  );
  let paused = false;
  /** The operation is in the store (writes about it must come after). */
  let recorded = false;
  let stopReason: string | undefined;
  let inFlight = 0;
  const counts = { finished: 0, failed: 0 };
  const state = (): OperationState => ({ operation, tasks: [...tasks.values()], paused, ...(stopReason ? { stop_reason: stopReason } : {}) });
  setHandler(upgradeOperationStateQuery, state);

  // One cancellation scope per started task, so a single task can be cancelled.
  const taskScopes = new Map<string, CancellationScope>();
  const cancelRequested = new Set<string>();
  setHandler(
    cancelApplianceTaskUpdate,
    async (serial) => {
      const task = tasks.get(serial)!;
      if (task.status !== 'scheduled' && task.status !== 'running') return task.status;
      cancelRequested.add(serial);
      taskScopes.get(serial)?.cancel();
      return 'cancelled';
    },
    {
      validator: (serial) => {
        if (!tasks.has(serial)) throw new Error(`appliance ${serial} is not part of operation ${operation.id}`);
      },
    },
  );
  const setPaused = async (value: boolean): Promise<void> => {
    if (paused === value) return;
    paused = value;
    // A signal can arrive before the operation is in the store; its record must come after.
    await condition(() => recorded);
    await record.recordOperationStatus({ operationId: operation.id, status: operation.status, paused, log: line(paused ? 'paused: no new task starts until resumed' : 'resumed') });
  };
  setHandler(pauseOperationSignal, () => setPaused(true));
  setHandler(resumeOperationSignal, () => setPaused(false));

  const setStatus = async (status: OperationStatus, message: string): Promise<void> => {
    operation.status = status;
    upsertSearchAttributes([{ key: SA.operationStatus, value: status }]);
    await record.recordOperationStatus({ operationId: operation.id, status, log: line(message, status === 'failed' ? 'err' : 'info') });
  };
  const stop = async (reason: string): Promise<void> => {
    if (stopReason) return;
    stopReason = reason;
    await record.recordOperationStatus({ operationId: operation.id, status: operation.status, stop_reason: reason, log: line(reason, 'warning') });
  };

  // A reboot that follows an upgrade/downgrade reboots only the appliances whose install succeeded.
  let preceding: PrecedingOutcome | undefined;
  setHandler(precedingOperationFinishedSignal, (outcome) => {
    preceding = outcome;
  });

  await record.recordOperation({
    kind,
    operation: { ...operation, status: 'scheduled' },
    taskFields: taskFields(kind, operation),
    log: line(createdMessage(kind, operation)),
  });
  recorded = true;
  await setStatus('scheduled', input.startAtMs !== undefined ? `scheduled for ${new Date(input.startAtMs).toISOString()}` : 'starting now');

  const taskTimeoutMs = input.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  const childOptions = (serial: string) => ({
    workflowId: applianceTaskWorkflowId(kind, operation.id, serial),
    typedSearchAttributes: [
      { key: SA.operationId, value: operation.id },
      { key: SA.operationKind, value: kind },
      ...(operation.product_code ? [{ key: SA.productCode, value: operation.product_code }] : []),
      { key: SA.username, value: operation.username },
      { key: SA.serial, value: serial },
      { key: SA.taskStatus, value: 'scheduled' },
      { key: SA.taskStage, value: 'waiting' },
    ],
    cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
  });

  /** One appliance's task workflow, of the operation's kind. */
  function executeTask(serial: string): Promise<ApplianceTaskOutcome> {
    const startAtMs = input.startAtBySerial?.[serial];
    const timing = { taskTimeoutMs, ...(startAtMs !== undefined ? { startAtMs } : {}) };
    if (kind === 'reboot') {
      return executeChild(applianceRebootTask, {
        ...childOptions(serial),
        args: [{ operationId: operation.id, serial, switch_partition: operation.switch_partition === true, ...(preceding?.target_version ? { expectVersion: preceding.target_version } : {}), ...timing }],
        memo: { switch_partition: operation.switch_partition === true },
      });
    }
    const target_version = operation.target_version!;
    const reboot = operation.reboot === true && !defersReboot(kind, input);
    return executeChild(applianceUpgradeTask, {
      ...childOptions(serial),
      args: [{ ...(kind === 'downgrade' ? { kind } : {}), operationId: operation.id, serial, product_code: operation.product_code!, target_version, reboot, esxi_force: operation.esxi_force ?? false, ...timing }],
      memo: { target_version: target_version.version_id, reboot },
    });
  }

  /** Runs one appliance's task to its end, then checks the failure threshold. */
  async function runTask(serial: string): Promise<void> {
    inFlight++;
    tasks.set(serial, { serial, status: 'running', stage: 'initiating' });
    const scope = new CancellationScope();
    taskScopes.set(serial, scope);
    try {
      const outcome = await scope.run(() => executeTask(serial));
      tasks.set(serial, outcome);
    } catch (err) {
      // This task (or the whole operation) was cancelled. A child that ran has recorded its own
      // final state; one cancelled before it started is recorded here.
      if (!isCancellation(err)) throw err;
      const message = cancelRequested.has(serial) ? 'cancelled by request' : 'operation cancelled';
      tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message });
      await CancellationScope.nonCancellable(() => record.recordTasksCancelled({ operationId: operation.id, serials: [serial], log: line(message, 'warning') }));
    } finally {
      taskScopes.delete(serial);
      inFlight--;
    }
    counts.finished++;
    if (tasks.get(serial)!.status === 'failed') counts.failed++;
    const reason = failureThresholdReached(counts, policy);
    if (reason) await stop(`rollout stopped: ${reason}`);
  }

  let cancelled = false;
  try {
    if (input.startAtMs !== undefined && input.startAtMs > Date.now()) await sleep(input.startAtMs - Date.now());
    if (kind === 'reboot' && (operation.upgrade_id ?? operation.downgrade_id) !== undefined) {
      await condition(() => preceding !== undefined);
      const successful = new Set(preceding!.successful);
      const skipped = operation.appliances.filter((serial) => !successful.has(serial));
      const enabled = operation.appliances.filter((serial) => successful.has(serial));
      if (enabled.length) await record.recordTaskChanges({ operationId: operation.id, serials: enabled, changes: { deferred: true } });
      const reason = `not rebooted: its ${preceding!.kind} did not succeed`;
      for (const serial of skipped) tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: reason });
      if (skipped.length) await record.recordTasksCancelled({ operationId: operation.id, serials: skipped, log: line(reason, 'warning') });
    }
    await setStatus('running', 'running: starting the appliance tasks');
    const windowEndMs = policy.maintenance_window_end !== undefined ? secondsToMs(policy.maintenance_window_end) : undefined;
    const maxInFlight = policy.max_in_flight ?? Number.POSITIVE_INFINITY;
    const mayStart = (): boolean => stopReason !== undefined || (!paused && inFlight < maxInFlight);

    for (const wave of planWaves(operation.appliances, policy)) {
      const running: Promise<void>[] = [];
      for (const serial of wave) {
        if (windowEndMs !== undefined) {
          const open = windowEndMs > Date.now() && (await condition(mayStart, windowEndMs - Date.now()));
          if (!open) await stop(`maintenance window closed at ${new Date(windowEndMs).toISOString()}: no new task starts`);
        } else {
          await condition(mayStart);
        }
        if (stopReason) break;
        if (tasks.get(serial)!.status !== 'scheduled') continue;
        if (cancelRequested.has(serial)) {
          tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: 'cancelled before it started' });
          await record.recordTasksCancelled({ operationId: operation.id, serials: [serial], log: line('cancelled before it started', 'warning') });
          continue;
        }
        running.push(runTask(serial));
      }
      await Promise.all(running);
      if (stopReason) break;
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = true;
  }

  // Tasks that never started end `cancelled`, with the reason.
  const unstarted = [...tasks.values()].filter((task) => task.status === 'scheduled').map((t) => t.serial);
  if (unstarted.length) {
    const reason = cancelled ? 'cancelled before it started' : `not started: ${stopReason ?? 'operation ended'}`;
    for (const serial of unstarted) tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: reason });
    await CancellationScope.nonCancellable(() => record.recordTasksCancelled({ operationId: operation.id, serials: unstarted, log: line(reason, 'warning') }));
  }
  const final = finalOperationStatus([...tasks.values()].map((t) => t.status));
  const tally = [...tasks.values()].reduce<Record<string, number>>((acc, t) => ({ ...acc, [t.status]: (acc[t.status] ?? 0) + 1 }), {});
  await CancellationScope.nonCancellable(() => setStatus(final, `finished ${final}: ${Object.entries(tally).map(([s, n]) => `${n} ${s}`).join(', ')}`));
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
