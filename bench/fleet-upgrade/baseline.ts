/** The minimal fan-out over the same serials, on its own worker process and task queue (bench/baseline-workflows.ts). */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BaselineFanOutResult } from '../baseline-workflows';
import { historyFacts, listAll } from '../lib/history-stats';
import { cpuSnapshot, cpuSpent } from '../lib/proc-sampling';
import { count, seconds } from '../lib/report';
import { resultWithin } from '../lib/temporal';
import { startWorker } from '../lib/worker-process';
import { Teardown } from '../teardown';
import type { RunFigures } from './report';

type FanOut = (input: { serials: string[] }) => Promise<BaselineFanOutResult>;

/** Terminates the fan-out if it still runs; answers what to add to the outcome. */
async function stopIfRunning(handle: WorkflowHandle<FanOut>): Promise<string> {
  const running = await handle.describe().then(
    (d) => d.status.name === 'RUNNING',
    () => false,
  );
  if (!running) return '';
  await handle.terminate('benchmark timeout').catch(() => undefined);
  return ' (terminated)';
}

/** Figures from the fan-out's history and its children's (ids are `${workflowId}-${serial}`). */
async function fanOutFigures(client: Client, workflowId: string, completed: number | undefined) {
  const facts = await historyFacts(client, workflowId);
  const query = `WorkflowType = 'baselineTask' AND ExecutionStatus = 'Completed' AND WorkflowId STARTS_WITH '${workflowId}-'`;
  const children = await listAll(client, query).catch(() => undefined);
  const child = children?.[0] ? await historyFacts(client, children[0].workflowId) : undefined;
  return {
    facts,
    finished: completed ?? children?.length ?? 0,
    workflows: 1 + (children?.length ?? 0),
    totalEvents: facts.events + (children ?? []).reduce((sum, e) => sum + e.historyLength, 0),
    child,
  };
}

export async function runBaseline(
  env: TestWorkflowEnvironment,
  size: number,
  serials: string[],
  timeoutMs: number,
): Promise<RunFigures> {
  const client = env.client;
  const teardown = new Teardown();
  try {
    const taskQueue = `bench-baseline-${size}-${Date.now()}`;
    const workerEnv = {
      FLEET_TEMPORAL_ADDRESS: env.address,
      FLEET_TEMPORAL_NAMESPACE: env.namespace ?? 'default',
      FLEET_TASK_QUEUE: taskQueue,
    };
    const worker = await startWorker('baseline worker', workerEnv, ['--baseline']);
    teardown.add('baseline worker', () => worker.kill());
    await worker.reset();
    const workflowId = `baseline-${size}-${Date.now()}`;
    console.log(
      `[${count(size)}] baseline: ${count(serials.length)} child workflows at once, one no-op activity each; running…`,
    );
    const cpuBefore = cpuSnapshot();
    const started = performance.now();
    const handle = await client.workflow.start<FanOut>('baselineFanOut', {
      taskQueue,
      workflowId,
      args: [{ serials }],
    });
    const result = await resultWithin(handle.result(), timeoutMs);
    const wallSeconds = seconds(started);
    const cpu = cpuSpent(cpuBefore, cpuSnapshot());
    let outcome = result.value ? 'completed' : `did not complete: ${result.error}${await stopIfRunning(handle)}`;
    const report = await worker.stop();
    const { facts, finished, workflows, totalEvents, child } = await fanOutFigures(
      client,
      workflowId,
      result.value?.completed,
    );
    if (facts.closedBy) outcome += `; ${facts.closedBy}`;
    return {
      outcome,
      tasks: serials.length,
      finished,
      successful: finished,
      wallSeconds,
      tasksPerSecond: finished / wallSeconds,
      rootEvents: facts.events,
      largestHistory: { events: Math.max(facts.events, child?.events ?? 0), workflowId, type: 'baselineFanOut' },
      workflows,
      totalEvents,
      cpu,
      largestPayload:
        child && child.largestPayload.bytes > facts.largestPayload.bytes ? child.largestPayload : facts.largestPayload,
      inputBytes: facts.inputBytes,
      resultBytes: facts.resultBytes,
      ...(child ? { perTask: { ...child, completed: true } } : {}),
      worker: report,
    };
  } finally {
    await teardown.run();
  }
}
