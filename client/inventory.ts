/** Inventory through Temporal: the refresh Schedule, and a refresh run on demand. */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { InventoryRefreshResult } from '../workflows/inventory-refresh';
import { workflowName, type Workflows } from './workflows';

export const INVENTORY_SCHEDULE_ID = 'inventory-refresh';

/**
 * Makes the refresh Schedule run every `everySeconds` (0: no Schedule). Idempotent: an existing
 * Schedule gets the new interval. Overlapping runs are skipped, so a slow refresh never piles up.
 */
export async function ensureInventorySchedule(
  client: Client,
  options: { taskQueue: string; everySeconds: number },
): Promise<'created' | 'updated' | 'deleted' | 'absent'> {
  const handle = client.schedule.getHandle(INVENTORY_SCHEDULE_ID);
  if (options.everySeconds === 0) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return 'absent';
      throw err;
    }
  }
  const spec = { intervals: [{ every: `${options.everySeconds}s` as const }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: workflowName('inventoryRefresh'),
    taskQueue: options.taskQueue,
    args: [{ discover: true }],
    workflowId: 'inventory-refresh',
  };
  try {
    await client.schedule.create({
      scheduleId: INVENTORY_SCHEDULE_ID,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await handle.update((previous) => ({ ...previous, spec, action }));
    return 'updated';
  }
}

/** Runs one refresh now (with discovery of new devices) and waits for its counts. */
export async function runInventoryRefresh(client: Client, taskQueue: string): Promise<InventoryRefreshResult> {
  return client.workflow.execute<Workflows['inventoryRefresh']>(workflowName('inventoryRefresh'), {
    taskQueue,
    workflowId: `inventory-refresh-now-${Date.now()}`,
    args: [{ discover: true }],
  });
}
