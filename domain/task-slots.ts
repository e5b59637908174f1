/**
 * The fleet-wide limit on appliance tasks in flight (FLEET_MAX_TASKS_IN_FLIGHT), shared by every
 * operation: task runners (an operation, or one batch of a large operation) ask for places and
 * give them back; the task-slots workflow grants them by this rule.
 */

/** What the task-slots workflow knows of one task runner. */
export interface SlotHolder {
  operationId: string;
  /** Places granted and not given back. */
  held: number;
  /** Tasks ready to start that have no place. */
  waiting: number;
  /** When the earliest of those became due (epoch ms). */
  dueMs: number;
}

/**
 * Grants the free places one at a time, each to the operation that holds fewest (max-min fairness:
 * no operation starves another however many tasks it has), ties to the earliest due, then the
 * runner's id. Within an operation, to its runner whose waiting task is due earliest. Answers how
 * many places each runner gets; `holders` is not changed.
 */
export function allocatePlaces(holders: Readonly<Record<string, SlotHolder>>, limit: number): Record<string, number> {
  const held = new Map<string, number>();
  const waiting = new Map<string, number>();
  for (const [id, h] of Object.entries(holders)) {
    held.set(h.operationId, (held.get(h.operationId) ?? 0) + h.held);
    if (h.waiting > 0) waiting.set(id, h.waiting);
  }
  const grants: Record<string, number> = {};
  for (let free = limit - placesHeld(holders); free > 0 && waiting.size > 0; free--) {
    const id = [...waiting.keys()].reduce((best, candidate) => (before(candidate, best) ? candidate : best));
    const { operationId } = holders[id]!;
    grants[id] = (grants[id] ?? 0) + 1;
    held.set(operationId, held.get(operationId)! + 1);
    const left = waiting.get(id)! - 1;
    if (left > 0) waiting.set(id, left);
    else waiting.delete(id);
  }
  return grants;

  function before(a: string, b: string): boolean {
    const ha = holders[a]!;
    const hb = holders[b]!;
    const byHeld = held.get(ha.operationId)! - held.get(hb.operationId)!;
    if (byHeld !== 0) return byHeld < 0;
    if (ha.dueMs !== hb.dueMs) return ha.dueMs < hb.dueMs;
    return a < b;
  }
}

/** Places in use across the fleet. */
export const placesHeld = (holders: Readonly<Record<string, SlotHolder>>): number =>
  Object.values(holders).reduce((sum, h) => sum + h.held, 0);

/** The task-slots workflow: one per task queue (the workers of one queue share its limit). */
export const TASK_SLOTS_WORKFLOW = 'taskSlots';
export const TASK_SLOTS_REQUEST_SIGNAL = 'taskSlotsRequest';
export const TASK_SLOTS_GRANT_SIGNAL = 'taskSlotsGranted';
export const taskSlotsWorkflowId = (taskQueue: string): string => `task-slots-${taskQueue}`;

/** From a task runner: places it gives back, and how many of its tasks wait for one now. */
export interface SlotRequest {
  /** The runner's workflow id (grants are signalled there). */
  requester: string;
  operationId: string;
  release: number;
  /** Ready tasks without a place (not a change: the whole number). */
  waiting: number;
  /** When the earliest of them became due (epoch ms). */
  dueMs: number;
  /** The runner has finished: whatever it holds is free again. */
  done?: boolean;
  /** FLEET_MAX_TASKS_IN_FLIGHT of the worker that sent it; the latest one applies. */
  limit?: number;
}

/** To a task runner: places granted (possibly none), and whether tasks of it still wait. */
export interface SlotGrant {
  granted: number;
  queued: boolean;
  limit: number;
}

/** What the task-slots workflow carries across continue-as-new. */
export interface TaskSlotsState {
  limit: number;
  holders: Record<string, SlotHolder>;
  /** Runners already told their tasks are queued (each is told once per wait). */
  toldQueued: string[];
}
