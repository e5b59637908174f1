/**
 * The store reads behind the Prometheus metrics (worker/metrics.ts, api/metrics.ts): counts by
 * kind, status and stage, and a task's labels. None answers a serial or an operation id.
 */
import type { FleetStore } from './fleet-store';

export interface TaskLabels {
  kind: string;
  /** The appliance's product code (a reboot operation names none); `unknown` for an appliance not in the inventory. */
  product_code: string;
}

/** The kind and product code of one appliance task, undefined when it is not stored. */
export async function taskLabels(store: FleetStore, operationId: string, serial: string): Promise<TaskLabels | undefined> {
  const [row] = await store.db.query<{ kind: string; product_code: string | null }>(
    `SELECT t.kind, COALESCE(a.product_code, o.product_code) AS product_code
       FROM appliance_tasks t JOIN operations o ON o.id = t.operation_id LEFT JOIN appliances a ON a.serial = t.serial
      WHERE t.operation_id = $1 AND t.serial = $2`,
    [operationId, serial],
  );
  return row ? { kind: row.kind, product_code: row.product_code ?? 'unknown' } : undefined;
}

/** Operations by kind and status (every operation the store holds). */
export async function operationCounts(store: FleetStore): Promise<{ kind: string; status: string; count: number }[]> {
  const rows = await store.db.query<{ kind: string; status: string; n: number | string }>('SELECT kind, status, COUNT(*) AS n FROM operations GROUP BY kind, status');
  return rows.map((r) => ({ kind: r.kind, status: r.status, count: Number(r.n) }));
}

/** Appliance tasks of operations not yet finished (scheduled or running), by kind, status and stage. */
export async function unfinishedOperationTaskCounts(store: FleetStore): Promise<{ kind: string; status: string; stage: string; count: number }[]> {
  const rows = await store.db.query<{ kind: string; status: string; stage: string; n: number | string }>(
    `SELECT t.kind, t.status, t.stage, COUNT(*) AS n
       FROM appliance_tasks t JOIN operations o ON o.id = t.operation_id
      WHERE o.status IN ('scheduled', 'running')
      GROUP BY t.kind, t.status, t.stage`,
  );
  return rows.map((r) => ({ kind: r.kind, status: r.status, stage: r.stage, count: Number(r.n) }));
}

/**
 * The log line a task runner writes, once per task, when the task-slots workflow says its ready
 * tasks wait for a place under FLEET_MAX_TASKS_IN_FLIGHT (workflows/task-runner.ts logWaitingForPlace).
 */
export const WAITING_FOR_PLACE_LOG = 'waiting for a place:';

/**
 * Tasks still `scheduled` in running operations whose log says they wait for a place under the
 * fleet-wide limit, by kind. The log line is the durable record of that wait (the task-slots
 * workflow's own state cannot be read from outside it).
 */
export async function tasksWaitingForPlace(store: FleetStore): Promise<{ kind: string; count: number }[]> {
  const rows = await store.db.query<{ kind: string; n: number | string }>(
    `SELECT t.kind, COUNT(*) AS n
       FROM appliance_tasks t JOIN operations o ON o.id = t.operation_id
      WHERE o.status = 'running' AND t.status = 'scheduled'
        AND EXISTS (SELECT 1 FROM log_entries l WHERE l.operation_id = t.operation_id AND l.serial = t.serial AND l.doc LIKE $1)
      GROUP BY t.kind`,
    [`%"log_entry":"${WAITING_FOR_PLACE_LOG}%`],
  );
  return rows.map((r) => ({ kind: r.kind, count: Number(r.n) }));
}
