/**
 * Activities that write the durable record: operations, appliance tasks, their states and logs.
 * Run as local activities (short, idempotent writes), so they cost the histories little.
 */
import type { Logger } from '../domain/logging';
import { taskFields, type OperationKind } from '../domain/operation';
import type { ApplianceTaskStatus, LogEntry, OperationStatus, Version } from '../domain/scc';
import type { FleetStore, OperationRecord, TaskRecord } from '../store/fleet-store';
import type { ApprovalInfo } from '../workflows/types';

export interface LogLine {
  severity: LogEntry['severity'];
  message: string;
  /** Seconds since the epoch, from workflow time. */
  timestamp: number;
}

export interface RecordOperationInput {
  kind: OperationKind;
  operation: OperationRecord & { appliances: string[] };
  /** For a schedule in local time: each appliance's start instant (domain/operation.ts taskFields). */
  startAtBySerial?: Record<string, number>;
  log: LogLine;
}

const entry = (line: LogLine): LogEntry => ({
  timestamp: line.timestamp,
  severity: line.severity,
  log_entry: line.message,
});

/** Told of every appliance task change recorded (the worker's metrics, worker/metrics.ts); never fails the write. */
export interface TaskChangeObserver {
  taskChanged(
    operationId: string,
    serial: string,
    changes: Partial<TaskRecord>,
    task: TaskRecord | undefined,
  ): Promise<void>;
}

export function createStoreActivities({
  store,
  logger,
  observer,
}: {
  store: FleetStore;
  logger: Logger;
  observer?: TaskChangeObserver;
}) {
  const observe = (
    operationId: string,
    serial: string,
    changes: Partial<TaskRecord>,
    task: TaskRecord | undefined,
  ): Promise<void> =>
    observer
      ? observer
          .taskChanged(operationId, serial, changes, task)
          .catch((err: unknown) =>
            logger.warn({ operationId, serial, err: (err as Error).message }, 'task metrics not updated'),
          )
      : Promise.resolve();
  return {
    /** Stores the operation and one `scheduled`/`waiting` task per appliance, unless already stored. */
    async recordOperation(input: RecordOperationInput): Promise<void> {
      const fields = (serial: string) => taskFields(input.kind, input.operation, input.startAtBySerial?.[serial]);
      if (await store.recordNewOperation(input.kind, input.operation, fields, entry(input.log))) {
        logger.info(
          { operationId: input.operation.id, kind: input.kind, appliances: input.operation.appliances.length },
          'operation recorded',
        );
      }
    },

    async recordOperationStatus(input: {
      operationId: string;
      status: OperationStatus;
      paused?: boolean;
      pause_reason?: string;
      stop_reason?: string;
      approval?: ApprovalInfo;
      log?: LogLine;
    }): Promise<void> {
      const { operationId: _id, log: _log, ...changes } = input;
      // A resume ends the reason of a pause (JSON leaves an undefined property out).
      await store.updateOperation(
        input.operationId,
        input.paused === false ? { ...changes, pause_reason: undefined } : changes,
      );
      if (input.log) await store.appendLog(input.operationId, entry(input.log));
      logger.info({ operationId: input.operationId, status: input.status }, 'operation status');
    },

    /**
     * Marks tasks `cancelled` that have not recorded a final state of their own (they never
     * started, or were cancelled before they could); a finished task is left as it is.
     */
    async recordTasksCancelled(input: { operationId: string; serials: string[]; log: LogLine }): Promise<void> {
      for (const serial of input.serials) {
        const task = await store.getTask(input.operationId, serial);
        if (!task || (task.status !== 'scheduled' && task.status !== 'running')) continue;
        const changes = { status: 'cancelled', stage: 'cancelled' };
        await observe(input.operationId, serial, changes, await store.updateTask(input.operationId, serial, changes));
        await store.appendLog(input.operationId, entry(input.log), serial);
      }
    },

    /**
     * Merges state changes into one appliance task and appends its log lines (`logs`, then `log`).
     * With `running_version`, also records the version the appliance now runs (as recordApplianceVersion).
     */
    async recordTaskProgress(input: {
      operationId: string;
      serial: string;
      changes: Partial<TaskRecord>;
      logs?: LogLine[];
      log?: LogLine;
      running_version?: Version;
    }): Promise<void> {
      const { operationId, serial } = input;
      if (input.running_version) await store.recordApplianceVersion(serial, input.running_version, operationId);
      await observe(operationId, serial, input.changes, await store.updateTask(operationId, serial, input.changes));
      const lines = [...(input.logs ?? []), ...(input.log ? [input.log] : [])];
      for (const line of lines) await store.appendLog(operationId, entry(line), serial);
      logger.info(
        {
          operationId,
          serial,
          ...input.changes,
          ...(input.running_version ? { running_version: input.running_version.version_id } : {}),
          ...(lines.length ? { log: lines.map((l) => l.message) } : {}),
        },
        'task progress',
      );
    },

    /** One log line for several tasks (e.g. that they wait for a place). */
    async appendTasksLog(input: { operationId: string; serials: string[]; log: LogLine }): Promise<void> {
      for (const serial of input.serials) await store.appendLog(input.operationId, entry(input.log), serial);
    },

    /** The same changes to several tasks' records (no log line). */
    async recordTaskChanges(input: {
      operationId: string;
      serials: string[];
      changes: Partial<TaskRecord>;
    }): Promise<void> {
      for (const serial of input.serials) await store.updateTask(input.operationId, serial, input.changes);
    },

    /** How many of an operation's tasks are in each status (large operations end with these). */
    taskStatusCounts(input: { operationId: string }): Promise<Partial<Record<ApplianceTaskStatus, number>>> {
      return store.taskStatusCounts(input.operationId);
    },

    /** The appliance now runs this version (after the reboot that activated it). */
    async recordApplianceVersion(input: { operationId: string; serial: string; version: Version }): Promise<void> {
      await store.recordApplianceVersion(input.serial, input.version, input.operationId);
      logger.info(
        { operationId: input.operationId, serial: input.serial, version: input.version.version_id },
        'appliance version recorded',
      );
    },
  };
}

export type StoreActivities = ReturnType<typeof createStoreActivities>;
