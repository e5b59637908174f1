/**
 * Reading what a benchmark run left in Temporal: histories (events, the work they record, the
 * largest payload), every workflow a visibility query finds, the current length of running ones.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SA } from '../../domain/search-attributes';
import { sleep } from './report';

export interface Largest {
  bytes: number;
  where: string;
}

const EVENT_TYPE = temporal.api.enums.v1.EventType;
export const eventName = (type: number | null | undefined): string =>
  (EVENT_TYPE[type ?? 0] ?? String(type))
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The largest payload (its data's bytes) anywhere in a decoded proto object. */
export function largestPayloadIn(value: unknown): number {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  if (Array.isArray(value)) return value.reduce((max: number, v) => Math.max(max, largestPayloadIn(v)), 0);
  const object = value as Record<string, unknown>;
  if (object.data instanceof Uint8Array && 'metadata' in object) return object.data.length;
  let max = 0;
  for (const v of Object.values(object)) max = Math.max(max, largestPayloadIn(v));
  return max;
}

/** Sum of a Payloads' data bytes (a workflow's input or result). */
export const payloadsBytes = (payloads: temporal.api.common.v1.IPayloads | null | undefined): number =>
  (payloads?.payloads ?? []).reduce((sum, p) => sum + (p.data?.length ?? 0), 0);

export interface HistoryFacts {
  events: number;
  largestPayload: Largest;
  inputBytes: number;
  resultBytes: number;
  /** Why it closed when not completed (terminated, failed: the failure's message). */
  closedBy?: string;
  /** The work it did: activities scheduled, local activities (markers) and workflow tasks completed. */
  activities: number;
  localActivities: number;
  workflowTasks: number;
}

export async function historyFacts(client: Client, workflowId: string): Promise<HistoryFacts> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const facts: HistoryFacts = {
    events: events.length,
    largestPayload: { bytes: 0, where: '' },
    inputBytes: 0,
    resultBytes: 0,
    activities: 0,
    localActivities: 0,
    workflowTasks: 0,
  };
  for (const event of events) {
    const bytes = largestPayloadIn(event);
    if (bytes > facts.largestPayload.bytes)
      facts.largestPayload = { bytes, where: `${workflowId} ${eventName(event.eventType)}` };
    if (event.workflowExecutionStartedEventAttributes)
      facts.inputBytes = payloadsBytes(event.workflowExecutionStartedEventAttributes.input);
    if (event.workflowExecutionCompletedEventAttributes)
      facts.resultBytes = payloadsBytes(event.workflowExecutionCompletedEventAttributes.result);
    if (event.workflowExecutionTerminatedEventAttributes)
      facts.closedBy = `terminated: ${event.workflowExecutionTerminatedEventAttributes.reason ?? ''}`;
    if (event.workflowExecutionFailedEventAttributes)
      facts.closedBy = `failed: ${event.workflowExecutionFailedEventAttributes.failure?.message ?? ''}`;
    if (event.activityTaskScheduledEventAttributes) facts.activities++;
    if (event.markerRecordedEventAttributes?.markerName === 'core_local_activity') facts.localActivities++;
    if (event.workflowTaskCompletedEventAttributes) facts.workflowTasks++;
  }
  return facts;
}

/** Every workflow a visibility query finds (closed ones carry their history length). */
export async function listAll(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const execution of client.workflow.list({ query, pageSize: 1000 })) found.push(execution);
  return found;
}

/** Runs `fn` over `items`, 32 at a time, until done or `deadlineMs` has passed; answers how many succeeded. */
export async function eachUntil<T>(
  items: readonly T[],
  deadlineMs: number,
  fn: (item: T) => Promise<unknown>,
): Promise<number> {
  const deadline = performance.now() + deadlineMs;
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < items.length && performance.now() < deadline) {
        await fn(items[next++]!).then(
          () => done++,
          () => undefined,
        );
      }
    }),
  );
  return done;
}

/**
 * Terminates the workflows (for at most 30 seconds; the worker has stopped, so any left open do
 * nothing until the dev server stops); answers how many it did.
 */
export const terminateAll = (client: Client, workflowIds: string[], reason: string): Promise<number> =>
  eachUntil(workflowIds, 30_000, (id) => client.workflow.getHandle(id).terminate(reason));

/** Running appliance tasks described one by one, at most; the others' lengths are estimated from them. */
const DESCRIBED_TASKS = 500;

/**
 * Visibility keeps a running workflow's history length as it was when the workflow started, so
 * running ones are described instead: every workflow without a serial (the operation, batches),
 * and up to DESCRIBED_TASKS running tasks, those the store says have begun (`inProgress`) first.
 * Answers the events of the begun tasks not described, estimated at the described begun ones'
 * mean (0 when all were described); tasks not begun keep visibility's length (their start).
 */
export async function currentHistoryLengths(
  client: Client,
  listed: WorkflowExecutionInfo[],
  inProgress: ReadonlySet<string>,
): Promise<number> {
  const running = listed.filter((e) => e.status.name === 'RUNNING');
  const serialOf = (e: WorkflowExecutionInfo): string | undefined => e.typedSearchAttributes.get(SA.serial);
  const begun = (e: WorkflowExecutionInfo): boolean => inProgress.has(serialOf(e) ?? '');
  const tasks = running.filter((e) => serialOf(e) !== undefined).sort((x, y) => Number(begun(y)) - Number(begun(x)));
  const sample = tasks.slice(0, DESCRIBED_TASKS);
  await eachUntil([...running.filter((e) => serialOf(e) === undefined), ...sample], 60_000, async (e) => {
    const description = await client.workflow.getHandle(e.workflowId).describe();
    e.historyLength = description.historyLength;
    e.historySize = description.historySize;
  });
  const begunSample = sample.filter(begun);
  const rest = tasks.slice(DESCRIBED_TASKS).filter(begun);
  if (!rest.length || !begunSample.length) return 0;
  const mean = begunSample.reduce((sum, e) => sum + e.historyLength, 0) / begunSample.length;
  return Math.round(rest.reduce((sum, e) => sum + Math.max(0, mean - e.historyLength), 0));
}

/** Waits (a little) for visibility to show every closed workflow of the operation. */
export async function listOperationWorkflows(
  client: Client,
  operationId: string,
  atLeast: number,
  finished: boolean,
): Promise<WorkflowExecutionInfo[]> {
  const query = `${SA.operationId.name} = '${operationId}'`;
  const deadline = performance.now() + 30_000;
  for (;;) {
    const found = await listAll(client, query);
    const settled = !finished || (found.length >= atLeast && found.every((e) => e.status.name !== 'RUNNING'));
    if (settled || performance.now() > deadline) return found;
    await sleep(1000);
  }
}

/**
 * Every workflow a visibility query finds and the events in their histories: closed ones as
 * visibility has them, running ones described (visibility keeps a running workflow's length as
 * it was when it started). Answers the running ones' ids too.
 */
export async function historyEvents(
  client: Client,
  query: string,
): Promise<{ workflows: number; events: number; running: { workflowId: string; type: string }[] }> {
  const listed = await listAll(client, query);
  const running = listed.filter((e) => e.status.name === 'RUNNING');
  await eachUntil(running, 60_000, async (e) => {
    e.historyLength = (await client.workflow.getHandle(e.workflowId, e.runId).describe()).historyLength;
  });
  return {
    workflows: listed.length,
    events: listed.reduce((sum, e) => sum + e.historyLength, 0),
    running: running.map((e) => ({ workflowId: e.workflowId, type: e.type })),
  };
}
