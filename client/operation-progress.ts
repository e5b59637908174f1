/**
 * Reads of an operation's progress and log from the store, for `fleet status --watch`, `fleet logs`
 * and `fleet operations`: what the worker has recorded (the store is the durable record, so these
 * need neither a worker nor Temporal, and stay cheap at 10,000 appliances: one query per read).
 * Reads the FleetStore's tables directly where it has no read of its own (updated times, log
 * entries after an id, an operation by id of any kind).
 */
import type { Operation, OperationKind } from '../domain/operation';
import { OPERATION_KINDS } from '../domain/operation';
import type { ApplianceTaskStatus, LogEntry, OperationStatus } from '../domain/scc';
import type { FleetStore, OperationRecord, TaskRecord } from '../store/fleet-store';
import type { OperationView, TaskView } from './operations';

const taskView = (t: TaskRecord): TaskView => {
  const started = (t.task_start_time as { datetime?: number } | undefined)?.datetime;
  return {
    serial: t.serial,
    status: t.status as ApplianceTaskStatus,
    stage: t.stage,
    ...(typeof t.message === 'string' && t.message ? { message: t.message } : {}),
    ...(typeof started === 'number' ? { startedMs: started * 1000 } : {}),
  };
};

/** The stored operation of this id (of `kind`, or of any kind), with its kind and last update. */
export async function findStoredOperation(
  store: FleetStore,
  id: string,
  kind?: OperationKind,
): Promise<{ kind: OperationKind; operation: Operation; updatedMs: number } | undefined> {
  return (await store.findOperation(id, kind)) as
    { kind: OperationKind; operation: Operation; updatedMs: number } | undefined;
}

/** The operation and every task as the store has them; undefined when it is not (yet) stored. */
export async function readStoredView(
  store: FleetStore,
  id: string,
  kind?: OperationKind,
): Promise<OperationView | undefined> {
  const found = await findStoredOperation(store, id, kind);
  if (!found) return undefined;
  // In the operation's order of appliances, as Temporal's view lists them.
  const order = new Map(found.operation.appliances.map((serial, i) => [serial, i]));
  const tasks = (await store.listTasks(id))
    .map(taskView)
    .sort((a, b) => (order.get(a.serial) ?? 0) - (order.get(b.serial) ?? 0));
  return { kind: found.kind, operation: found.operation, tasks, updatedMs: found.updatedMs };
}

/** A log line with where it belongs: `serial` empty for the operation's own log. */
export interface StoredLogEntry {
  id: number;
  serial: string;
  entry: LogEntry;
}

/** Log lines written after `afterId` (the operation's and its tasks', or one task's), in the order written, at most `limit`. */
export async function readLogEntries(
  store: FleetStore,
  operationId: string,
  options: { serial?: string; afterId?: number; limit?: number } = {},
): Promise<StoredLogEntry[]> {
  return store.logEntries(operationId, options);
}

/** A listed operation (a row of `fleet operations`): its kind, the stored operation, and its tasks by status. */
export interface ListedOperation {
  kind: OperationKind;
  operation: OperationRecord;
  task_counts: Partial<Record<ApplianceTaskStatus, number>>;
}

/** Stored operations of these kinds (default all), optionally of one status: the newest `limit`, oldest first. */
export async function listStoredOperations(
  store: FleetStore,
  filter: { kind?: OperationKind; status?: OperationStatus; limit: number },
): Promise<ListedOperation[]> {
  const kinds = filter.kind ? [filter.kind] : OPERATION_KINDS;
  const all: { kind: OperationKind; operation: OperationRecord }[] = [];
  for (const kind of kinds) {
    for (const operation of await store.listOperations(kind, filter.status ? { status: filter.status } : {}))
      all.push({ kind, operation });
  }
  all.sort(
    (a, b) =>
      Date.parse(a.operation.create_time) - Date.parse(b.operation.create_time) ||
      a.operation.id.localeCompare(b.operation.id),
  );
  const newest = all.slice(Math.max(0, all.length - filter.limit));
  return Promise.all(newest.map(async (o) => ({ ...o, task_counts: await store.taskStatusCounts(o.operation.id) })));
}
