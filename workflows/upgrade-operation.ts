/**
 * An upgrade operation: scheduled until its upgrade time, then one appliance task (child workflow)
 * per appliance; its final status follows from the tasks' (successful / partially_successful /
 * failed / cancelled). Cancelling the operation cancels every task that has not finished.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { LogLine, StoreActivities } from '../activities/store-activities';
import { applianceTaskWorkflowId, finalOperationStatus } from '../domain/operation';
import type { OperationStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { applianceUpgradeTask } from './appliance-upgrade-task';
import {
  cancelApplianceTaskUpdate,
  DEFAULT_TASK_TIMEOUT_MS,
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
  const tasks = new Map<string, ApplianceTaskOutcome>(
    operation.appliances.map((serial) => [serial, { serial, status: 'scheduled', stage: 'waiting' }]),
  );
  const state = (): UpgradeOperationState => ({ operation, tasks: [...tasks.values()] });
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

  const setStatus = async (status: OperationStatus, message: string): Promise<void> => {
    operation.status = status;
    upsertSearchAttributes([{ key: SA.operationStatus, value: status }]);
    await record.recordOperationStatus({ operationId: operation.id, status, log: line(message, status === 'failed' ? 'err' : 'info') });
  };
  const { target_version, reboot, upgrade_time, reboot_time, esxi_force } = operation;
  await record.recordOperation({
    kind: 'upgrade',
    operation: { ...operation, status: 'scheduled' },
    taskFields: { target_version, reboot, ...(upgrade_time ? { upgrade_time } : {}), ...(reboot_time ? { reboot_time } : {}), ...(esxi_force !== undefined ? { esxi_force } : {}) },
    log: line(`upgrade of ${operation.appliances.length} appliance(s) to ${target_version.version_id} created by ${operation.username}`),
  });
  await setStatus('scheduled', input.startAtMs !== undefined ? `scheduled for ${new Date(input.startAtMs).toISOString()}` : 'starting now');

  try {
    if (input.startAtMs !== undefined && input.startAtMs > Date.now()) await sleep(input.startAtMs - Date.now());
    await setStatus('running', 'running: starting one task per appliance');
    await Promise.all(
      operation.appliances.map(async (serial) => {
        if (cancelRequested.has(serial)) {
          tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: 'cancelled before it started' });
          await record.recordTasksCancelled({ operationId: operation.id, serials: [serial], log: line('cancelled before it started', 'warning') });
          return;
        }
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
                  target_version: operation.target_version,
                  reboot: operation.reboot,
                  esxi_force: operation.esxi_force ?? false,
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
              memo: { target_version: operation.target_version.version_id, reboot: operation.reboot },
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
          await CancellationScope.nonCancellable(() =>
            record.recordTasksCancelled({ operationId: operation.id, serials: [serial], log: line(message, 'warning') }),
          );
        } finally {
          taskScopes.delete(serial);
        }
      }),
    );
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Tasks that never started end `cancelled`; started ones reported their own outcome.
    const unstarted = [...tasks.values()].filter((task) => task.status === 'scheduled');
    for (const task of unstarted) tasks.set(task.serial, { ...task, status: 'cancelled', stage: 'cancelled' });
    if (unstarted.length) {
      await CancellationScope.nonCancellable(() =>
        record.recordTasksCancelled({ operationId: operation.id, serials: unstarted.map((t) => t.serial), log: line('cancelled before it started', 'warning') }),
      );
    }
  }
  const final = finalOperationStatus([...tasks.values()].map((t) => t.status));
  const counts = [...tasks.values()].reduce<Record<string, number>>((acc, t) => ({ ...acc, [t.status]: (acc[t.status] ?? 0) + 1 }), {});
  await CancellationScope.nonCancellable(() => setStatus(final, `finished ${final}: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}`));
  return state();
}
