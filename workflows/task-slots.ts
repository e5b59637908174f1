/**
 * The fleet-wide limit on appliance tasks in flight: one long-lived workflow per task queue holds
 * the places (FLEET_MAX_TASKS_IN_FLIGHT) and grants them to the task runners of every operation,
 * fairly (domain/task-slots.ts). Runners reach it through the askTaskSlots activity; grants go back
 * as signals. A runner that has ended without giving its places back (terminated) is noticed when
 * a grant to it fails, or by a check every minute while every place is held and tasks wait. The history stays short through continue-as-new.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  getExternalWorkflowHandle,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { TaskSlotActivities } from '../activities/task-slot-activities';
import {
  allocatePlaces,
  placesHeld,
  TASK_SLOTS_GRANT_SIGNAL,
  TASK_SLOTS_REQUEST_SIGNAL,
  type SlotGrant,
  type SlotRequest,
  type TaskSlotsState,
} from '../domain/task-slots';

export const taskSlotsRequestSignal = defineSignal<[request: SlotRequest]>(TASK_SLOTS_REQUEST_SIGNAL);
export const taskSlotsGrantSignal = defineSignal<[grant: SlotGrant]>(TASK_SLOTS_GRANT_SIGNAL);

/** The task-slot activities: a runner's message to this workflow, and this workflow's check of its holders. */
export const taskSlotCalls = proxyLocalActivities<TaskSlotActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
});

/** How often, while every place is held and tasks wait, the holders are checked for runners that have ended. */
const SWEEP_INTERVAL_MS = 60_000;

/** Continue as new past this many events, so a worker that must replay it does so quickly. */
const HISTORY_EVENTS_PER_RUN = 5_000;

export async function taskSlots(state: TaskSlotsState): Promise<never> {
  return new TaskSlots(state).run();
}

/** The fleet-wide places: who holds how many, who waits, and the limit. */
class TaskSlots {
  private readonly holders: TaskSlotsState['holders'];
  private readonly toldQueued: Set<string>;
  private limit: number;
  private changed = true;

  constructor(state: TaskSlotsState) {
    this.holders = state.holders;
    this.toldQueued = new Set(state.toldQueued);
    this.limit = state.limit;
    setHandler(taskSlotsRequestSignal, (request) => this.onRequest(request));
  }

  async run(): Promise<never> {
    for (;;) {
      const woken = this.saturated()
        ? await condition(() => this.changed, SWEEP_INTERVAL_MS)
        : await condition(() => this.changed).then(() => true);
      if (!woken) {
        for (const requester of await taskSlotCalls.closedTaskRunners(Object.keys(this.holders)))
          this.forget(requester);
      }
      this.changed = false;
      await this.grant();
      if (workflowInfo().historyLength > HISTORY_EVENTS_PER_RUN && !this.changed) {
        await condition(allHandlersFinished);
        if (!this.changed) {
          const { limit, holders, toldQueued } = this;
          await continueAsNew<typeof taskSlots>({ limit, holders, toldQueued: [...toldQueued] });
        }
      }
    }
  }

  private onRequest(request: SlotRequest): void {
    if (request.limit !== undefined) this.limit = request.limit;
    this.changed = true;
    if (request.done) return this.forget(request.requester);
    const holder = this.holders[request.requester] ?? {
      operationId: request.operationId,
      held: 0,
      waiting: 0,
      dueMs: request.dueMs,
    };
    this.holders[request.requester] = {
      ...holder,
      held: Math.max(0, holder.held - request.release),
      waiting: request.waiting,
      dueMs: request.dueMs,
    };
    if (request.waiting === 0) this.toldQueued.delete(request.requester);
  }

  private forget(requester: string): void {
    delete this.holders[requester];
    this.toldQueued.delete(requester);
  }

  /** Grants what the rule says and tells newly queued runners they wait; forgets runners that have ended. */
  private async grant(): Promise<void> {
    const grants = allocatePlaces(this.holders, this.limit);
    const told: Promise<void>[] = [];
    for (const [requester, holder] of Object.entries(this.holders)) {
      const granted = grants[requester] ?? 0;
      holder.held += granted;
      holder.waiting -= granted;
      const queued = holder.waiting > 0;
      if (granted === 0 && (!queued || this.toldQueued.has(requester))) continue;
      if (queued) this.toldQueued.add(requester);
      else this.toldQueued.delete(requester);
      told.push(this.sendGrant(requester, { granted, queued, limit: this.limit }));
    }
    await Promise.all(told);
  }

  /** A runner that cannot be told has ended: it is forgotten. */
  private sendGrant(requester: string, grant: SlotGrant): Promise<void> {
    return getExternalWorkflowHandle(requester)
      .signal(taskSlotsGrantSignal, grant)
      .catch(() => {
        this.forget(requester);
        this.changed = true;
      });
  }

  /** Tasks wait and every place is held: a runner that ended without giving its places back would keep them forever. */
  private saturated(): boolean {
    return placesHeld(this.holders) >= this.limit && Object.values(this.holders).some((h) => h.waiting > 0);
  }
}
