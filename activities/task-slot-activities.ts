/**
 * The fleet-wide limit on appliance tasks in flight (FLEET_MAX_TASKS_IN_FLIGHT), as an activity:
 * a task runner tells the task-slots workflow what it gives back and what it waits for, starting
 * that workflow if it is not running (signal-with-start), with this worker's limit.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from '../domain/logging';
import { TASK_SLOTS_REQUEST_SIGNAL, TASK_SLOTS_WORKFLOW, taskSlotsWorkflowId, type SlotRequest, type TaskSlotsState } from '../domain/task-slots';

export interface TaskSlotActivityOptions {
  /** FLEET_MAX_TASKS_IN_FLIGHT of this worker. */
  limit: number;
  logger: Logger;
}

export function createTaskSlotActivities({ limit, logger }: TaskSlotActivityOptions) {
  return {
    async askTaskSlots(request: SlotRequest): Promise<void> {
      const { client, info } = Context.current();
      const initial: TaskSlotsState = { limit, holders: {}, toldQueued: [] };
      await client.workflow.signalWithStart(TASK_SLOTS_WORKFLOW, {
        workflowId: taskSlotsWorkflowId(info.taskQueue),
        taskQueue: info.taskQueue,
        args: [initial],
        signal: TASK_SLOTS_REQUEST_SIGNAL,
        signalArgs: [{ ...request, limit }],
      });
      logger.debug({ operationId: request.operationId, requester: request.requester, release: request.release, waiting: request.waiting }, 'task slots asked');
    },
  };
}

export type TaskSlotActivities = ReturnType<typeof createTaskSlotActivities>;
