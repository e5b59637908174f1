/** Real servers for the tests: the Temporal dev server, the Java time-skipping server, the simulator process, the API on a socket. */
import type { FastifyInstance } from 'fastify';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { SA } from '../../domain/search-attributes';
import { temporalCliPath, testServerLauncherPath } from '../../scripts/toolchain';
import { testWorkflowBundle } from './workflow-bundle';

const root = join(__dirname, '..', '..');
let runtimeInstalled = false;

/** Keeps the SDK's own logging to errors so test output stays readable. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

/**
 * The SDK gives an ephemeral server a fixed 5 s to listen; on 2 busy cores a start can take longer,
 * so a start that timed out is tried again (a wall-clock window the tests must not depend on).
 */
async function startEphemeral(
  start: () => Promise<TestWorkflowEnvironment>,
  attempts = 5,
): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts || !/did not start within/.test((err as Error).message)) throw err;
    }
  }
}

/** The real Temporal CLI dev server (in memory), with every custom search attribute registered. */
export async function startDevServer(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return startEphemeral(() =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath() },
        ip: '127.0.0.1',
        searchAttributes: Object.values(SA),
        extraArgs: ['--log-level', 'error'],
      },
    }),
  );
}

/** The Java time-skipping test server, with every custom search attribute registered. */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const env = await startEphemeral(() =>
    TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: testServerLauncherPath() } },
    }),
  );
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.values(SA).map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  return env;
}

export interface SimulatorProcess {
  url: string;
  stop(): Promise<void>;
}

/** The simulator as a separate process on a free loopback port. */
export async function startSimulator(options: {
  appliances: number;
  speed: number;
  seed?: number;
  collectors?: number;
  profile?: 'clean' | 'demo';
  faults?: string[];
  fleetFile?: string;
}): Promise<SimulatorProcess> {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'simulator/main.ts'),
      '--port',
      '0',
      '--appliances',
      String(options.appliances),
      '--collectors',
      String(options.collectors ?? 0),
      '--profile',
      options.profile ?? 'clean',
      '--speed',
      String(options.speed),
      '--seed',
      String(options.seed ?? 1),
      ...(options.faults ?? []).flatMap((f) => ['--fault', f]),
      ...(options.fleetFile ? ['--fleet-file', options.fleetFile] : []),
    ],
    { cwd: root, env: { ...process.env, FLEET_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let lastLine = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('simulator did not start within 30s')), 30_000);
    proc.once('exit', (code) => reject(new Error(`simulator exited with ${code}: ${lastLine}`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      lastLine = line;
      const match = /"port":(\d+)/.exec(line);
      if (match && line.includes('simulator listening')) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** Starts an API on a free loopback port; answers its base URL. */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

/** A TCP port free on loopback now (for a process that will listen on it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface WorkerProcess {
  pid: number;
  /** The worker's stdout lines so far (pino JSON), the last 500. */
  lines: string[];
  /** Sends the signal (default SIGTERM); `exited` settles when the process is gone. */
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Whether a worker process polls `taskQueue` for both workflow and activity tasks: the SDK's
 * default worker identity is `<pid>@<hostname>`, so its pollers name it. (At FLEET_LOG_LEVEL=warn
 * the worker does not log 'worker started', which is info.)
 */
export async function workerPolls(
  client: import('@temporalio/client').Client,
  taskQueue: string,
  pid: number,
): Promise<boolean> {
  const types = [
    temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  ];
  for (const taskQueueType of types) {
    const answer = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType,
    });
    if (!(answer.pollers ?? []).some((p) => p.identity?.startsWith(`${pid}@`))) return false;
  }
  return true;
}

/** The environment of a worker process (`npm run worker`) on these servers, logging warnings only; `extra` adds or overrides variables. */
export function workerProcessEnv(
  parts: {
    env: TestWorkflowEnvironment;
    taskQueue: string;
    storeUrl: string;
    deviceApiUrl: string;
    imageBaseUrl: string;
  },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    FLEET_TEMPORAL_ADDRESS: parts.env.address,
    FLEET_TEMPORAL_NAMESPACE: parts.env.namespace ?? 'default',
    FLEET_TASK_QUEUE: parts.taskQueue,
    FLEET_STORE_URL: parts.storeUrl,
    FLEET_DEVICE_API_URL: parts.deviceApiUrl,
    FLEET_IMAGE_BASE_URL: parts.imageBaseUrl,
    FLEET_LOG_LEVEL: 'warn',
    // The run's one bundle (test/helpers/workflow-bundle.ts): no webpack at each worker start.
    ...(testWorkflowBundle() !== undefined ? { FLEET_WORKER_WORKFLOW_BUNDLE: testWorkflowBundle()! } : {}),
    ...extra,
  };
}

/**
 * `npm run worker` (worker/main.ts) as a separate process, with `env` over this process's
 * environment. Resolves once the worker logs 'worker started' or, with `ready`, once `ready(pid)`
 * answers true (polled): e.g. `(pid) => workerPolls(client, taskQueue, pid)`.
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  options: { ready?: (pid: number) => Promise<boolean>; timeoutMs?: number } = {},
): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'worker/main.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = proc.pid!;
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let started = false;
  createInterface({ input: proc.stdout }).on('line', (line) => {
    lines.push(line);
    if (lines.length > 500) lines.shift();
    if (line.includes('"worker started"')) started = true;
  });
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (started || (options.ready && (await options.ready(pid).catch(() => false)))) break;
    if (gone) throw new Error(`worker exited before it started: ${lines.slice(-5).join('\n')}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`worker did not start within ${timeoutMs / 1000}s: ${lines.slice(-5).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
  };
  return {
    pid,
    lines,
    kill,
    exited,
    async stop(graceMs = 15_000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
