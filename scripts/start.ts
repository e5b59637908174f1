/**
 * `npm start`: the whole system on its embedded defaults, in one terminal.
 *   Temporal dev server (SQLite file under FLEET_DATA_DIR, Web UI on FLEET_TEMPORAL_UI_PORT),
 *   the simulator with a demo fleet, the worker and the API. Ctrl-C stops them all.
 * `FLEET_STACK=cluster npm start`: the production topology instead (scripts/cluster.ts): PostgreSQL
 *   in <FLEET_DATA_DIR>/postgres, the full Temporal server on it (FLEET_TEMPORAL_HISTORY_SHARDS), its
 *   Web UI server, FLEET_CLUSTER_WORKERS workers, the API and the simulator, the store in its own
 *   database of that PostgreSQL (unless FLEET_STORE_URL is set).
 *   Workflows are bundled once, into <FLEET_DATA_DIR>/workflow-bundle.js, which the worker loads
 *   (FLEET_WORKER_WORKFLOW_BUNDLE), as a production worker does.
 *   On a terminal every process's pino lines are printed readably (pino-pretty), each after its
 *   process's name; into a pipe or a file they stay JSON, one object a line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import pinoPretty, { prettyFactory } from 'pino-pretty';
import { DeviceClient } from '../activities/device-client';
import { ensureDemoCustomerImages } from '../api/bootstrap';
import { apiBase } from '../client/cli/keys';
import { syncCollectors } from '../client/collector-upgrades';
import { runInventoryRefresh } from '../client/inventory';
import { loadConfig } from '../domain/config';
import { createLogger } from '../domain/logging';
import { SEARCH_ATTRIBUTE_TYPES } from '../domain/search-attributes';
import { FleetStore } from '../store/fleet-store';
import { buildWorkflowBundle } from './build-workflow-bundle';
import {
  clusterConfigSchema,
  defaultTemporalPorts,
  registerNamespace,
  setupTemporalSchemas,
  startTemporalServer,
  startTemporalUi,
  waitForTemporal,
} from './cluster';
import { ensureDatabase, startPostgresProcess } from './postgres';
import { temporalCliPath } from './toolchain';

const root = resolve(__dirname, '..');
const config = loadConfig();
const cluster = parse(clusterConfigSchema);
/** Readable lines on a terminal, JSON otherwise. */
const terminal = process.stdout.isTTY === true;
const PRETTY = { colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' };
const logger = createLogger(
  'start',
  config.FLEET_LOG_LEVEL,
  terminal ? pinoPretty({ ...PRETTY, sync: true }) : undefined,
);
const prettyLine = terminal ? prettyFactory(PRETTY) : undefined;

/** One line of a process, readable on a terminal when it is a pino line; as it came otherwise. */
function shown(name: string, line: string): string {
  if (prettyLine && line.startsWith('{')) {
    try {
      const entry = JSON.parse(line) as { level?: unknown; time?: unknown };
      if (typeof entry.level === 'number' && entry.time !== undefined)
        return `[${name}] ${prettyLine(entry).trimEnd()}\n`;
    } catch {
      // Not JSON after all: as it came.
    }
  }
  return `[${name}] ${line}\n`;
}
const prefixed = (name: string) => (line: string) => void process.stdout.write(shown(name, line));
const children: { name: string; proc: ChildProcess }[] = [];
let stopping = false;

/** As loadConfig: a bad value stops start-up naming the variable. */
function parse<T>(schema: {
  safeParse(
    env: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}): T {
  const result = schema.safeParse(process.env);
  if (result.success) return result.data;
  throw new Error(
    `invalid configuration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
  );
}

function launch(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const proc = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [proc.stdout, proc.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(shown(name, line)));
  }
  return adopt(name, proc);
}

/** A child process (its output already shown) stopped with the others, and stopping them all if it exits on its own. */
function adopt(name: string, proc: ChildProcess): ChildProcess {
  proc.on('exit', (code, signal) => {
    if (!stopping) {
      logger.error({ process: name, code, signal }, `${name} exited unexpectedly; stopping everything`);
      void stopAll(1);
    }
  });
  children.push({ name, proc });
  return proc;
}

const tsProcess = (name: string, file: string, env: NodeJS.ProcessEnv = {}): ChildProcess =>
  launch(name, process.execPath, ['--import', 'tsx', join(root, file)], env);

async function stopAll(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Reverse order: API and worker first, the Temporal server last.
  for (const { name, proc } of [...children].reverse()) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    const exited = new Promise<void>((done) => proc.once('exit', () => done()));
    proc.kill('SIGTERM');
    const killTimer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killTimer);
    logger.info(`${name} stopped`);
  }
  process.exit(exitCode);
}

async function waitForSimulator(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${baseUrl.replace(/\/+$/, '')}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`the device simulator did not answer at ${baseUrl} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The demo fleet in the store at once: appliances (not only at the first scheduled refresh), the
 * Sumo collectors, and the demo's customer images beside the Riverbed catalog the API adds.
 */
async function loadDemo(address: string, storeUrl: string): Promise<void> {
  const client = new Client({
    connection: await Connection.connect({ address }),
    namespace: config.FLEET_TEMPORAL_NAMESPACE,
  });
  const store = await FleetStore.open(storeUrl);
  try {
    // The inventory last: /health says ready once it is in (store/readiness.ts), so all the rest is too.
    await waitForSimulator(config.FLEET_DEVICE_API_URL, 60_000);
    const collectors = await syncCollectors(new DeviceClient({ baseUrl: config.FLEET_DEVICE_API_URL }), store);
    logger.info(collectors, `collectors: ${collectors.collectors} in the store`);
    const images = await ensureDemoCustomerImages(store, config.FLEET_IMAGE_BASE_URL);
    if (images) logger.info({ images }, 'demo customer images added');
    const result = await runInventoryRefresh(client, config.FLEET_TASK_QUEUE);
    logger.info(result, `inventory: ${result.appliances} appliances in the store`);
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      'loading the demo fleet failed; the scheduled inventory refresh will retry the appliances',
    );
  } finally {
    await store.close();
    await client.connection.close();
  }
}

/** Where the admin API key is, and a curl line that uses it. */
function adminKeyLines(): string[] {
  const operations = `${apiBase(config)}/api/cmc.upgrades/1.0/operations/upgrade`;
  if (config.FLEET_ADMIN_ACCESS_ID !== undefined) {
    return [
      `  Admin API key     FLEET_ADMIN_ACCESS_ID / FLEET_ADMIN_ACCESS_KEY (from the environment)`,
      `      try it:       curl -u "$FLEET_ADMIN_ACCESS_ID:$FLEET_ADMIN_ACCESS_KEY" ${operations}`,
    ];
  }
  const file = resolve(root, config.FLEET_DATA_DIR, 'admin-access-key');
  const shownPath = file.startsWith(`${process.cwd()}/`) ? relative(process.cwd(), file) : file;
  return [
    `  Admin API key     ${shownPath}  (admin:<key>, mode 600, written by the API at its first start)`,
    `      try it:       curl -u "$(cat ${shownPath})" ${operations}`,
  ];
}

/** The dev profile: the Temporal CLI dev server on a SQLite file. Answers the banner's Temporal lines. */
async function startDevTemporal(dataDir: string): Promise<{ address: string; storeUrl: string; banner: string[] }> {
  launch('temporal', temporalCliPath(), [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(config.FLEET_TEMPORAL_PORT),
    '--ui-port',
    String(config.FLEET_TEMPORAL_UI_PORT),
    '--db-filename',
    join(dataDir, 'temporal.db'),
    '--namespace',
    config.FLEET_TEMPORAL_NAMESPACE,
    '--log-level',
    'warn',
    ...Object.entries(SEARCH_ATTRIBUTE_TYPES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ]);
  const address = `127.0.0.1:${config.FLEET_TEMPORAL_PORT}`;
  await waitForTemporal(address, 60_000);
  return {
    address,
    storeUrl: config.FLEET_STORE_URL,
    banner: [
      `  Temporal server   ${address}  (namespace ${config.FLEET_TEMPORAL_NAMESPACE}, data in ${join(dataDir, 'temporal.db')})`,
      `  Temporal Web UI   http://localhost:${config.FLEET_TEMPORAL_UI_PORT}`,
    ],
  };
}

/**
 * The cluster profile: PostgreSQL in <dataDir>/postgres, schemas set up (idempotent), the full
 * Temporal server on it, the namespace and search attributes registered, the Web UI server; the
 * store in the `fleet` database unless FLEET_STORE_URL says otherwise.
 */
async function startClusterTemporal(dataDir: string): Promise<{ address: string; storeUrl: string; banner: string[] }> {
  const pg = await startPostgresProcess({
    dir: join(dataDir, 'postgres'),
    port: cluster.FLEET_POSTGRES_PORT,
    onLine: prefixed('postgres'),
  });
  adopt('postgres', pg.proc);
  await setupTemporalSchemas(pg.url);
  const storeUrl = process.env.FLEET_STORE_URL ?? (await ensureDatabase(pg.url, 'fleet'));
  const temporal = await startTemporalServer({
    postgresUrl: pg.url,
    ports: defaultTemporalPorts(config.FLEET_TEMPORAL_PORT),
    historyShards: cluster.FLEET_TEMPORAL_HISTORY_SHARDS,
    onLine: prefixed('temporal'),
  });
  adopt('temporal', temporal.proc);
  await registerNamespace(temporal.address, config.FLEET_TEMPORAL_NAMESPACE);
  const ui = startTemporalUi({
    address: temporal.address,
    port: config.FLEET_TEMPORAL_UI_PORT,
    namespace: config.FLEET_TEMPORAL_NAMESPACE,
    onLine: prefixed('temporal-ui'),
  });
  if (ui) adopt('temporal-ui', ui);
  return {
    address: temporal.address,
    storeUrl,
    banner: [
      `  PostgreSQL        ${pg.url.replace(/\/postgres$/, '')}  (data in ${join(dataDir, 'postgres')}; store: ${storeUrl.replace(/:[^:@/]*@/, ':***@')})`,
      `  Temporal server   ${temporal.address}  (namespace ${config.FLEET_TEMPORAL_NAMESPACE}, ${cluster.FLEET_TEMPORAL_HISTORY_SHARDS} history shards, on PostgreSQL)`,
      ui
        ? `  Temporal Web UI   http://localhost:${config.FLEET_TEMPORAL_UI_PORT}`
        : '  Temporal Web UI   not built (scripts/ensure-temporal-server.sh)',
    ],
  };
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  const dataDir = resolve(root, config.FLEET_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });

  const clustered = cluster.FLEET_STACK === 'cluster';
  // The workflow bundle is built while the Temporal server starts.
  const [temporal, bundle] = await Promise.all([
    clustered ? startClusterTemporal(dataDir) : startDevTemporal(dataDir),
    buildWorkflowBundle(join(dataDir, 'workflow-bundle.js')),
  ]);
  if (stopping) return;
  logger.info({ path: bundle.path, bytes: bundle.bytes }, 'workflow bundle built');

  const deviceApi = new URL(config.FLEET_DEVICE_API_URL);
  const env = { FLEET_TEMPORAL_ADDRESS: temporal.address, FLEET_STORE_URL: temporal.storeUrl };
  tsProcess('simulator', 'simulator/main.ts', {
    FLEET_SIM_HOST: deviceApi.hostname,
    FLEET_SIM_PORT: deviceApi.port || '80',
  });
  const workers = clustered ? cluster.FLEET_CLUSTER_WORKERS : 1;
  // Each worker's /metrics on its own port, from 9464 unless FLEET_WORKER_METRICS_PORT says otherwise (README "Metrics").
  const firstMetricsPort = config.FLEET_WORKER_METRICS_PORT ?? 9464;
  const workerMetricsPorts = Array.from({ length: workers }, (_, i) =>
    firstMetricsPort === 0 ? 0 : firstMetricsPort + i,
  );
  workerMetricsPorts.forEach((port, i) =>
    tsProcess(workers > 1 ? `worker-${i + 1}` : 'worker', 'worker/main.ts', {
      ...env,
      FLEET_WORKER_WORKFLOW_BUNDLE: bundle.path,
      FLEET_WORKER_METRICS_PORT: String(port),
    }),
  );
  tsProcess('api', 'api/main.ts', env);
  void loadDemo(temporal.address, temporal.storeUrl);

  const banner = [
    '',
    `Fleet upgrade orchestrator is starting${clustered ? ` (cluster profile: ${workers} workers)` : ''}:`,
    ...temporal.banner,
    `  API               ${apiBase(config)}/health   (OpenAPI and Swagger UI: ${apiBase(config)}/docs)`,
    `  Device simulator  ${config.FLEET_DEVICE_API_URL}  (demo fleet)`,
    `  Metrics           ${apiBase(config)}/metrics (API), ${workerMetricsPorts.map((port) => `http://${config.FLEET_WORKER_METRICS_HOST}:${port}/metrics`).join(', ')} (${workers > 1 ? 'workers' : 'worker'})`,
    ...adminKeyLines(),
    '',
    ...(temporal.storeUrl !== config.FLEET_STORE_URL
      ? [`The fleet CLI reads this store:  export FLEET_STORE_URL=${temporal.storeUrl}`]
      : []),
    'Try:  npm run fleet -- upgrade --product SH --version 9.18.0-100 --reboot $(npm run -s fleet -- devices --product SH --limit 3)',
    '      (9.18.0 takes two images from older releases; appliances on 9.14.0 patch with delta images)',
    '      npm run fleet -- status <operation id> --watch      npm run fleet -- operations      npm run fleet -- logs <operation id> --follow',
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(banner.join('\n'));
}

main().catch((err: unknown) => {
  logger.fatal({ err: (err as Error).message }, 'start failed');
  void stopAll(1);
});
