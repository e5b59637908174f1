/**
 * Prometheus metrics on real parts: the dev server, the simulator process, the worker as a process
 * (`npm run worker`, FLEET_WORKER_METRICS_PORT) and the API on a socket. A real upgrade of four
 * appliances, one refused by its device (an ESXi conflict), moves the worker's task counters,
 * duration histograms and device errors by exactly what happened, beside the Temporal SDK's own
 * metrics; the API's operation and task gauges read the store. Tasks that wait for a place under
 * FLEET_MAX_TASKS_IN_FLIGHT (held by two hanging device jobs) are counted, then cancelled. Each
 * exposition is checked strictly (test/helpers/prometheus.ts) and holds no serial, operation id or key.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { DeviceClient } from '../../activities/device-client';
import { putAccessKey } from '../../api/auth';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { createApi } from '../../api/server';
import { runInventoryRefresh } from '../../client/inventory';
import { createLogger } from '../../domain/logging';
import { METRIC } from '../../domain/metrics';
import { OPERATION_STATUSES } from '../../domain/scc';
import { FleetStore } from '../../store/fleet-store';
import { WAITING_FOR_PLACE_LOG } from '../../store/metrics-queries';
import {
  dashboardExpressions,
  metricFamiliesIn,
  parseExposition,
  samplesOf,
  valueOf,
  type Family,
} from '../helpers/prometheus';
import {
  freePort,
  listenOnLoopback,
  startDevServer,
  startSimulator,
  startWorkerProcess,
  workerPolls,
  workerProcessEnv,
  type SimulatorProcess,
  type WorkerProcess,
} from '../helpers/servers';
import { TEST_IMAGE_BASE_URL } from '../helpers/stack';
import { expectedCounters } from '../helpers/upgrade-plans';

const taskQueue = 'integration-metrics';
const TARGET = '9.16.0-100';
const OPERATOR_KEY = 'metrics-operator-key-0123456789';
/** Two places fleet-wide: the second scenario fills them with hanging jobs. */
const MAX_TASKS_IN_FLIGHT = 2;

let dir: string;
let storeUrl: string;
let env: TestWorkflowEnvironment;
let sim: SimulatorProcess;
let store: FleetStore;
let devices: DeviceClient;
let worker: WorkerProcess;
let workerMetricsPort: number;
let workerEnv: Record<string, string>;
let app: FastifyInstance;
let apiBase: string;
/** Every serial and operation id the tests used: none may appear in an exposition. */
const identifiers = new Set<string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-metrics-'));
  storeUrl = `sqlite:${join(dir, 'fleet.db')}`;
  [env, sim, store, workerMetricsPort] = await Promise.all([
    startDevServer(),
    startSimulator({ appliances: 120, speed: 100, profile: 'clean' }),
    FleetStore.open(storeUrl),
    freePort(),
  ]);
  await ensureRiverbedCatalog(store, TEST_IMAGE_BASE_URL);
  await putAccessKey(store, 'operator', OPERATOR_KEY, 'operator');
  devices = new DeviceClient({ baseUrl: sim.url });
  workerEnv = workerProcessEnv(
    { env, taskQueue, storeUrl, deviceApiUrl: sim.url, imageBaseUrl: TEST_IMAGE_BASE_URL },
    { FLEET_WORKER_METRICS_PORT: String(workerMetricsPort), FLEET_MAX_TASKS_IN_FLIGHT: String(MAX_TASKS_IN_FLIGHT) },
  );
  worker = await startWorkerProcess(workerEnv, { ready: (pid) => workerPolls(env.client, taskQueue, pid) });
  await runInventoryRefresh(env.client, taskQueue);
  app = createApi({
    client: env.client,
    logger: createLogger('test-api', 'warn'),
    store,
    taskQueue,
    checkResponses: true,
  });
  apiBase = await listenOnLoopback(app);
}, 180_000);

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await Promise.all([sim?.stop(), store?.close()]);
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const operatorAuth = `Basic ${Buffer.from(`operator:${OPERATOR_KEY}`).toString('base64')}`;

async function sccPost(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${apiBase}/api/cmc.upgrades/1.0${path}`, {
    method: 'POST',
    headers: { authorization: operatorAuth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Creates an upgrade through the API (201) and answers its id. */
async function upgrade(appliances: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const created = await sccPost('/operations/upgrade', {
    product_code: 'SH',
    target_version: { version_id: TARGET },
    reboot: true,
    comment: 'metrics',
    appliances,
    ...extra,
  });
  expect(created.status).toBe(201);
  identifiers.add(created.json.id);
  return created.json.id as string;
}

/** One scrape, without credentials (as Prometheus scrapes): the exposition read strictly, and checked for identifiers and keys. */
async function scrape(url: string): Promise<Family[]> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = parseExposition(text);
  expect([...identifiers].filter((id) => text.includes(id))).toEqual([]);
  expect(text).not.toContain(OPERATOR_KEY);
  return families;
}
const scrapeWorker = (): Promise<Family[]> => scrape(`http://127.0.0.1:${workerMetricsPort}/metrics`);
const scrapeApi = (): Promise<Family[]> => scrape(`${apiBase}/metrics`);

/** SH appliances with a one-image upgrade to TARGET (a full image: download, install, reboot). */
async function oneImageAppliances(count: number, exclude: Set<string>): Promise<string[]> {
  const chosen: string[] = [];
  for (const serial of await devices.listSerials('SH')) {
    if (exclude.has(serial)) continue;
    const plan = await expectedCounters(store, await devices.info(serial), TARGET).catch(() => undefined);
    if (plan?.stages === 1 && plan.patches === 0) chosen.push(serial);
    if (chosen.length === count) return chosen;
  }
  throw new Error(
    `only ${chosen.length} SH appliances upgrade to ${TARGET} with one full image: enlarge the simulated fleet`,
  );
}

/** Until the store shows each of these tasks' logs saying it waits for a place (the runner writes it once the task-slots workflow queues them). */
async function untilWaitingForPlace(operationId: string, serials: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const logs = await Promise.all(serials.map((serial) => store.getLog(operationId, serial)));
    if (logs.every((log) => log.some((line) => line.log_entry.startsWith(WAITING_FOR_PLACE_LOG)))) return;
    if (Date.now() > deadline) throw new Error(`the tasks never said they wait for a place: ${JSON.stringify(logs)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const upgradeSH = { kind: 'upgrade', product_code: 'SH' };

test('an upgrade with one device refusal: task counters, duration histograms and device errors move by what happened; SDK metrics beside them', async () => {
  // Counters move by what this test did, whatever ran before it: each is read as the change since this scrape.
  const [before, apiBefore] = [await scrapeWorker(), await scrapeApi()];
  for (const name of [
    METRIC.tasksStarted,
    METRIC.tasksFinished,
    METRIC.taskDuration,
    METRIC.stageDuration,
    METRIC.deviceErrors,
  ])
    expect(before.map((f) => f.name)).toContain(name);
  expect(valueOf(before, METRIC.maxTasksInFlight)).toBe(MAX_TASKS_IN_FLIGHT);

  const appliances = await oneImageAppliances(4, new Set(identifiers));
  for (const serial of appliances) identifiers.add(serial);
  const refusing = appliances[0]!;
  await devices.addFault(refusing, { kind: 'esxi_conflict' });
  const id = await upgrade(appliances);
  const result = await env.client.workflow.getHandle(`upgrade-${id}`).result();
  expect(result.operation.status).toBe('partially_successful');
  const byStatus = (status: string) => result.tasks.filter((t: { status: string }) => t.status === status).length;
  expect([byStatus('successful'), byStatus('failed')]).toEqual([3, 1]);

  const after = await scrapeWorker();
  const moved = (name: string, labels: Record<string, string> = {}) =>
    valueOf(after, name, labels) - valueOf(before, name, labels);
  expect(moved(METRIC.tasksStarted, upgradeSH)).toBe(4);
  expect(moved(METRIC.tasksFinished, { ...upgradeSH, outcome: 'successful' })).toBe(3);
  expect(moved(METRIC.tasksFinished, { ...upgradeSH, outcome: 'failed' })).toBe(1);
  expect(moved(`${METRIC.taskDuration}_count`, { ...upgradeSH, outcome: 'successful' })).toBe(3);
  expect(moved(`${METRIC.taskDuration}_count`, { ...upgradeSH, outcome: 'failed' })).toBe(1);
  // Each task's stages follow one another from its start to its end: their times add up to the task's.
  const taskSeconds = moved(`${METRIC.taskDuration}_sum`, upgradeSH);
  expect(taskSeconds).toBeGreaterThan(0);
  expect(moved(`${METRIC.stageDuration}_sum`, upgradeSH)).toBeCloseTo(taskSeconds, 6);
  // Every task left initiating and downloading once; all four reached installing (the refused one failed there).
  for (const stage of ['initiating', 'downloading', 'installing'])
    expect([stage, moved(`${METRIC.stageDuration}_count`, { ...upgradeSH, stage })]).toEqual([stage, 4]);
  expect(moved(`${METRIC.stageDuration}_count`, { ...upgradeSH, stage: 'patching' })).toBe(0);
  // The refusal, once (a final error is not retried), by request template and code.
  expect(moved(METRIC.deviceErrors, { request: 'POST /devices/{serial}/install', code: 'install.esxi_conflict' })).toBe(
    1,
  );
  expect(
    samplesOf(after, METRIC.deviceErrors).filter(
      (s) => !/^(GET|POST|DELETE) \/[a-z/{}_]*$/.test(s.labels.request!) || s.labels.code === 'other',
    ),
  ).toEqual([]);

  // The Temporal SDK's own metrics, from the worker's runtime, on the same port.
  expect(
    moved('temporal_workflow_completed_total', { workflow_type: 'applianceUpgradeTask', task_queue: taskQueue }),
  ).toBe(4);
  expect(moved('temporal_workflow_completed_total', { workflow_type: 'upgradeOperation', task_queue: taskQueue })).toBe(
    1,
  );
  expect(moved('temporal_workflow_task_execution_latency_seconds_count', { task_queue: taskQueue })).toBeGreaterThan(0);
  expect(samplesOf(after, 'temporal_num_pollers', { task_queue: taskQueue }).length).toBeGreaterThan(0);
  // prom-client's process metrics.
  expect(valueOf(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);

  // The API reads the store: the operation by its status (every other status 0), no unfinished task.
  const api = await scrapeApi();
  const apiMoved = (name: string, labels: Record<string, string>) =>
    valueOf(api, name, labels) - valueOf(apiBefore, name, labels);
  for (const status of OPERATION_STATUSES)
    expect([status, apiMoved(METRIC.operations, { kind: 'upgrade', status })]).toEqual([
      status,
      status === 'partially_successful' ? 1 : 0,
    ]);
  expect(samplesOf(api, METRIC.tasks)).toEqual([]);
  expect(valueOf(api, METRIC.tasksWaitingForPlace, { kind: 'upgrade' })).toBe(0);
  expect(
    apiMoved(METRIC.apiRequests, {
      method: 'POST',
      route: '/api/cmc.upgrades/1.0/operations/upgrade',
      status_code: '201',
    }),
  ).toBe(1);
  expect(
    apiMoved(`${METRIC.apiRequestDuration}_count`, {
      method: 'POST',
      route: '/api/cmc.upgrades/1.0/operations/upgrade',
    }),
  ).toBe(1);

  // Every metric the Grafana dashboard reads is served by the worker or the API.
  const dashboard = JSON.parse(readFileSync(join(__dirname, '../../docs/grafana-dashboard.json'), 'utf8'));
  const served = new Set([...after, ...api].map((f) => f.name));
  expect(
    dashboardExpressions(dashboard)
      .flatMap(metricFamiliesIn)
      .filter((name) => !served.has(name)),
  ).toEqual([]);
  await devices.clearFaults(refusing);
});

test('tasks waiting for a place under FLEET_MAX_TASKS_IN_FLIGHT are counted while they wait; cancelled, they are finished without a duration', async () => {
  const used = new Set(identifiers);
  const [hangA, hangB, waitA, waitB] = await oneImageAppliances(4, used);
  for (const serial of [hangA!, hangB!, waitA!, waitB!]) identifiers.add(serial);
  // Two device jobs that never end hold both places.
  for (const serial of [hangA!, hangB!]) await devices.addFault(serial, { kind: 'hang_at_stage', stage: 'stage' });
  const before = await scrapeWorker();
  const holding = await upgrade([hangA!, hangB!]);
  const deadline = Date.now() + 120_000;
  while ((await store.taskStatusCounts(holding)).running !== 2) {
    if (Date.now() > deadline) throw new Error('the hanging tasks never both ran');
    await new Promise((r) => setTimeout(r, 200));
  }
  const waiting = await upgrade([waitA!, waitB!]);
  await untilWaitingForPlace(waiting, [waitA!, waitB!]);

  const api = await scrapeApi();
  expect(valueOf(api, METRIC.tasksWaitingForPlace, { kind: 'upgrade' })).toBe(2);
  expect(valueOf(api, METRIC.tasks, { kind: 'upgrade', status: 'scheduled', stage: 'waiting' })).toBe(2);
  expect(valueOf(api, METRIC.tasks, { kind: 'upgrade', status: 'running' })).toBe(2);
  expect(valueOf(api, METRIC.operations, { kind: 'upgrade', status: 'running' })).toBe(2);

  // The waiting operation first, so the places the other frees cannot go to its tasks.
  for (const id of [waiting, holding]) {
    expect((await sccPost(`/operations/upgrade/${id}/cancel`)).status).toBe(204);
    expect((await env.client.workflow.getHandle(`upgrade-${id}`).result()).operation.status).toBe('cancelled');
  }

  const after = await scrapeWorker();
  const delta = (name: string, labels: Record<string, string>) =>
    valueOf(after, name, labels) - valueOf(before, name, labels);
  expect(delta(METRIC.tasksStarted, upgradeSH)).toBe(2);
  expect(delta(METRIC.tasksFinished, { ...upgradeSH, outcome: 'cancelled' })).toBe(4);
  // Only the two that started have a duration; they were cancelled while downloading.
  expect(delta(`${METRIC.taskDuration}_count`, { ...upgradeSH, outcome: 'cancelled' })).toBe(2);
  expect(delta(`${METRIC.stageDuration}_count`, { ...upgradeSH, stage: 'downloading' })).toBe(2);

  const settled = await scrapeApi();
  expect(valueOf(settled, METRIC.tasksWaitingForPlace, { kind: 'upgrade' })).toBe(0);
  expect(valueOf(settled, METRIC.operations, { kind: 'upgrade', status: 'cancelled' })).toBe(2);
  expect(valueOf(settled, METRIC.operations, { kind: 'upgrade', status: 'running' })).toBe(0);
  expect(samplesOf(settled, METRIC.tasks)).toEqual([]);
  for (const serial of [hangA!, hangB!]) await devices.clearFaults(serial);
});

test('a second worker on the same metrics port stops at start, naming FLEET_WORKER_METRICS_PORT; the worker serves /metrics only', async () => {
  const refused = await startWorkerProcess(workerEnv, { timeoutMs: 60_000 }).then(
    async (w) => {
      await w.stop();
      return 'started';
    },
    (err: Error) => err.message,
  );
  expect(refused).toMatch(/FLEET_WORKER_METRICS_PORT: 127\.0\.0\.1:\d+ is in use/);
  expect((await fetch(`http://127.0.0.1:${workerMetricsPort}/`)).status).toBe(404);
  expect((await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`, { method: 'POST' })).status).toBe(405);
});
