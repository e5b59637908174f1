/**
 * Runs a set of appliance tasks (one child workflow each) as the rollout policy says: wave after
 * wave, each task when it is due, never more than `max_in_flight` at once, each only with a place
 * under the fleet-wide limit (./task-places.ts), no new task while paused, after the failure
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
} from '@temporalio/workflow';
import { applianceTaskWorkflowId, secondsToMs, type OperationKind } from '../domain/operation';
import {
  byStartInstant,
  failureThresholdReached,
  progressStalled,
  type RolloutCounts,
  type RolloutPolicy,
} from '../domain/rollout';
import type { TaskSafety } from '../domain/rollout-safety';
import type { ApplianceTaskStatus, OperationStatus, ProductCode, Version } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { applianceRebootTask } from './appliance-reboot-task';
import { applianceUpgradeTask } from './appliance-upgrade-task';
import { logLine, storeWrites } from './task-lifecycle';
import { TaskPlaces } from './task-places';
import type { ApplianceTaskOutcome } from './types';

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
  /** Local-time schedules: each appliance's own UTC start instant (the runner starts each task then). */
  startAtBySerial?: Record<string, number>;
  /** Upgrade/downgrade: health check, rollback, retries (domain/rollout-safety.ts). */
  safety?: TaskSafety;
}

/** One appliance's task workflow, of the operation's kind. */
export function executeApplianceTask(spec: TaskSpec, serial: string): Promise<ApplianceTaskOutcome> {
  const timing = { taskTimeoutMs: spec.taskTimeoutMs };
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
      args: [
        {
          operationId: spec.operationId,
          serial,
          switch_partition: spec.switch_partition,
          ...(spec.expectVersion ? { expectVersion: spec.expectVersion } : {}),
          ...timing,
        },
      ],
      memo: { switch_partition: spec.switch_partition },
    });
  }
  const target_version = spec.target_version!;
  return executeChild(applianceUpgradeTask, {
    ...options,
    args: [
      {
        kind: spec.kind,
        operationId: spec.operationId,
        serial,
        product_code: spec.product_code!,
        target_version,
        reboot: spec.reboot,
        esxi_force: spec.esxi_force,
        ...timing,
        ...(spec.safety ? { safety: spec.safety } : {}),
      },
    ],
    memo: { target_version: target_version.version_id, reboot: spec.reboot },
  });
}

/** Until `fn` holds (true), or false once `timeoutMs` has passed first. */
async function waitFor(fn: () => boolean, timeoutMs: number | undefined): Promise<boolean> {
  if (timeoutMs === undefined) {
    await condition(fn);
    return true;
  }
  return condition(fn, timeoutMs);
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
  /** After wave `wave` (from 1) of `waves` when another follows and the rollout goes on: its gates (success threshold, approval). */
  betweenWaves?: (wave: number, waves: number, serials: readonly string[]) => Promise<void>;
  /** Tasks run and none finished within rollout.progress_deadline_seconds. */
  onStalled?: (reason: string) => Promise<void>;
  /** The rollout has stopped (after it was recorded): a large operation tells its running batches. */
  onStop?: (reason: string) => Promise<void>;
}

/**
 * Wave after wave until the rollout stops: each wave run by `runWave`, and between two waves the
 * gates (`betweenWaves`). The one loop of a runner's own tasks and of a large operation's batches.
 */
export async function runWaves(
  waves: readonly (readonly string[])[],
  runWave: (wave: readonly string[]) => Promise<void>,
  rollout: { stopped: () => boolean; betweenWaves?: TaskRunnerOptions['betweenWaves'] },
): Promise<void> {
  for (const [i, wave] of waves.entries()) {
    await runWave(wave);
    if (rollout.stopped()) return;
    if (i < waves.length - 1) await rollout.betweenWaves?.(i + 1, waves.length, wave);
    if (rollout.stopped()) return;
  }
}

/** Runs `work`; true when the workflow was cancelled meanwhile (any other failure is thrown). */
export async function cancelledDuring(work: () => Promise<void>): Promise<boolean> {
  try {
    await work();
    return false;
  } catch (err) {
    if (!isCancellation(err)) throw err;
    return true;
  }
}

export class TaskRunner {
  readonly tasks: Map<string, ApplianceTaskOutcome>;
  stopReason: string | undefined;
  /** Tasks finished and failed, counting `counted`. */
  readonly counts: RolloutCounts;
  private inFlight = 0;
  /** Places under the fleet-wide limit, from the task-slots workflow. */
  private readonly places: TaskPlaces;
  private readonly loggedWaiting = new Set<string>();
  /** When tasks without a start instant of their own are due. */
  private readonly startedAtMs = Date.now();
  /**
   * How to cancel each task that runs now: its own cancellation scope here, or, for a large
   * operation, a signal to the batch workflow that runs it (setCanceller).
   */
  private readonly cancellers = new Map<string, () => Promise<void>>();
  private readonly cancelRequested = new Set<string>();
  /** Progress for the deadline watch: bumped when a task finishes or tasks begin to run after none did. */
  private progress = { mark: 0, atMs: Date.now() };
  private ended = false;

  constructor(
    serials: readonly string[],
    private readonly options: TaskRunnerOptions,
  ) {
    this.tasks = new Map(serials.map((serial) => [serial, { serial, status: 'scheduled', stage: 'waiting' }]));
    this.counts = { ...(options.counted ?? { finished: 0, failed: 0 }) };
    this.places = new TaskPlaces(this.operationId, (limit) => this.logWaitingForPlace(limit));
  }

  private get operationId(): string {
    return this.options.spec().operationId;
  }

  /** Cancels one task: answers its status when asked (a finished task keeps its own). */
  async cancel(serial: string): Promise<ApplianceTaskStatus> {
    const task = this.tasks.get(serial)!;
    if (task.status !== 'scheduled' && task.status !== 'running') return task.status;
    this.cancelRequested.add(serial);
    const cancelRunning = this.cancellers.get(serial);
    if (cancelRunning) await cancelRunning();
    // Not started: recorded now, so the store shows it cancelled at once, not when the operation starts.
    else if (task.status === 'scheduled') await this.recordCancelledBeforeStart(serial);
    return 'cancelled';
  }

  /** A task runs elsewhere (a large operation's batch): how to cancel it there; undefined once it has ended. */
  setCanceller(serial: string, cancel: (() => Promise<void>) | undefined): void {
    if (cancel) this.cancellers.set(serial, cancel);
    else this.cancellers.delete(serial);
  }

  /** A task cancelled before it started: `cancelled` here and in the store, with a log line saying so. */
  private async recordCancelledBeforeStart(serial: string): Promise<void> {
    this.tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: 'cancelled before it started' });
    await storeWrites.recordTasksCancelled({
      operationId: this.operationId,
      serials: [serial],
      log: logLine('cancelled before it started', 'warning'),
    });
  }

  /** Stops the rollout: running tasks finish, no new one starts. The first reason is kept and recorded. */
  async stop(reason: string, recorded = false): Promise<void> {
    if (this.stopReason) return;
    this.stopReason = reason;
    if (!recorded)
      await storeWrites.recordOperationStatus({
        operationId: this.operationId,
        status: this.options.operationStatus(),
        stop_reason: reason,
        log: logLine(reason, 'warning'),
      });
    await this.options.onStop?.(reason);
  }

  /** Runs one appliance's task to its end, then checks the failure threshold. */
  private async runTask(serial: string): Promise<void> {
    if (this.inFlight++ === 0) this.markProgress();
    this.tasks.set(serial, { serial, status: 'running', stage: 'initiating' });
    const scope = new CancellationScope();
    this.cancellers.set(serial, async () => scope.cancel());
    try {
      const outcome = await scope.run(() => executeApplianceTask(this.options.spec(), serial));
      this.tasks.set(serial, outcome);
    } catch (err) {
      // This task (or the whole operation) was cancelled. A child that ran has recorded its own
      // final state; one cancelled before it started is recorded here.
      if (!isCancellation(err)) throw err;
      const message = this.cancelRequested.has(serial) ? 'cancelled by request' : 'operation cancelled';
      this.tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message });
      await CancellationScope.nonCancellable(() =>
        storeWrites.recordTasksCancelled({
          operationId: this.operationId,
          serials: [serial],
          log: logLine(message, 'warning'),
        }),
      );
    } finally {
      this.cancellers.delete(serial);
      this.inFlight--;
      this.places.release();
    }
    this.markProgress();
    this.counts.finished++;
    if (this.tasks.get(serial)!.status === 'failed') this.counts.failed++;
    const reason = failureThresholdReached(this.counts, this.options.policy);
    if (reason) await this.stop(`rollout stopped: ${reason}`);
  }

  /** Starts the tasks wave after wave; throws a cancellation when the workflow is cancelled. */
  async run(waves: readonly (readonly string[])[]): Promise<void> {
    this.places.open();
    const watch = this.watchProgress().catch((err: unknown) => {
      if (!isCancellation(err)) throw err;
    });
    try {
      const { betweenWaves } = this.options;
      await runWaves(waves, (planned) => this.runWave(byStartInstant(planned, this.options.spec().startAtBySerial)), {
        stopped: () => this.stopReason !== undefined,
        ...(betweenWaves ? { betweenWaves } : {}),
      });
    } finally {
      this.ended = true;
      await watch;
      await this.places.close();
    }
  }

  private markProgress(): void {
    this.progress = { mark: this.progress.mark + 1, atMs: Date.now() };
  }

  /**
   * rollout.progress_deadline_seconds: while tasks run, a durable timer to the deadline, reset by
   * each task that finishes; when it fires, onStalled (at most once per deadline).
   */
  private async watchProgress(): Promise<void> {
    const seconds = this.options.policy.progress_deadline_seconds;
    const onStalled = this.options.onStalled;
    if (seconds === undefined || !onStalled) return;
    while (!this.ended) {
      await condition(() => this.ended || this.inFlight > 0);
      const { mark, atMs } = this.progress;
      const moved = await condition(
        () => this.ended || this.progress.mark !== mark,
        Math.max(1, atMs + seconds * 1000 - Date.now()),
      );
      if (moved) continue;
      const reason = progressStalled(this.inFlight, atMs, Date.now(), this.options.policy);
      if (!reason) continue;
      this.markProgress();
      await onStalled(reason);
    }
  }

  /** Each task of the wave when it is due, may start, and has a place; then waits for them all. */
  private async runWave(wave: readonly string[]): Promise<void> {
    const running: Promise<void>[] = [];
    for (const [i, serial] of wave.entries()) {
      if (!(await this.stillToStart(serial))) continue;
      const ready = await this.untilReady(serial, wave.slice(i));
      if (this.stopReason) {
        if (ready) this.places.release();
        break;
      }
      if (!ready) continue;
      // A cancel may have come while it waited: the place goes back.
      if (!(await this.stillToStart(serial))) {
        this.places.release();
        continue;
      }
      running.push(this.runTask(serial));
    }
    this.places.idle();
    await Promise.all(running);
  }

  /**
   * Waits until the task is due, the rollout lets it start (not paused, under max_in_flight) and
   * it has a place under the fleet-wide limit. False when it should be skipped; a closed window
   * stops the rollout.
   */
  private async untilReady(serial: string, rest: readonly string[]): Promise<boolean> {
    const { policy } = this.options;
    const windowEndMs =
      policy.maintenance_window_end !== undefined ? secondsToMs(policy.maintenance_window_end) : undefined;
    const maxInFlight = policy.max_in_flight ?? Number.POSITIVE_INFINITY;
    const stopped = (): boolean => this.stopReason !== undefined;
    const blocked = (): boolean => this.options.paused() || this.inFlight >= maxInFlight;
    const windowLeft = (): number | undefined => (windowEndMs !== undefined ? windowEndMs - Date.now() : undefined);
    const dueMs = this.options.spec().startAtBySerial?.[serial] ?? this.startedAtMs;
    const untilMs = windowEndMs !== undefined ? Math.min(dueMs, windowEndMs) : dueMs;
    if (untilMs > Date.now()) await condition(stopped, untilMs - Date.now());
    for (;;) {
      if (stopped()) return false;
      if ((windowLeft() ?? 1) <= 0) {
        await this.stop(`maintenance window closed at ${new Date(windowEndMs!).toISOString()}: no new task starts`);
        return false;
      }
      if (!(await waitFor(() => stopped() || !blocked(), windowLeft())) || stopped()) continue;
      const wanted = Math.min(this.readyAmong(rest), maxInFlight - this.inFlight);
      if (await this.places.take(wanted, dueMs, () => stopped() || blocked(), windowLeft())) return true;
    }
  }

  /** False for a task that has ended or was cancelled before it started (recorded so). */
  private async stillToStart(serial: string): Promise<boolean> {
    if (this.tasks.get(serial)!.status !== 'scheduled') return false;
    if (!this.cancelRequested.has(serial)) return true;
    await this.recordCancelledBeforeStart(serial);
    return false;
  }

  /** How many of these tasks are due now and waiting to start. */
  private readyAmong(serials: readonly string[]): number {
    const startAt = this.options.spec().startAtBySerial;
    const now = Date.now();
    return serials.filter(
      (serial) =>
        this.tasks.get(serial)!.status === 'scheduled' &&
        !this.cancelRequested.has(serial) &&
        (startAt?.[serial] ?? this.startedAtMs) <= now,
    ).length;
  }

  /** Tasks that wait for a place under the fleet-wide limit say so in their log (once each). */
  private async logWaitingForPlace(limit: number): Promise<void> {
    const startAt = this.options.spec().startAtBySerial;
    const now = Date.now();
    const serials = [...this.tasks.values()]
      .filter(
        (t) =>
          t.status === 'scheduled' &&
          !this.loggedWaiting.has(t.serial) &&
          (startAt?.[t.serial] ?? this.startedAtMs) <= now,
      )
      .map((t) => t.serial);
    if (!serials.length) return;
    for (const serial of serials) this.loggedWaiting.add(serial);
    const message = `waiting for a place: ${limit} appliance tasks are in flight across the fleet (FLEET_MAX_TASKS_IN_FLIGHT); this one starts when a place frees up`;
    await storeWrites.appendTasksLog({ operationId: this.operationId, serials, log: logLine(message) });
  }

  /** Tasks that never started end `cancelled`, with the reason. */
  async endUnstarted(cancelled: boolean): Promise<void> {
    const unstarted = [...this.tasks.values()].filter((task) => task.status === 'scheduled').map((t) => t.serial);
    if (!unstarted.length) return;
    const reason = cancelled ? 'cancelled before it started' : `not started: ${this.stopReason ?? 'operation ended'}`;
    for (const serial of unstarted)
      this.tasks.set(serial, { serial, status: 'cancelled', stage: 'cancelled', message: reason });
    await CancellationScope.nonCancellable(() =>
      storeWrites.recordTasksCancelled({
        operationId: this.operationId,
        serials: unstarted,
        log: logLine(reason, 'warning'),
      }),
    );
  }
}
