/**
 * The API's Prometheus `/metrics` (README "Metrics"): operations and appliance tasks as the store
 * holds them, read at scrape time (so they are right whichever worker ran what, and after any
 * restart), and the API's own requests. Outside /api, without authentication, as Prometheus
 * scrapes: nothing in it is secret, and no label is a serial, an operation id or an access id.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { API_DURATION_BUCKETS, METRIC } from '../domain/metrics';
import { OPERATION_KINDS } from '../domain/operation';
import { OPERATION_STATUSES } from '../domain/scc';
import type { FleetStore } from '../store/fleet-store';
import { operationCounts, tasksWaitingForPlace, unfinishedOperationTaskCounts } from '../store/metrics-queries';

export const METRICS_PATH = '/metrics';

/** Scrape-time gauges over the store; scrapes that arrive together share one read of it. */
function storeGauges(registry: Registry, store: FleetStore): void {
  let reading: Promise<void> | undefined;
  // prom-client collects every metric at once before rendering: each gauge waits for the same read.
  const collect = (): Promise<void> => (reading ??= read().finally(() => (reading = undefined)));
  const operations = new Gauge({
    name: METRIC.operations,
    help: 'Operations in the store, by kind and status',
    labelNames: ['kind', 'status'],
    registers: [registry],
    collect,
  });
  const tasks = new Gauge({
    name: METRIC.tasks,
    help: 'Appliance tasks of operations not yet finished (scheduled or running), by kind, status and stage',
    labelNames: ['kind', 'status', 'stage'],
    registers: [registry],
    collect,
  });
  const waiting = new Gauge({
    name: METRIC.tasksWaitingForPlace,
    help: 'Appliance tasks of running operations waiting for a place under the fleet-wide limit (FLEET_MAX_TASKS_IN_FLIGHT), by kind',
    labelNames: ['kind'],
    registers: [registry],
    collect,
  });
  async function read(): Promise<void> {
    const [ops, unfinished, queued] = await Promise.all([
      operationCounts(store),
      unfinishedOperationTaskCounts(store),
      tasksWaitingForPlace(store),
    ]);
    // Every kind and status, 0 when none (alerts need no absent() guard); the tasks' stages only as present.
    for (const kind of OPERATION_KINDS) {
      for (const status of OPERATION_STATUSES)
        operations.set({ kind, status }, ops.find((o) => o.kind === kind && o.status === status)?.count ?? 0);
      waiting.set({ kind }, queued.find((q) => q.kind === kind)?.count ?? 0);
    }
    tasks.reset();
    for (const { kind, status, stage, count } of unfinished) tasks.set({ kind, status, stage }, count);
  }
}

function requestMetrics(app: FastifyInstance, registry: Registry): void {
  const requests = new Counter({
    name: METRIC.apiRequests,
    help: 'API requests answered, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: METRIC.apiRequestDuration,
    help: 'API request duration, seconds, by method and route template',
    labelNames: ['method', 'route'],
    buckets: API_DURATION_BUCKETS,
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route as registered (`/api/cmc.upgrades/1.0/operations/upgrade/:id`), never the path asked for.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status_code: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}

/**
 * Registers GET /metrics on the app. `processMetrics`: prom-client's process and Node.js metrics too
 * (the API process; off where several APIs share one process, as in the tests).
 */
export function metricsRoutes(
  app: FastifyInstance,
  options: { store?: FleetStore; processMetrics?: boolean },
): Registry {
  const registry = new Registry();
  if (options.store) storeGauges(registry, options.store);
  requestMetrics(app, registry);
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  app.get(METRICS_PATH, async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return registry;
}
