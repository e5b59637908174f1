/**
 * The floors the fleet benchmarks compare the orchestrator with, bundled for the baseline worker
 * (bench/fleet-worker.ts --baseline) on its own task queue. Deterministic workflow code only.
 *
 * `baselineFanOut` (bench/fleet-upgrade.ts): the smallest Temporal fan-out
 * over a fleet. One parent starts one child workflow per appliance, all of them in flight at
 * once, each child runs one no-op activity. No store, no device, no batches, no search
 * attributes. Bundled for its own worker (bench/fleet-worker.ts --baseline) on its own task queue.
 *
 * The starts go out `STARTS_PER_WORKFLOW_TASK` at a time, each group once the previous one has
 * started (a few workflow tasks, milliseconds apart): the dev server's SQLite persistence cannot
 * take one workflow task starting 10,000 children ("createTransferTasks failed … too many SQL
 * variables"), and retries it for ever. Every child still runs concurrently with the others.
 */
import { executeChild, proxyActivities, sleep, startChild, workflowInfo } from '@temporalio/workflow';

const { baselineNoop } = proxyActivities<{ baselineNoop(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

export const STARTS_PER_WORKFLOW_TASK = 1000;

export interface BaselineFanOutResult {
  completed: number;
}

export async function baselineFanOut(input: { serials: string[] }): Promise<BaselineFanOutResult> {
  const parent = workflowInfo().workflowId;
  const results: Promise<string>[] = [];
  for (let i = 0; i < input.serials.length; i += STARTS_PER_WORKFLOW_TASK) {
    const handles = await Promise.all(
      input.serials
        .slice(i, i + STARTS_PER_WORKFLOW_TASK)
        .map((serial) => startChild(baselineTask, { workflowId: `${parent}-${serial}`, args: [serial] })),
    );
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

/*
 * `baselineRollout` (bench/fleet-rollout.ts): the same device work as the orchestrator's upgrade
 * tasks with nothing else. One child per appliance; for each device job of its image plan, one
 * short activity that starts the job on the device (idempotency key) and a durable timer for the
 * time the device says it takes (+2%). The children run in batch workflows of at most
 * `batchSize` (even sizes); `limit` children at most run at once across all batches: the limit
 * is cut into lanes, each lane runs batches one after another with its share, and each batch
 * runs its children through that many lanes of its own.
 */

export type BaselineJobKind = 'stage' | 'patch' | 'install' | 'reboot';

/** One device job of a plan: the call and its body (docs/device-api.md). */
export interface BaselineStep {
  kind: BaselineJobKind;
  body: Record<string, unknown>;
}

export interface BaselineJobStart extends BaselineStep {
  serial: string;
  idempotencyKey: string;
}

export interface BaselineJobStarted {
  jobId: string;
  expectedSeconds: number;
}

export interface BaselineRolloutInput {
  /** The distinct plans (appliances on the same version, product code and arch share one). */
  plans: BaselineStep[][];
  /** Each appliance's serial and the index of its plan. */
  appliances: [string, number][];
  limit: number;
  batchSize: number;
}

export interface BaselineRolloutResult {
  completed: number;
  failed: number;
  /** The first few failures' messages. */
  failures: string[];
}

const { baselineStartJob } = proxyActivities<{
  baselineStartJob(input: BaselineJobStart): Promise<BaselineJobStarted>;
}>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 20 },
});

/** `total` split into `parts` whole shares as even as can be (parts ≤ total). */
function shares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** Runs `work` over `items` through `lanes` lanes, each taking the next item when it is free. */
async function throughLanes<T>(
  items: readonly T[],
  lanes: readonly number[],
  work: (item: T, index: number, lane: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    lanes.map(async (lane) => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index, lane);
      }
    }),
  );
}

const tally = (into: BaselineRolloutResult, from: BaselineRolloutResult): void => {
  into.completed += from.completed;
  into.failed += from.failed;
  into.failures.push(...from.failures.slice(0, Math.max(0, 5 - into.failures.length)));
};

export async function baselineRollout(input: BaselineRolloutInput): Promise<BaselineRolloutResult> {
  const parent = workflowInfo().workflowId;
  // As few batches as `batchSize` allows, of even sizes, so the limit's lanes are evenly used.
  const perBatch = Math.ceil(input.appliances.length / Math.ceil(input.appliances.length / input.batchSize));
  const batches: [string, number][][] = [];
  for (let i = 0; i < input.appliances.length; i += perBatch) batches.push(input.appliances.slice(i, i + perBatch));
  const result: BaselineRolloutResult = { completed: 0, failed: 0, failures: [] };
  const lanes = shares(input.limit, Math.min(batches.length, input.limit));
  await throughLanes(batches, lanes, async (appliances, index, inFlight) => {
    const batch = await executeChild(baselineRolloutBatch, {
      workflowId: `${parent}-batch-${index}`,
      args: [{ plans: input.plans, appliances, inFlight }],
    });
    tally(result, batch);
  });
  return result;
}

export async function baselineRolloutBatch(input: {
  plans: BaselineStep[][];
  appliances: [string, number][];
  inFlight: number;
}): Promise<BaselineRolloutResult> {
  const parent = workflowInfo().workflowId;
  const result: BaselineRolloutResult = { completed: 0, failed: 0, failures: [] };
  const lanes = Array.from({ length: Math.min(input.inFlight, input.appliances.length) }, () => 1);
  await throughLanes(input.appliances, lanes, async ([serial, plan]) => {
    try {
      await executeChild(baselineApplianceTask, {
        workflowId: `${parent}-${serial}`,
        args: [{ serial, steps: input.plans[plan]! }],
      });
      result.completed++;
    } catch (err) {
      result.failed++;
      if (result.failures.length < 5)
        result.failures.push(`${serial}: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
    }
  });
  return result;
}

export async function baselineApplianceTask(input: { serial: string; steps: BaselineStep[] }): Promise<void> {
  const id = workflowInfo().workflowId;
  for (const [i, step] of input.steps.entries()) {
    const started = await baselineStartJob({
      ...step,
      serial: input.serial,
      idempotencyKey: `${id}:${i}:${step.kind}`,
    });
    await sleep(Math.ceil(started.expectedSeconds * 1000 * 1.02));
  }
}
