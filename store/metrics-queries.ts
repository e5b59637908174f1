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
export async function taskLabels(
  store: FleetStore,
  operationId: string,
  serial: string,
): Promise<TaskLabels | undefined> {
  const row = await store.db
    .selectFrom('appliance_tasks as t')
    .innerJoin('operations as o', 'o.id', 't.operation_id')
    .leftJoin('appliances as a', 'a.serial', 't.serial')
    .select(['t.kind', (eb) => eb.fn.coalesce('a.product_code', 'o.product_code').as('product_code')])
    .where('t.operation_id', '=', operationId)
    .where('t.serial', '=', serial)
    .executeTakeFirst();
  return row && { kind: row.kind, product_code: row.product_code ?? 'unknown' };
}

/** Operations by kind and status (every operation the store holds). */
export async function operationCounts(store: FleetStore): Promise<{ kind: string; status: string; count: number }[]> {
  return store.db
    .selectFrom('operations')
    .select(['kind', 'status', (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy(['kind', 'status'])
    .execute();
}

/** Appliance tasks of operations not yet finished (scheduled or running), by kind, status and stage. */
export async function unfinishedOperationTaskCounts(
  store: FleetStore,
): Promise<{ kind: string; status: string; stage: string; count: number }[]> {
  return store.db
    .selectFrom('appliance_tasks as t')
    .innerJoin('operations as o', 'o.id', 't.operation_id')
    .select(['t.kind', 't.status', 't.stage', (eb) => eb.fn.countAll<number>().as('count')])
    .where('o.status', 'in', ['scheduled', 'running'])
    .groupBy(['t.kind', 't.status', 't.stage'])
    .execute();
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
  return store.db
    .selectFrom('appliance_tasks as t')
    .innerJoin('operations as o', 'o.id', 't.operation_id')
    .select(['t.kind', (eb) => eb.fn.countAll<number>().as('count')])
    .where('o.status', '=', 'running')
    .where('t.status', '=', 'scheduled')
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('log_entries as l')
          .select('l.id')
          .whereRef('l.operation_id', '=', 't.operation_id')
          .whereRef('l.serial', '=', 't.serial')
          .where('l.doc', 'like', `%"log_entry":"${WAITING_FOR_PLACE_LOG}%`),
      ),
    )
    .groupBy('t.kind')
    .execute();
}
