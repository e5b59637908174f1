/**
 * An upgrade operation: scheduled until its upgrade time, then one appliance task (child workflow)
 * per appliance; its final status follows from the tasks' (successful / partially_successful /
 * failed / cancelled). Cancelling the operation cancels every task that has not finished.
 */
import {
  ChildWorkflowCancellationType,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { applianceTaskWorkflowId, finalOperationStatus } from '../domain/operation';
import type { OperationStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { applianceUpgradeTask } from './appliance-upgrade-task';
import {
  DEFAULT_TASK_TIMEOUT_MS,
  upgradeOperationStateQuery,
  type ApplianceTaskOutcome,
  type UpgradeOperationInput,
  type UpgradeOperationState,
} from './types';

export async function upgradeOperation(input: UpgradeOperationInput): Promise<UpgradeOperationState> {
  const operation = { ...input.operation };
  const tasks = new Map<string, ApplianceTaskOutcome>(
    operation.appliances.map((serial) => [serial, { serial, status: 'scheduled', stage: 'waiting' }]),
  );
  const state = (): UpgradeOperationState => ({ operation, tasks: [...tasks.values()] });
  setHandler(upgradeOperationStateQuery, state);

  const setStatus = (status: OperationStatus): void => {
    operation.status = status;
    upsertSearchAttributes([{ key: SA.operationStatus, value: status }]);
  };
  setStatus('scheduled');

  try {
    if (input.startAtMs !== undefined && input.startAtMs > Date.now()) await sleep(input.startAtMs - Date.now());
    setStatus('running');
    await Promise.all(
      operation.appliances.map(async (serial) => {
        const outcome = await executeChild(applianceUpgradeTask, {
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
        });
        tasks.set(serial, outcome);
      }),
    );
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Tasks that never started end `cancelled`; started ones reported their own outcome.
    for (const task of tasks.values()) {
      if (task.status === 'scheduled' || task.status === 'running') tasks.set(task.serial, { ...task, status: 'cancelled', stage: 'cancelled' });
    }
  }
  setStatus(finalOperationStatus([...tasks.values()].map((t) => t.status)));
  return state();
}
