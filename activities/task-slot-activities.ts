/**
 * The fleet-wide limit on appliance tasks in flight (FLEET_MAX_TASKS_IN_FLIGHT), as an activity:
 * a task runner tells the task-slots workflow what it gives back and what it waits for, starting
 * that workflow if it is not running (signal-with-start), with this worker's limit.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../domain/logging';
import {
  TASK_SLOTS_REQUEST_SIGNAL,
  TASK_SLOTS_WORKFLOW,
  taskSlotsWorkflowId,
  type SlotRequest,
  type TaskSlotsState,
} from '../domain/task-slots';

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
      logger.debug(
        {
          operationId: request.operationId,
          requester: request.requester,
          release: request.release,
          waiting: request.waiting,
        },
        'task slots asked',
      );
    },

    /** Of these task runners, those that are no longer running (ended without giving their places back, e.g. terminated). */
    async closedTaskRunners(workflowIds: string[]): Promise<string[]> {
      const { client } = Context.current();
      const closed: string[] = [];
      for (const workflowId of workflowIds) {
        const running = await client.workflow
          .getHandle(workflowId)
          .describe()
          .then(
            (d) => d.status.name === 'RUNNING',
            (err: unknown) => (err instanceof WorkflowNotFoundError ? false : Promise.reject(err)),
          );
        if (!running) closed.push(workflowId);
      }
      if (closed.length)
        logger.warn({ runners: closed }, 'task runners ended holding places: their places are free again');
      return closed;
    },
  };
}

export type TaskSlotActivities = ReturnType<typeof createTaskSlotActivities>;
