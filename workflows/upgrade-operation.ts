/**
 * An upgrade operation: scheduled until its upgrade time, then one appliance task (child workflow)
 * per appliance, wave after wave as its rollout policy says (all at once by default), never more
 * than `max_in_flight` at a time, stopping early at the failure threshold or the end of the
 * maintenance window. Its final status follows from the tasks' (successful / partially_successful
 * / failed / cancelled). It can be paused and resumed, one task can be cancelled, or all of it.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { LogLine, StoreActivities } from '../activities/store-activities';
import { applianceTaskWorkflowId, finalOperationStatus, secondsToMs, upgradeCreatedMessage, upgradeTaskFields } from '../domain/operation';
import { failureThresholdReached, planWaves } from '../domain/rollout';
import type { OperationStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { applianceUpgradeTask } from './appliance-upgrade-task';
import {
  cancelApplianceTaskUpdate,
  DEFAULT_TASK_TIMEOUT_MS,
  pauseOperationSignal,
  resumeOperationSignal,
  upgradeOperationStateQuery,
  type ApplianceTaskOutcome,
  type UpgradeOperationInput,
  type UpgradeOperationState,
} from './types';

const record = proxyLocalActivities<StoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
});

const line = (message: string, severity: LogLine['severity'] = 'info'): LogLine => ({ message, severity, timestamp: Math.floor(Date.now() / 1000) });

export async function upgradeOperation(input: UpgradeOperationInput): Promise<UpgradeOperationState> {
  const operation = { ...input.operation };
  const policy = input.rollout ?? {};
  const tasks = new Map<string, ApplianceTaskOutcome>(
    operation.appliances.map((serial) => [serial, { serial, status: 'scheduled', stage: 'waiting' }]),
  );
  let paused = false;
  let stopReason: string | undefined;
  let inFlight = 0;
  const counts = { finished: 0, failed: 0 };
  const state = (): UpgradeOperationState => ({ operation, tasks: [...tasks.values()], paused, ...(stopReason ? { stop_reason: stopReason } : {}) });
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

  const { target_version, reboot, esxi_force } = operation;
  await record.recordOperation({
    kind: 'upgrade',
    operation: { ...operation, status: 'scheduled' },
    taskFields: upgradeTaskFields(operation),
    log: line(upgradeCreatedMessage(operation)),
  });
  await setStatus('scheduled', input.startAtMs !== undefined ? `scheduled for ${new Date(input.startAtMs).toISOString()}` : 'starting now');

  /** Runs one appliance's task to its end, then checks the failure threshold. */
  async function runTask(serial: string): Promise<void> {
    inFlight++;
    tasks.set(serial, { serial, status: 'running', stage: 'initiating' });
    const scope = new CancellationScope();
    taskScopes.set(serial, scope);
    try {
      const outcome = await scope.run(() =>
        executeChild(applianceUpgradeTask, {
          workflowId: applianceTaskWorkflowId('upgrade', operation.id, serial),
          args: [
            {
              operationId: operation.id,
              serial,
              product_code: operation.product_code,
              target_version,
              reboot,
              esxi_force: esxi_force ?? false,
              taskTimeoutMs: input.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
            },
          ],
          typedSearchAttributes: [
            { key: SA.operationId, value: operation.id },
            { key: SA.operationKind, value: 'upgrade' },
            { key: SA.productCode, value: operation.product_code },
            { key: SA.username, value: operation.username },
            { key: SA.serial, value: serial },
            { key: SA.taskStatus, value: 'scheduled' },
            { key: SA.taskStage, value: 'waiting' },
          ],
          memo: { target_version: target_version.version_id, reboot },
          cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        }),
      );
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
  return state();
}
