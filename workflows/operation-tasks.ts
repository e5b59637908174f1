/**
 * The two ways an operation's appliance tasks run: directly, one child workflow each
 * (./task-runner.ts), or, for an operation over TASKS_PER_BATCH appliances, in batch workflows
 * (./appliance-task-batch.ts), so that no history holds thousands of children. Either way the
 * operation's one TaskRunner holds the tasks' statuses, and cancels a task and stops the rollout
 * for both: a batch is told by signal what its operation's runner decided.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  ParentClosePolicy,
  startChild,
  type ChildWorkflowHandle,
  type SignalDefinition,
} from '@temporalio/workflow';
import { operationWorkflowId, type Operation, type OperationKind } from '../domain/operation';
import {
  byStartInstant,
  failureThresholdReached,
  planBatches,
  planWaves,
  type RolloutCounts,
  type RolloutPolicy,
} from '../domain/rollout';
import type { ApplianceTaskStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { applianceTaskBatch, type ApplianceTaskBatchResult } from './appliance-task-batch';
import { storeWrites } from './task-lifecycle';
import { runWaves, type TaskRunner, type TaskRunnerOptions, type TaskSpec } from './task-runner';
import { cancelTaskInBatchSignal, type ApplianceTaskOutcome, type OperationState } from './types';

export type TaskCounts = Partial<Record<ApplianceTaskStatus, number>>;

/** Tasks by status. */
export const countByStatus = (tasks: Iterable<ApplianceTaskOutcome>): TaskCounts => {
  const counts: TaskCounts = {};
  for (const { status } of tasks) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
};

export interface OperationTasks {
  /** Starts the tasks wave after wave; throws a cancellation when the operation is cancelled. */
  run(): Promise<void>;
  /** Tasks finished and failed (the failure threshold's counts). */
  readonly counts: RolloutCounts;
  /** Passes a signal (pause, resume, stop) on to where the tasks run. */
  passOn<Args extends unknown[]>(signal: SignalDefinition<Args>, ...args: Args): Promise<void>;
  /** The tasks as the operation's state shows them. */
  stateTasks(): Pick<OperationState, 'tasks' | 'task_counts' | 'tasks_omitted'>;
  /** Every task's final status, counted, once the operation has ended. */
  finalCounts(): Promise<TaskCounts>;
}

/** The tasks of an operation, each a child workflow of the operation. */
export class DirectTasks implements OperationTasks {
  constructor(
    private readonly runner: TaskRunner,
    private readonly policy: RolloutPolicy,
  ) {}

  run(): Promise<void> {
    return this.runner.run(planWaves([...this.runner.tasks.keys()], this.policy));
  }

  get counts(): RolloutCounts {
    return this.runner.counts;
  }

  /** The tasks run here: nothing to pass on. */
  async passOn(): Promise<void> {}

  stateTasks(): Pick<OperationState, 'tasks'> {
    return { tasks: [...this.runner.tasks.values()] };
  }

  async finalCounts(): Promise<TaskCounts> {
    return countByStatus(this.runner.tasks.values());
  }
}

export interface BatchedTasksContext {
  kind: OperationKind;
  operation: Pick<Operation, 'id' | 'username'>;
  policy: RolloutPolicy;
  tasksPerBatch: number;
  startAtBySerial?: Record<string, number>;
  /** What each task starts with, read when a batch starts. */
  spec: () => TaskSpec;
  paused: () => boolean;
  betweenWaves: NonNullable<TaskRunnerOptions['betweenWaves']>;
}

type BatchHandle = ChildWorkflowHandle<typeof applianceTaskBatch>;

/** The tasks of a large operation, in batch workflows: as many at once as max_in_flight allows. */
export class BatchedTasks implements OperationTasks {
  /** Tasks finished and failed in the batches that have ended. */
  readonly counts: RolloutCounts = { finished: 0, failed: 0 };
  /** The batches running now (or starting: a signal waits for the start). */
  private readonly running = new Set<Promise<BatchHandle>>();
  private started = 0;

  constructor(
    private readonly runner: TaskRunner,
    private readonly ctx: BatchedTasksContext,
  ) {}

  run(): Promise<void> {
    // Tasks cancelled before the operation started (or not to run at all) are left out of the waves.
    const serials = [...this.runner.tasks.values()].filter((t) => t.status === 'scheduled').map((t) => t.serial);
    return runWaves(planWaves(serials, this.ctx.policy), (wave) => this.runWave(wave), {
      stopped: () => this.stopped(),
      betweenWaves: this.ctx.betweenWaves,
    });
  }

  async passOn<Args extends unknown[]>(signal: SignalDefinition<Args>, ...args: Args): Promise<void> {
    // A batch that has just ended has nothing left to take it.
    await Promise.all(
      [...this.running].map((batch) => batch.then((handle) => handle.signal(signal, ...args)).catch(() => undefined)),
    );
  }

  stateTasks(): Pick<OperationState, 'tasks' | 'task_counts' | 'tasks_omitted'> {
    return { tasks: [], task_counts: countByStatus(this.runner.tasks.values()), tasks_omitted: true };
  }

  /** A cancelled batch's tasks reported nothing back: the store has them all. */
  finalCounts(): Promise<TaskCounts> {
    return CancellationScope.nonCancellable(() => storeWrites.taskStatusCounts({ operationId: this.ctx.operation.id }));
  }

  private stopped(): boolean {
    return this.runner.stopReason !== undefined;
  }

  /** The wave's batches, in the order their tasks are due (so the first are not those waiting longest). */
  private async runWave(planned: readonly string[]): Promise<void> {
    const wave = byStartInstant(planned, this.ctx.startAtBySerial);
    const plan = planBatches(wave, this.ctx.policy.max_in_flight, this.ctx.tasksPerBatch);
    const running = new Set<Promise<void>>();
    for (const serials of plan.batches) {
      await condition(() => running.size < plan.concurrent || this.stopped());
      if (this.stopped()) break;
      const batch = this.runBatch(serials, plan.maxInFlightPerBatch).finally(() => running.delete(batch));
      running.add(batch);
    }
    await Promise.all(running);
  }

  /** Runs one batch as a child workflow, takes in its outcomes, then checks the failure threshold. */
  private async runBatch(planned: readonly string[], maxInFlight: number | undefined): Promise<void> {
    const n = ++this.started;
    // Cancelled since the wave was planned: recorded so, and not the batch's to run.
    const serials = planned.filter((serial) => this.runner.tasks.get(serial)!.status === 'scheduled');
    if (!serials.length) return;
    const batch = this.startBatch(n, serials, maxInFlight);
    this.running.add(batch);
    // A batch that ended meanwhile has ended the task too: there is nothing left to cancel.
    const cancelInBatch = (serial: string) => (): Promise<void> =>
      batch.then((handle) => handle.signal(cancelTaskInBatchSignal, serial)).catch(() => undefined);
    for (const serial of serials) this.runner.setCanceller(serial, cancelInBatch(serial));
    let result: ApplianceTaskBatchResult;
    try {
      result = await (await batch).result();
    } finally {
      this.running.delete(batch);
      for (const serial of serials) this.runner.setCanceller(serial, undefined);
    }
    for (const outcome of result.tasks) this.runner.tasks.set(outcome.serial, outcome);
    this.counts.finished += result.counts.finished;
    this.counts.failed += result.counts.failed;
    if (result.stop_reason) return this.runner.stop(result.stop_reason, true);
    const reason = failureThresholdReached(this.counts, this.ctx.policy);
    if (reason) await this.runner.stop(`rollout stopped: ${reason}`);
  }

  private startBatch(n: number, serials: string[], maxInFlight: number | undefined): Promise<BatchHandle> {
    const { kind, operation, policy } = this.ctx;
    const { waves: _waves, max_in_flight: _max, ...shared } = policy;
    const batchPolicy = { ...shared, ...(maxInFlight !== undefined ? { max_in_flight: maxInFlight } : {}) };
    return startChild(applianceTaskBatch, {
      workflowId: `${operationWorkflowId(kind, operation.id)}-batch-${n}`,
      args: [
        { spec: this.ctx.spec(), serials, policy: batchPolicy, counted: { ...this.counts }, paused: this.ctx.paused() },
      ],
      typedSearchAttributes: [
        { key: SA.operationId, value: operation.id },
        { key: SA.operationKind, value: kind },
        { key: SA.username, value: operation.username },
      ],
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
  }
}
