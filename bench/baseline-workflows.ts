/**
 * The floor bench/fleet-upgrade.ts compares the orchestrator with: the smallest Temporal fan-out
 * over a fleet. One parent starts one child workflow per appliance, all of them in flight at
 * once, each child runs one no-op activity. No store, no device, no batches, no search
 * attributes. Bundled for its own worker (bench/fleet-worker.ts --baseline) on its own task queue.
 *
 * The starts go out `STARTS_PER_WORKFLOW_TASK` at a time, each group once the previous one has
 * started (a few workflow tasks, milliseconds apart): the dev server's SQLite persistence cannot
 * take one workflow task starting 10,000 children ("createTransferTasks failed … too many SQL
 * variables"), and retries it for ever. Every child still runs concurrently with the others.
 */
import { proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';

const { baselineNoop } = proxyActivities<{ baselineNoop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export const STARTS_PER_WORKFLOW_TASK = 1000;

export interface BaselineFanOutResult {
  completed: number;
}

export async function baselineFanOut(input: { serials: string[] }): Promise<BaselineFanOutResult> {
  const parent = workflowInfo().workflowId;
  const results: Promise<string>[] = [];
  for (let i = 0; i < input.serials.length; i += STARTS_PER_WORKFLOW_TASK) {
    const handles = await Promise.all(input.serials.slice(i, i + STARTS_PER_WORKFLOW_TASK).map((serial) => startChild(baselineTask, { workflowId: `${parent}-${serial}`, args: [serial] })));
    for (const handle of handles) {
      const result = handle.result();
      // Awaited below, after the later groups have started; not an unhandled rejection meanwhile.
      result.catch(() => undefined);
      results.push(result);
    }
  }
  const done = await Promise.all(results);
  return { completed: done.length };
}

export async function baselineTask(serial: string): Promise<string> {
  await baselineNoop();
  return serial;
}
