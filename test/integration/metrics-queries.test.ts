/**
 * The store reads behind the metrics (store/metrics-queries.ts) on both backends: SQLite in a file
 * and a real PostgreSQL server (test/helpers/store-backends.ts says when that half runs).
 */
import { openDb } from '../../store/db';
import { FleetStore, type OperationRecord } from '../../store/fleet-store';
import { migrate } from '../../store/migrations';
import {
  operationCounts,
  taskLabels,
  tasksWaitingForPlace,
  unfinishedOperationTaskCounts,
  WAITING_FOR_PLACE_LOG,
} from '../../store/metrics-queries';
import { BACKENDS, type Backend } from '../helpers/store-backends';

const operation = (
  id: string,
  status: OperationRecord['status'],
  appliances: string[],
  product_code?: 'SH',
): OperationRecord & { appliances: string[] } => ({
  id,
  username: 'alice',
  status,
  create_time: '2026-11-01T10:00:00.000Z',
  ...(product_code ? { product_code } : {}),
  appliances,
});
const line = (message: string) => ({ timestamp: 1_800_000_000, severity: 'info' as const, log_entry: message });
const sorted = <T>(rows: T[]): T[] => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe.each(BACKENDS)('%s store', (_name, makeBackend) => {
  let backend: Backend;
  let store: FleetStore;

  beforeAll(async () => {
    backend = await makeBackend();
    store = new FleetStore(openDb(await backend.freshUrl()));
    await migrate(store.db);
    await store.upsertAppliance({
      serial: 'S1',
      product_code: 'SH',
      arch: 'x86_64',
      connected: true,
      current_version: { version_id: '9.12.0-100' },
    });
    await store.upsertAppliance({
      serial: 'E1',
      product_code: 'EX',
      arch: 'x86_64',
      connected: true,
      current_version: { version_id: '9.12.0-100' },
    });
    const fields = () => ({});
    // A running upgrade: one task running, two waiting, one of them for a place under the fleet-wide limit.
    await store.recordNewOperation(
      'upgrade',
      operation('op-up', 'running', ['S1', 'S2', 'S3'], 'SH'),
      fields,
      line('created'),
    );
    await store.updateTask('op-up', 'S1', { status: 'running', stage: 'downloading' });
    await store.appendLog(
      'op-up',
      line(
        `${WAITING_FOR_PLACE_LOG} 2 appliance tasks are in flight across the fleet (FLEET_MAX_TASKS_IN_FLIGHT); this one starts when a place frees up`,
      ),
      'S2',
    );
    await store.appendLog('op-up', line('a task log line that mentions no place'), 'S3');
    // A reboot of an EX appliance (no product code on the operation) that has finished: its tasks are not counted.
    await store.recordNewOperation('reboot', operation('op-rb', 'successful', ['E1']), fields, line('created'));
    await store.updateTask('op-rb', 'E1', { status: 'successful', stage: 'completed' });
    await store.appendLog('op-rb', line(`${WAITING_FOR_PLACE_LOG} …`), 'E1');
    // A scheduled downgrade: its tasks wait for their start time, not for a place.
    await store.recordNewOperation(
      'downgrade',
      operation('op-down', 'scheduled', ['S1'], 'SH'),
      fields,
      line('created'),
    );
  });
  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  test('operations by kind and status', async () => {
    expect(sorted(await operationCounts(store))).toEqual(
      sorted([
        { kind: 'upgrade', status: 'running', count: 1 },
        { kind: 'reboot', status: 'successful', count: 1 },
        { kind: 'downgrade', status: 'scheduled', count: 1 },
      ]),
    );
  });

  test('tasks of unfinished operations by kind, status and stage', async () => {
    expect(sorted(await unfinishedOperationTaskCounts(store))).toEqual(
      sorted([
        { kind: 'upgrade', status: 'running', stage: 'downloading', count: 1 },
        { kind: 'upgrade', status: 'scheduled', stage: 'waiting', count: 2 },
        { kind: 'downgrade', status: 'scheduled', stage: 'waiting', count: 1 },
      ]),
    );
  });

  test('tasks waiting for a place: scheduled, in a running operation, with the log line', async () => {
    expect(await tasksWaitingForPlace(store)).toEqual([{ kind: 'upgrade', count: 1 }]);
    await store.updateTask('op-up', 'S2', { status: 'running', stage: 'initiating' });
    expect(await tasksWaitingForPlace(store)).toEqual([]);
    await store.updateTask('op-up', 'S2', { status: 'scheduled', stage: 'waiting' });
  });

  test("a task's labels: its kind and its appliance's product code (the operation's for an appliance not in the inventory)", async () => {
    expect(await taskLabels(store, 'op-up', 'S1')).toEqual({ kind: 'upgrade', product_code: 'SH' });
    expect(await taskLabels(store, 'op-up', 'S2')).toEqual({ kind: 'upgrade', product_code: 'SH' });
    expect(await taskLabels(store, 'op-rb', 'E1')).toEqual({ kind: 'reboot', product_code: 'EX' });
    expect(await taskLabels(store, 'op-up', 'S9')).toBeUndefined();
  });
});
