/**
 * Runs a set of appliance tasks (one child workflow each) as the rollout policy says: wave after
 * wave, never more than `max_in_flight` at once, no new task while paused, after the failure
 * threshold or once the maintenance window has closed. One task can be cancelled. Used by an
 * operation workflow for its own tasks, and by each batch workflow of a large operation.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { StoreActivities } from '../activities/store-activities';
import { applianceTaskWorkflowId, secondsToMs, type OperationKind } from '../domain/operation';
import { byStartInstant, failureThresholdReached, type RolloutCounts, type RolloutPolicy } from '../domain/rollout';
import type { ApplianceTaskStatus, OperationStatus, ProductCode, Version } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { applianceRebootTask } from './appliance-reboot-task';
import { applianceUpgradeTask } from './appliance-upgrade-task';
import { line } from './task-lifecycle';
import type { ApplianceTaskOutcome } from './types';

const record = proxyLocalActivities<StoreActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '10 seconds' },
});

/** What every appliance task of an operation is started with (serialisable: batches receive it). */
export interface TaskSpec {
  kind: OperationKind;
  operationId: string;
  username: string;
  product_code?: ProductCode;
  target_version?: Version;
  /** Upgrade/downgrade: reboot at the end of the task (false when a reboot operation follows). */
  reboot: boolean;
  esxi_force: boolean;
  switch_partition: boolean;
  /** Reboot after an upgrade/downgrade: the version the appliance must come back running. */
  expectVersion?: Version;
  taskTimeoutMs: number;
  /** Local-time schedules: each appliance's own UTC start instant. */
  startAtBySerial?: Record<string, number>;
  /**
   * The runner starts each task when it is due, in the order they are due, so a task waiting for
   * its local time holds no in-flight place (operations with a service limit; before it, each task
   * workflow waited for its own instant).
   */
  startWhenDue?: boolean;
}

/** One appliance's task workflow, of the operation's kind. */
export function executeApplianceTask(spec: TaskSpec, serial: string): Promise<ApplianceTaskOutcome> {
  const startAtMs = spec.startAtBySerial?.[serial];
  const timing = { taskTimeoutMs: spec.taskTimeoutMs, ...(startAtMs !== undefined ? { startAtMs } : {}) };
  const options = {
    workflowId: applianceTaskWorkflowId(spec.kind, spec.operationId, serial),
    typedSearchAttributes: [
      { key: SA.operationId, value: spec.operationId },
      { key: SA.operationKind, value: spec.kind },
      ...(spec.product_code ? [{ key: SA.productCode, value: spec.product_code }] : []),
      { key: SA.username, value: spec.username },
      { key: SA.serial, value: serial },
      { key: SA.taskStatus, value: 'scheduled' },
      { key: SA.taskStage, value: 'waiting' },
    ],
    cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
  };
  if (spec.kind === 'reboot') {
    return executeChild(applianceRebootTask, {
      ...options,
      args: [{ operationId: spec.operationId, serial, switch_partition: spec.switch_partition, ...(spec.expectVersion ? { expectVersion: spec.expectVersion } : {}), ...timing }],
      memo: { switch_partition: spec.switch_partition },
    });
  }
  const target_version = spec.target_version!;
  return executeChild(applianceUpgradeTask, {
    ...options,
    args: [{ ...(spec.kind === 'downgrade' ? { kind: spec.kind } : {}), operationId: spec.operationId, serial, product_code: spec.product_code!, target_version, reboot: spec.reboot, esxi_force: spec.esxi_force, ...timing }],
    memo: { target_version: target_version.version_id, reboot: spec.reboot },
  });
}

export interface TaskRunnerOptions {
  /** Read when each task starts (a reboot learns the version to expect once its upgrade ends). */
  spec: () => TaskSpec;
  policy: RolloutPolicy;
  /** Tasks finished (and failed) before these, in earlier batches: the failure threshold counts them. */
  counted?: RolloutCounts;
  /** The operation's status, for the record of a stop. */
  operationStatus: () => OperationStatus;
  paused: () => boolean;
}

export class TaskRunner {
  readonly tasks: Map<string, ApplianceTaskOutcome>;
  stopReason: string | undefined;
  /** Tasks finished and failed, counting `counted`. */
  readonly counts: RolloutCounts;
  private inFlight = 0;
  // One cancellation scope per started task, so a single task can be cancelled.
  private readonly scopes = new Map<string, CancellationScope>();
  private readonly cancelRequested = new Set<string>();

  constructor(
    serials: readonly string[],
    private readonly options: TaskRunnerOptions,
  ) {
    this.tasks = new Map(serials.map((serial) => [serial, { serial, status: 'scheduled', stage: 'waiting' }]));
    this.counts = { ...(options.counted ?? { finished: 0, failed: 0 }) };
  }

  private get operationId(): string {
    return this.options.spec().operationId;
  }

  /** Cancels one task: answers its status when asked (a finished task keeps its own). */
  async cancel(serial: string): Promise<ApplianceTaskStatus> {
    const task = this.tasks.get(serial)!;
    if (task.status !== 'scheduled' && task.status !== 'running') return task.status;
    this.cancelRequested.add(serial);
    const scope = this.scopes.get(serial);
    if (scope) scope.cancel();
    // Not started: recorded now, so the store shows it cancelled at once, not when the operation starts.
    else if (task.status === 'scheduled' && patched('record-cancel-on-request')) await this.recordCancelledBeforeStart(serial);
    return 'cancelled';
  }

  /** A task cancelled before it started: `cancelled` here and in the store, with a log line saying so. */
  async recordCancelledBeforeStart(serial: string): Promise<void> {
    this.tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: 'cancelled before it started' });
    await record.recordTasksCancelled({ operationId: this.operationId, serials: [serial], log: line('cancelled before it started', 'warning') });
  }

  /** Stops the rollout: running tasks finish, no new one starts. The first reason is kept and recorded. */
  async stop(reason: string, recorded = false): Promise<void> {
    if (this.stopReason) return;
    this.stopReason = reason;
    if (!recorded) await record.recordOperationStatus({ operationId: this.operationId, status: this.options.operationStatus(), stop_reason: reason, log: line(reason, 'warning') });
  }

  /** Runs one appliance's task to its end, then checks the failure threshold. */
  private async runTask(serial: string): Promise<void> {
    this.inFlight++;
    this.tasks.set(serial, { serial, status: 'running', stage: 'initiating' });
    const scope = new CancellationScope();
    this.scopes.set(serial, scope);
    try {
      const outcome = await scope.run(() => executeApplianceTask(this.options.spec(), serial));
      this.tasks.set(serial, outcome);
    } catch (err) {
      // This task (or the whole operation) was cancelled. A child that ran has recorded its own
      // final state; one cancelled before it started is recorded here.
      if (!isCancellation(err)) throw err;
      const message = this.cancelRequested.has(serial) ? 'cancelled by request' : 'operation cancelled';
      this.tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message });
      await CancellationScope.nonCancellable(() => record.recordTasksCancelled({ operationId: this.operationId, serials: [serial], log: line(message, 'warning') }));
    } finally {
      this.scopes.delete(serial);
      this.inFlight--;
    }
    this.counts.finished++;
    if (this.tasks.get(serial)!.status === 'failed') this.counts.failed++;
    const reason = failureThresholdReached(this.counts, this.options.policy);
    if (reason) await this.stop(`rollout stopped: ${reason}`);
  }

  /** Starts the tasks wave after wave; throws a cancellation when the workflow is cancelled. */
  async run(waves: readonly (readonly string[])[]): Promise<void> {
    const { policy } = this.options;
    const windowEndMs = policy.maintenance_window_end !== undefined ? secondsToMs(policy.maintenance_window_end) : undefined;
    const maxInFlight = policy.max_in_flight ?? Number.POSITIVE_INFINITY;
    const mayStart = (): boolean => this.stopReason !== undefined || (!this.options.paused() && this.inFlight < maxInFlight);

    for (const planned of waves) {
      const spec = this.options.spec();
      const startAt = spec.startWhenDue ? spec.startAtBySerial : undefined;
      const wave = byStartInstant(planned, startAt);
      const running: Promise<void>[] = [];
      for (const serial of wave) {
        // Until it is due (or the window closes first, or the rollout stops).
        const dueMs = startAt?.[serial];
        const untilMs = dueMs !== undefined && windowEndMs !== undefined ? Math.min(dueMs, windowEndMs) : dueMs;
        if (untilMs !== undefined && untilMs > Date.now()) await condition(() => this.stopReason !== undefined, untilMs - Date.now());
        if (windowEndMs !== undefined) {
          const open = windowEndMs > Date.now() && (await condition(mayStart, windowEndMs - Date.now()));
          if (!open) await this.stop(`maintenance window closed at ${new Date(windowEndMs).toISOString()}: no new task starts`);
        } else {
          await condition(mayStart);
        }
        if (this.stopReason) break;
        if (this.tasks.get(serial)!.status !== 'scheduled') continue;
        if (this.cancelRequested.has(serial)) {
          await this.recordCancelledBeforeStart(serial);
          continue;
        }
        running.push(this.runTask(serial));
      }
      await Promise.all(running);
      if (this.stopReason) break;
    }
  }

  /** Tasks that never started end `cancelled`, with the reason. */
  async endUnstarted(cancelled: boolean): Promise<void> {
    const unstarted = [...this.tasks.values()].filter((task) => task.status === 'scheduled').map((t) => t.serial);
    if (!unstarted.length) return;
    const reason = cancelled ? 'cancelled before it started' : `not started: ${this.stopReason ?? 'operation ended'}`;
    for (const serial of unstarted) this.tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: reason });
    await CancellationScope.nonCancellable(() => record.recordTasksCancelled({ operationId: this.operationId, serials: unstarted, log: line(reason, 'warning') }));
  }
}
