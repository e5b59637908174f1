/**
 * Walking the histories one upgrade operation left: every workflow of it from visibility, then the
 * histories themselves of the operation, of the workflows it started that carry no serial (batches,
 * if any) and of the largest task. Workflows still running (a run stopped at the timeout) are read
 * as they are.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { SA } from '../../domain/search-attributes';
import type { FleetStore } from '../../store/fleet-store';
import {
  currentHistoryLengths,
  historyFacts,
  listOperationWorkflows,
  terminateAll,
  type HistoryFacts,
  type Largest,
} from '../lib/history-stats';
import type { LargestHistory, TaskWork } from './report';

export interface OperationHistories {
  root: HistoryFacts;
  workflows: number;
  largestHistory: LargestHistory;
  largestPayload: Largest;
  totalEvents: number;
  totalEventsEstimated: boolean;
  perTask?: TaskWork;
  /** The workflows of the operation still running, those that start others first. */
  running: string[];
}

const isTask = (e: WorkflowExecutionInfo): boolean => e.typedSearchAttributes.get(SA.serial) !== undefined;

/** The histories worth fetching whole: the operation's, its direct children's, the largest task's and a completed task's. */
async function fetchChecked(client: Client, rootId: string, listed: WorkflowExecutionInfo[]) {
  const byLength = [...listed].sort((a, b) => b.historyLength - a.historyLength);
  const direct = listed.filter((e) => e.workflowId !== rootId && !isTask(e));
  const largestTask = byLength.find(isTask);
  // One task's whole work: the largest completed task (when none has completed, the largest).
  const sampleTask = byLength.find((e) => isTask(e) && e.status.name === 'COMPLETED') ?? largestTask;
  const checked = new Map<string, HistoryFacts>([[rootId, await historyFacts(client, rootId)]]);
  for (const e of new Set([...direct, ...(largestTask ? [largestTask] : []), ...(sampleTask ? [sampleTask] : [])])) {
    checked.set(e.workflowId, await historyFacts(client, e.workflowId));
  }
  return { checked, direct, sampleTask };
}

function largestOf(
  rootId: string,
  root: HistoryFacts,
  listed: WorkflowExecutionInfo[],
  checked: Map<string, HistoryFacts>,
): LargestHistory {
  let largest: LargestHistory = { events: root.events, workflowId: rootId, type: 'upgradeOperation', bytes: undefined };
  for (const e of listed) {
    const events = Math.max(e.historyLength, checked.get(e.workflowId)?.events ?? 0);
    if (events > largest.events) largest = { events, workflowId: e.workflowId, type: e.type, bytes: e.historySize };
  }
  if (largest.workflowId === rootId) largest.bytes = listed.find((e) => e.workflowId === rootId)?.historySize;
  return largest;
}

export async function operationHistories(
  client: Client,
  store: FleetStore,
  operation: { id: string; workflowId: string; tasks: number; finished: boolean },
): Promise<OperationHistories> {
  const rootId = operation.workflowId;
  const listed = await listOperationWorkflows(client, operation.id, operation.tasks + 1, operation.finished);
  const inProgress = new Set(
    (await store.listTasks(operation.id)).filter((t) => t.status === 'running').map((t) => t.serial),
  );
  const estimatedEvents = await currentHistoryLengths(client, listed, inProgress);
  const { checked, direct, sampleTask } = await fetchChecked(client, rootId, listed);
  const root = checked.get(rootId)!;
  const largestPayload = [...checked.values()].reduce<Largest>(
    (max, f) => (f.largestPayload.bytes > max.bytes ? f.largestPayload : max),
    { bytes: 0, where: '' },
  );
  const first = new Set([rootId, ...direct.map((e) => e.workflowId)]);
  const running = listed
    .filter((e) => e.status.name === 'RUNNING')
    .sort((x, y) => Number(first.has(y.workflowId)) - Number(first.has(x.workflowId)));
  const events = listed.reduce((sum, e) => sum + Math.max(e.historyLength, checked.get(e.workflowId)?.events ?? 0), 0);
  return {
    root,
    workflows: listed.length,
    largestHistory: largestOf(rootId, root, listed, checked),
    largestPayload,
    totalEvents: estimatedEvents + events,
    totalEventsEstimated: estimatedEvents > 0,
    ...(sampleTask
      ? { perTask: { ...checked.get(sampleTask.workflowId)!, completed: sampleTask.status.name === 'COMPLETED' } }
      : {}),
    running: running.map((e) => e.workflowId),
  };
}

/**
 * What still runs is stopped before the baseline: the operation and its batches first, so no parent
 * starts anything more. Any left after 30 s stay open but idle (no worker polls their task queue)
 * until the dev server stops. Answers what to add to the outcome.
 */
export async function stopRunning(client: Client, running: string[]): Promise<string> {
  const terminated = await terminateAll(client, running, 'benchmark timeout');
  return ` (${terminated} of ${running.length} workflows still running terminated)`;
}
