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
  const { holders } = state;
  const toldQueued = new Set(state.toldQueued);
  let limit = state.limit;
  let changed = true;
  const forget = (requester: string): void => {
    delete holders[requester];
    toldQueued.delete(requester);
  };

  setHandler(taskSlotsRequestSignal, (request) => {
    if (request.limit !== undefined) limit = request.limit;
    changed = true;
    if (request.done) return forget(request.requester);
    const holder = holders[request.requester] ?? {
      operationId: request.operationId,
      held: 0,
      waiting: 0,
      dueMs: request.dueMs,
    };
    holders[request.requester] = {
      ...holder,
      held: Math.max(0, holder.held - request.release),
      waiting: request.waiting,
      dueMs: request.dueMs,
    };
    if (request.waiting === 0) toldQueued.delete(request.requester);
  });

  /** Grants what the rule says and tells newly queued runners they wait; forgets runners that have ended. */
  async function grant(): Promise<void> {
    const grants = allocatePlaces(holders, limit);
    const told: Promise<void>[] = [];
    for (const [requester, holder] of Object.entries(holders)) {
      const granted = grants[requester] ?? 0;
      holder.held += granted;
      holder.waiting -= granted;
      const queued = holder.waiting > 0;
      if (granted === 0 && (!queued || toldQueued.has(requester))) continue;
      if (queued) toldQueued.add(requester);
      else toldQueued.delete(requester);
      told.push(
        getExternalWorkflowHandle(requester)
          .signal(taskSlotsGrantSignal, { granted, queued, limit })
          .catch(() => {
            forget(requester);
            changed = true;
          }),
      );
    }
    await Promise.all(told);
  }

  /** Tasks wait and every place is held: a runner that ended without giving its places back would keep them forever. */
  const saturated = (): boolean => placesHeld(holders) >= limit && Object.values(holders).some((h) => h.waiting > 0);

  for (;;) {
    const woken = saturated()
      ? await condition(() => changed, SWEEP_INTERVAL_MS)
      : await condition(() => changed).then(() => true);
    if (!woken) {
      for (const requester of await taskSlotCalls.closedTaskRunners(Object.keys(holders))) forget(requester);
    }
    changed = false;
    await grant();
    if (workflowInfo().historyLength > HISTORY_EVENTS_PER_RUN && !changed) {
      await condition(allHandlersFinished);
      if (!changed) await continueAsNew<typeof taskSlots>({ limit, holders, toldQueued: [...toldQueued] });
    }
  }
}
