/**
 * Temporal as the fleet benchmarks use it: a real dev server (the CLI's, every search attribute
 * registered, optionally its Prometheus endpoint on a known port), workflow results awaited with
 * a deadline, the server's request counter and an activity task queue's backlog.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SA } from '../../domain/search-attributes';
import {
  freeTemporalPorts,
  registerNamespace,
  setupTemporalSchemas,
  startTemporalServer,
  TEMPORAL_CONFIG_DIR,
} from '../../scripts/cluster';
import { ensureDatabase, startPostgresProcess } from '../../scripts/postgres';
import { temporalCliPath } from '../../scripts/toolchain';
import { freePort, quietRuntime } from '../../test/helpers/servers';
import { withTeardown } from '../teardown';

export interface BenchDevServer {
  env: TestWorkflowEnvironment;
  /** The server's Prometheus endpoint, when asked for. */
  metricsUrl?: string;
}

/** As test/helpers/servers.ts startDevServer, with `extraArgs` (e.g. dynamic config) and, with `metrics`, a metrics port. */
export async function startBenchDevServer(
  options: { extraArgs?: string[]; metrics?: boolean } = {},
): Promise<BenchDevServer> {
  quietRuntime();
  const metricsPort = options.metrics ? await freePort() : undefined;
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      ip: '127.0.0.1',
      searchAttributes: Object.values(SA),
      extraArgs: [
        '--log-level',
        'error',
        ...(metricsPort ? ['--metrics-port', String(metricsPort)] : []),
        ...(options.extraArgs ?? []),
      ],
    },
  });
  return { env, ...(metricsPort ? { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` } : {}) };
}

/** Which Temporal and store a benchmark runs on: the dev stack (CLI dev server, SQLite) or the cluster profile (full server and store on PostgreSQL). */
export type StackName = 'dev' | 'cluster';

/** `--stack dev|cluster|dev,cluster`: each stack named, in order. */
export function parseStacks(value: unknown): StackName[] {
  const names = (typeof value === 'string' ? value : 'dev')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.find((n) => n !== 'dev' && n !== 'cluster');
  if (bad !== undefined || !names.length)
    throw new Error(`--stack must be dev, cluster or dev,cluster (not ${JSON.stringify(bad ?? value)})`);
  return names as StackName[];
}

export interface BenchServer extends BenchDevServer {
  stack: StackName;
  /** A new, empty store: a SQLite file in `dir` (dev) or a database of the cluster's PostgreSQL. */
  newStoreUrl(dir: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The Temporal server and store of `stack`, with `dynamicConfig` values over the defaults (the dev
 * server's --dynamic-config-value; for the cluster a copy of config/temporal/dynamicconfig.yaml
 * with them added) and, with `metrics`, the server's Prometheus endpoint.
 */
export async function startBenchServer(
  stack: StackName,
  options: { metrics?: boolean; dynamicConfig?: Record<string, number | boolean | string> } = {},
): Promise<BenchServer> {
  const dynamic = Object.entries(options.dynamicConfig ?? {});
  if (stack === 'dev') {
    const server = await startBenchDevServer({
      metrics: options.metrics,
      extraArgs: dynamic.flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
    });
    return {
      ...server,
      stack,
      newStoreUrl: async (dir, name) => `sqlite:${join(dir, `${name}.db`)}`,
      stop: () => server.env.teardown(),
    };
  }
  quietRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-cluster-'));
  // PostgreSQL runs as the postgres user under root: it must reach its folder inside.
  chmodSync(dir, 0o755);
  const dynamicConfigFile = join(dir, 'dynamicconfig.yaml');
  writeFileSync(
    dynamicConfigFile,
    [
      readFileSync(join(TEMPORAL_CONFIG_DIR, 'dynamicconfig.yaml'), 'utf8'),
      ...dynamic.map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}`),
    ].join('\n'),
  );
  // Durable, as production runs it (the tests' PostgreSQL runs without fsync).
  const pg = await startPostgresProcess({ dir: join(dir, 'postgres'), port: await freePort() });
  await setupTemporalSchemas(pg.url);
  const ports = await freeTemporalPorts(freePort);
  const metricsPort = options.metrics ? await freePort() : undefined;
  const temporalServer = await startTemporalServer({
    postgresUrl: pg.url,
    ports,
    historyShards: 8,
    logLevel: 'error',
    dynamicConfigFile,
    ...(metricsPort ? { metricsPort } : {}),
  });
  await registerNamespace(temporalServer.address, 'default');
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: temporalServer.address,
    namespace: 'default',
  });
  let stores = 0;
  return {
    env,
    stack,
    ...(metricsPort ? { metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` } : {}),
    newStoreUrl: (_dir, name) => ensureDatabase(pg.url, `${name.replace(/\W/g, '_')}_${++stores}`),
    async stop() {
      await env.teardown();
      await temporalServer.stop();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts each stack's Temporal server in turn, runs `fn` on it and stops it before the next; a
 * signal stops it too (bench/teardown.ts withTeardown).
 */
export async function onEachStack(
  stacks: StackName[],
  options: Parameters<typeof startBenchServer>[1],
  fn: (server: BenchServer) => Promise<void>,
): Promise<void> {
  await withTeardown(async (teardown) => {
    for (const stack of stacks) {
      const step = performance.now();
      const server = await startBenchServer(stack, options);
      teardown.add(`temporal (${stack})`, () => server.stop());
      console.log(
        `temporal (${stack} stack) up in ${((performance.now() - step) / 1000).toFixed(1)}s${server.metricsUrl ? `, metrics at ${server.metricsUrl}` : ''}`,
      );
      await fn(server);
      await teardown.run();
    }
  });
}

/** Awaits a workflow's result up to `timeoutMs`; answers it, or why not. */
export async function resultWithin<T>(promise: Promise<T>, timeoutMs: number): Promise<{ value?: T; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ error: `not finished after ${timeoutMs / 1000}s` }), timeoutMs);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ value }),
        (err: unknown) => ({
          error:
            err instanceof WorkflowFailedError ? `${err.message}: ${err.cause?.message ?? ''}` : (err as Error).message,
        }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The server's `service_requests` counter of the frontend, by operation (RPC name): every request
 * a client (workers, this driver) made to it, in every namespace. Cumulative: read it before and
 * after a run and take the difference (requestsBetween).
 */
export async function frontendRequests(metricsUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(metricsUrl)).text();
  const byOperation = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('service_requests{') || !line.includes('service_name="frontend"')) continue;
    const operation = /operation="([^"]*)"/.exec(line)?.[1] ?? '?';
    byOperation.set(
      operation,
      (byOperation.get(operation) ?? 0) + (Number(line.slice(line.lastIndexOf(' ') + 1)) || 0),
    );
  }
  return byOperation;
}

/** The requests made between two readings of frontendRequests: the total and the busiest operations. */
export function requestsBetween(
  before: Map<string, number>,
  after: Map<string, number>,
  top = 4,
): { total: number; top: string } {
  const deltas = [...after].map(([op, n]) => [op, n - (before.get(op) ?? 0)] as const).filter(([, n]) => n > 0);
  const total = deltas.reduce((sum, [, n]) => sum + n, 0);
  const busiest = deltas.sort((a, b) => b[1] - a[1]).slice(0, top);
  return { total, top: busiest.map(([op, n]) => `${op} ${n.toLocaleString('en-US')}`).join(', ') };
}

const ACTIVITY = temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;

/** The approximate backlog of a task queue's activity tasks (DescribeTaskQueue with report_stats). */
export async function activityBacklog(client: Client, taskQueue: string): Promise<number> {
  const answer = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: ACTIVITY,
    reportStats: true,
  });
  if (!answer.stats) throw new Error('the server answered no task queue stats');
  return Number(answer.stats.approximateBacklogCount ?? 0);
}

/** Polls activityBacklog every `everyMs`, keeping the peak; failed polls are counted, not thrown. */
export class BacklogSampler {
  peak = 0;
  samples = 0;
  failures = 0;
  private readonly timer: NodeJS.Timeout;
  private pending: Promise<void> = Promise.resolve();

  constructor(client: Client, taskQueue: string, everyMs = 2000) {
    const poll = (): void => {
      this.pending = activityBacklog(client, taskQueue).then(
        (n) => {
          this.samples++;
          this.peak = Math.max(this.peak, n);
        },
        () => void this.failures++,
      );
    };
    poll();
    this.timer = setInterval(poll, everyMs);
  }

  async stop(): Promise<{ peak: number; samples: number; failures: number }> {
    clearInterval(this.timer);
    await this.pending;
    return { peak: this.peak, samples: this.samples, failures: this.failures };
  }
}
