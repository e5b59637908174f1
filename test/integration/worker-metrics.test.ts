/**
 * The worker's metrics (worker/metrics.ts) over a real SQLite store, told of task changes as the
 * store activities tell them, on a clock the test sets: exact counts and durations, a retried final
 * write counted once, a task first seen mid-way, device errors by request template and code; and
 * the exposition the worker's /metrics serves over a socket (ours, then the core's).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceError } from '../../activities/device-client';
import { createLogger } from '../../domain/logging';
import { METRIC } from '../../domain/metrics';
import { FleetStore, type TaskRecord } from '../../store/fleet-store';
import { startMetricsServer, WorkerMetrics } from '../../worker/metrics';
import { parseExposition, valueOf } from '../helpers/prometheus';

let dir: string;
let store: FleetStore;
let now = 1_800_000_000_000;
let metrics: WorkerMetrics;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-worker-metrics-'));
  store = await FleetStore.open(`sqlite:${join(dir, 'fleet.db')}`);
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
  const operation = (id: string, appliances: string[]) => ({
    id,
    username: 'alice',
    status: 'running' as const,
    create_time: '2026-11-01T10:00:00.000Z',
    appliances,
  });
  await store.recordNewOperation('upgrade', operation('op-1', ['S1']), () => ({}), {
    timestamp: 0,
    severity: 'info',
    log_entry: 'created',
  });
  await store.recordNewOperation('reboot', operation('op-2', ['E1']), () => ({}), {
    timestamp: 0,
    severity: 'info',
    log_entry: 'created',
  });
  metrics = new WorkerMetrics({ store, maxTasksInFlight: 7, now: () => now });
});
afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What recordTaskProgress does: the store's update, then the observer told of it. */
async function record(operationId: string, serial: string, changes: Partial<TaskRecord>, atMs: number): Promise<void> {
  now = atMs;
  await metrics.taskChanged(operationId, serial, changes, await store.updateTask(operationId, serial, changes));
}

const read = async () => parseExposition(await metrics.registry.metrics());
const t0 = 1_800_000_000_000;

test('an upgrade task through its stages: started once, each stage and the whole task timed exactly, a retried final write counted once', async () => {
  await record(
    'op-1',
    'S1',
    { status: 'running', stage: 'initiating', task_start_time: { datetime: t0 / 1000, time_type: 'utc' } },
    t0,
  );
  await record('op-1', 'S1', { status: 'running', stage: 'initiating' }, t0 + 100); // the same stage again (a retried write)
  await record('op-1', 'S1', {}, t0 + 200); // a log line only
  await record('op-1', 'S1', { status: 'running', stage: 'downloading' }, t0 + 1_000);
  await record('op-1', 'S1', { status: 'running', stage: 'installing' }, t0 + 31_000);
  await record('op-1', 'S1', { status: 'successful', stage: 'completed' }, t0 + 91_000);
  await record('op-1', 'S1', { status: 'successful', stage: 'completed' }, t0 + 92_000); // retried after its log append failed
  const m = await read();
  const sh = { kind: 'upgrade', product_code: 'SH' };
  expect(valueOf(m, METRIC.tasksStarted, sh)).toBe(1);
  expect(valueOf(m, METRIC.tasksFinished, { ...sh, outcome: 'successful' })).toBe(1);
  expect(valueOf(m, `${METRIC.taskDuration}_sum`, { ...sh, outcome: 'successful' })).toBe(91);
  expect(valueOf(m, `${METRIC.taskDuration}_bucket`, { ...sh, outcome: 'successful', le: '60' })).toBe(0);
  expect(valueOf(m, `${METRIC.taskDuration}_bucket`, { ...sh, outcome: 'successful', le: '120' })).toBe(1);
  expect(valueOf(m, `${METRIC.stageDuration}_sum`, { ...sh, stage: 'initiating' })).toBe(1);
  expect(valueOf(m, `${METRIC.stageDuration}_sum`, { ...sh, stage: 'downloading' })).toBe(30);
  expect(valueOf(m, `${METRIC.stageDuration}_sum`, { ...sh, stage: 'installing' })).toBe(60);
  expect(valueOf(m, `${METRIC.stageDuration}_count`, sh)).toBe(3);
  expect(valueOf(m, METRIC.maxTasksInFlight)).toBe(7);
});

test("a task first seen mid-way (started on another worker): its duration from the recorded start, no time for the stage it was in; labelled by its appliance's product code", async () => {
  await store.updateTask('op-2', 'E1', {
    status: 'running',
    stage: 'rebooting',
    task_start_time: { datetime: t0 / 1000, time_type: 'utc' },
  });
  await record('op-2', 'E1', { status: 'running', stage: 'reboot_wait' }, t0 + 20_000);
  await record('op-2', 'E1', { status: 'failed', stage: 'failed' }, t0 + 50_000);
  const m = await read();
  const ex = { kind: 'reboot', product_code: 'EX' };
  expect(valueOf(m, METRIC.tasksStarted, ex)).toBe(0);
  expect(valueOf(m, METRIC.tasksFinished, { ...ex, outcome: 'failed' })).toBe(1);
  expect(valueOf(m, `${METRIC.taskDuration}_sum`, { ...ex, outcome: 'failed' })).toBe(50);
  expect(valueOf(m, `${METRIC.stageDuration}_count`, { ...ex, stage: 'rebooting' })).toBe(0);
  expect(valueOf(m, `${METRIC.stageDuration}_sum`, { ...ex, stage: 'reboot_wait' })).toBe(30);
});

test('device errors by request template and code; a task not in the store is not counted', async () => {
  // Whatever the other tests started before (they run in any order).
  const startedBefore = valueOf(await read(), METRIC.tasksStarted);
  metrics.deviceError('POST', '/devices/S1/install', new DeviceError('refused', 409, 'install.esxi_conflict', false));
  metrics.deviceError('GET', '/devices/S1/jobs/job-1', new DeviceError('rebooting', 503, 'device.rebooting', true));
  metrics.deviceError('GET', '/devices/E1/jobs/job-9', new DeviceError('rebooting', 503, 'device.rebooting', true));
  metrics.deviceError('GET', '/devices/E1', new DeviceError('odd', 500, 'Something S1 said', true));
  await metrics.taskChanged(
    'op-9',
    'S9',
    { status: 'running', stage: 'initiating' },
    { operation_id: 'op-9', serial: 'S9', status: 'running', stage: 'initiating' },
  );
  const text = await metrics.registry.metrics();
  const m = parseExposition(text);
  expect(
    valueOf(m, METRIC.deviceErrors, { request: 'POST /devices/{serial}/install', code: 'install.esxi_conflict' }),
  ).toBe(1);
  expect(
    valueOf(m, METRIC.deviceErrors, { request: 'GET /devices/{serial}/jobs/{job_id}', code: 'device.rebooting' }),
  ).toBe(2);
  expect(valueOf(m, METRIC.deviceErrors, { request: 'GET /devices/{serial}', code: 'other' })).toBe(1);
  expect(valueOf(m, METRIC.tasksStarted)).toBe(startedBefore);
  for (const id of ['S1', 'E1', 'S9', 'op-1', 'op-2', 'op-9', 'job-1'])
    expect([id, text.includes(id)]).toEqual([id, false]);
});

test("the worker's /metrics over a socket: ours, then the core's exposition; without the core, ours alone", async () => {
  // A stand-in for the SDK core's exporter: the same format, names of its own.
  const core: Server = createServer((_req, res) =>
    res
      .writeHead(200, { 'content-type': 'text/plain' })
      .end(
        '# HELP temporal_request_total x\n# TYPE temporal_request_total counter\ntemporal_request_total{operation="GetSystemInfo"} 3\n',
      ),
  );
  await new Promise<void>((resolve) => core.listen(0, '127.0.0.1', resolve));
  const corePort = (core.address() as { port: number }).port;
  const logger = createLogger('test-worker-metrics', 'silent');
  const withCore = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    registry: metrics.registry,
    coreUrl: `http://127.0.0.1:${corePort}/metrics`,
    logger,
  });
  const coreGone = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    registry: metrics.registry,
    coreUrl: 'http://127.0.0.1:1/metrics',
    logger,
  });
  try {
    // Ours as the registry has them (the other tests may have counted tasks before this one).
    const started = valueOf(await read(), METRIC.tasksStarted);
    const both = parseExposition(await (await fetch(withCore.url)).text());
    expect(valueOf(both, 'temporal_request_total', { operation: 'GetSystemInfo' })).toBe(3);
    expect(valueOf(both, METRIC.tasksStarted)).toBe(started);
    const ours = parseExposition(await (await fetch(coreGone.url)).text());
    expect(ours.some((f) => f.name.startsWith('temporal_'))).toBe(false);
    expect(valueOf(ours, METRIC.tasksStarted)).toBe(started);
  } finally {
    for (const server of [withCore.server, coreGone.server, core])
      await new Promise((resolve) => server.close(resolve));
  }
});
