/**
 * The fleet-wide limit on appliance tasks in flight (FLEET_MAX_TASKS_IN_FLIGHT), as activities:
 * a task runner tells the task-slots workflow what it holds and wants (starting it if need be).
 */
import type { Logger } from '../domain/logging';

export interface TaskSlotActivityOptions {
  /** FLEET_MAX_TASKS_IN_FLIGHT of this worker. */
  limit: number;
  logger: Logger;
}

export function createTaskSlotActivities(_options: TaskSlotActivityOptions) {
  return {};
}

export type TaskSlotActivities = ReturnType<typeof createTaskSlotActivities>;
