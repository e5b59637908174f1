/**
 * The worker's Prometheus metrics (README "Metrics"): appliance task counters and duration
 * histograms (told by the store activities), device API errors (told by the device client), and
 * the Temporal SDK's own metrics. The SDK core serves its metrics on a loopback port of its own;
 * the worker's `/metrics` answers ours and the core's as one exposition, so Prometheus scrapes one
 * port per worker (FLEET_WORKER_METRICS_PORT).
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeviceError } from '../activities/device-client';
import type { TaskChangeObserver } from '../activities/store-activities';
import type { Logger } from '../domain/logging';
import {
  deviceRequestLabel,
  ErrorCodeLabels,
  METRIC,
  observeTaskChange,
  STAGE_DURATION_BUCKETS,
  TASK_DURATION_BUCKETS,
  type TaskClock,
} from '../domain/metrics';
import type { FleetStore, TaskRecord } from '../store/fleet-store';
import { taskLabels, type TaskLabels } from '../store/metrics-queries';

/** Tasks remembered for the histograms at most (one per task in flight; a task another worker finished is dropped oldest first). */
const MAX_REMEMBERED_TASKS = 20_000;

export class WorkerMetrics implements TaskChangeObserver {
  readonly registry = new Registry();
  private readonly started = new Counter({
    name: METRIC.tasksStarted,
    help: 'Appliance tasks started (entered initiating), by kind and product code',
    labelNames: ['kind', 'product_code'],
    registers: [this.registry],
  });
  private readonly finished = new Counter({
    name: METRIC.tasksFinished,
    help: 'Appliance tasks finished, by kind, product code and outcome (successful, failed, cancelled; cancelled counts tasks that never started)',
    labelNames: ['kind', 'product_code', 'outcome'],
    registers: [this.registry],
  });
  private readonly taskDuration = new Histogram({
    name: METRIC.taskDuration,
    help: 'Appliance task duration from its start to its final status, seconds',
    labelNames: ['kind', 'product_code', 'outcome'],
    buckets: TASK_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly stageDuration = new Histogram({
    name: METRIC.stageDuration,
    help: 'Time an appliance task spent in one stage, seconds (observed when it leaves the stage)',
    labelNames: ['kind', 'product_code', 'stage'],
    buckets: STAGE_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly deviceErrors = new Counter({
    name: METRIC.deviceErrors,
    help: 'Failed device API requests, by request (method and path template) and error code',
    labelNames: ['request', 'code'],
    registers: [this.registry],
  });
  private readonly codes = new ErrorCodeLabels();
  private readonly tasks = new Map<string, { clock: TaskClock | undefined; labels: TaskLabels }>();
  /** Tasks this worker counted finished: a store write retried after it landed (its log append failed) counts nothing again. */
  private readonly finishedTasks = new Set<string>();

  constructor(
    private readonly options: {
      store: FleetStore;
      maxTasksInFlight: number;
      processMetrics?: boolean;
      now?: () => number;
    },
  ) {
    new Gauge({
      name: METRIC.maxTasksInFlight,
      help: 'FLEET_MAX_TASKS_IN_FLIGHT of this worker: the most appliance tasks running at once across the fleet',
      registers: [this.registry],
    }).set(options.maxTasksInFlight);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The device client's onError. */
  readonly deviceError = (method: string, path: string, err: DeviceError): void => {
    this.deviceErrors.inc({ request: deviceRequestLabel(method, path), code: this.codes.label(err.code) });
  };

  async taskChanged(
    operationId: string,
    serial: string,
    changes: Partial<TaskRecord>,
    task: TaskRecord | undefined,
  ): Promise<void> {
    if (changes.stage === undefined || !task) return;
    const key = `${operationId}\n${serial}`;
    if (this.finishedTasks.has(key)) return;
    const known = this.tasks.get(key);
    const labels = known?.labels ?? (await taskLabels(this.options.store, operationId, serial));
    if (!labels) return;
    const seen = observeTaskChange(known?.clock, changes, this.options.now?.() ?? Date.now(), startTimeMs(task));
    if (seen.started) this.started.inc(labels);
    if (seen.stageEnded)
      this.stageDuration.observe({ ...labels, stage: seen.stageEnded.stage }, seen.stageEnded.seconds);
    if (seen.finished) {
      const outcome = { ...labels, outcome: seen.finished.outcome };
      this.finished.inc(outcome);
      if (seen.finished.seconds !== undefined) this.taskDuration.observe(outcome, seen.finished.seconds);
    }
    this.tasks.delete(key);
    if (seen.finished) bounded(this.finishedTasks.add(key));
    else if (seen.clock) bounded(this.tasks.set(key, { clock: seen.clock, labels }));
  }
}

/** Drops the oldest entries past MAX_REMEMBERED_TASKS (Maps and Sets keep insertion order). */
function bounded(collection: Map<string, unknown> | Set<string>): void {
  while (collection.size > MAX_REMEMBERED_TASKS) collection.delete(collection.keys().next().value!);
}

/** The start the store recorded (seconds, workflow time). */
function startTimeMs(task: TaskRecord): number | undefined {
  const start = task.task_start_time as { datetime?: unknown } | undefined;
  return typeof start?.datetime === 'number' ? start.datetime * 1000 : undefined;
}

/** A loopback port free now, for the SDK core's own Prometheus exporter (only the worker's /metrics reads it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The SDK core's Prometheus options (Runtime.install telemetryOptions.metrics): Prometheus' own conventions for names and units. */
export function coreMetricsOptions(bindAddress: string) {
  return { prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } };
}

/** Our exposition, then the core's (its names are all `temporal_*`, so no family is named twice). */
export async function workerExposition(
  registry: Registry,
  coreUrl: string | undefined,
  logger: Logger,
): Promise<string> {
  const ours = await registry.metrics();
  if (!coreUrl) return ours;
  const core = await fetch(coreUrl, { signal: AbortSignal.timeout(5_000) })
    .then((res) => (res.ok ? res.text() : Promise.reject(new Error(`HTTP ${res.status}`))))
    .catch((err: unknown) => {
      logger.warn(
        { err: (err as Error).message, coreUrl },
        'the Temporal SDK metrics could not be read; /metrics answers the worker metrics only',
      );
      return '';
    });
  return `${ours.endsWith('\n') ? ours : `${ours}\n`}${core}`;
}

/**
 * Serves GET /metrics on host:port (port 0: one the system picks); answers the address it listens
 * on. A port in use is an error naming FLEET_WORKER_METRICS_PORT.
 */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  coreUrl?: string;
  logger: Logger;
}): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    if (request.url?.replace(/\?.*$/, '') !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the worker serves /metrics only\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET /metrics\n');
      return;
    }
    workerExposition(options.registry, options.coreUrl, options.logger).then(
      (text) =>
        response
          .writeHead(200, { 'content-type': options.registry.contentType })
          .end(request.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        options.logger.error({ err }, 'metrics exposition failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `FLEET_WORKER_METRICS_PORT: ${options.host}:${options.port} is in use (another worker on this machine?): give each worker its own port, or 0 for one the system picks`,
            )
          : err,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { server, url: `http://${host}:${port}/metrics` };
}
