/**
 * A task runner's side of the fleet-wide limit: the places it holds under FLEET_MAX_TASKS_IN_FLIGHT,
 * asked for and given back through the task-slots workflow (./task-slots.ts). Changes are sent
 * from one loop, so all that happen in one workflow activation go as one message.
 */
import { CancellationScope, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import { taskSlotCalls, taskSlotsGrantSignal } from './task-slots';

export class TaskPlaces {
  /** Granted and not yet taken by a task. */
  private places = 0;
  /** Tasks ready to start, counting those the unused places are for. */
  private need = 0;
  private dueMs = 0;
  private toRelease = 0;
  private changed = false;
  private closed = false;
  private sending: Promise<void> | undefined;

  constructor(
    private readonly operationId: string,
    /** Told when the task-slots workflow says this runner's tasks wait for a place. */
    private readonly onQueued: (limit: number) => Promise<void>,
  ) {}

  /** Starts taking grants and sending changes; they go on even while the workflow is being cancelled. */
  open(): void {
    setHandler(taskSlotsGrantSignal, async ({ granted, queued, limit }) => {
      this.places += granted;
      // Granted after this runner stopped wanting them: they go back.
      if (granted > 0 && this.need === 0) this.changed = true;
      if (queued) await this.onQueued(limit);
    });
    this.sending = CancellationScope.nonCancellable(() => this.send());
  }

  /**
   * Takes a place for the next task: `ready` tasks (this one first, due at `dueMs`) wait for one.
   * False when `giveUp` holds, or `timeoutMs` passes, before a place is granted.
   */
  async take(ready: number, dueMs: number, giveUp: () => boolean, timeoutMs?: number): Promise<boolean> {
    if (this.places === 0) {
      this.want(ready, dueMs);
      const got = () => this.places > 0 || giveUp();
      if (timeoutMs === undefined) await condition(got);
      else await condition(got, timeoutMs);
      if (this.places === 0) {
        this.idle();
        return false;
      }
    }
    this.places--;
    this.need = Math.max(0, this.need - 1);
    return true;
  }

  /** A task has ended: its place goes back. */
  release(): void {
    this.toRelease++;
    this.changed = true;
  }

  /** No task of this runner waits for a place now (unused places go back). */
  idle(): void {
    this.want(0, this.dueMs);
  }

  /** Gives back every place and waits until the task-slots workflow knows. */
  async close(): Promise<void> {
    this.closed = true;
    this.changed = true;
    await this.sending;
  }

  private want(ready: number, dueMs: number): void {
    if (ready === this.need && dueMs === this.dueMs) return;
    this.need = ready;
    this.dueMs = dueMs;
    this.changed = true;
  }

  private async send(): Promise<void> {
    const requester = workflowInfo().workflowId;
    for (;;) {
      await condition(() => this.changed);
      this.changed = false;
      const unused = this.closed ? this.places : Math.max(0, this.places - this.need);
      this.places -= unused;
      const release = this.toRelease + unused;
      this.toRelease = 0;
      const done = this.closed;
      const waiting = done ? 0 : Math.max(0, this.need - this.places);
      await taskSlotCalls.askTaskSlots({
        requester,
        operationId: this.operationId,
        release,
        waiting,
        dueMs: this.dueMs,
        ...(done ? { done: true } : {}),
      });
      // Closed while that message was on its way: `done` still goes, as its own message. (Whether
      // the close came before or after the answer differs between a run and its replay.)
      if (done) return;
    }
  }
}
