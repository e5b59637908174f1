/**
 * The cluster profile's servers (FLEET_STACK=cluster): PostgreSQL in a data folder, the full
 * Temporal server on it (config/temporal/fleet.yaml, `numHistoryShards` settable), its schemas set up
 * by temporal-sql-tool (idempotent: re-running changes nothing), the namespace and our search
 * attributes registered, and the Temporal Web UI server. Used by scripts/start.ts, the cluster
 * tests (test/helpers/cluster.ts) and the benchmarks' `--stack cluster`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { z } from 'zod';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { SA } from '../domain/search-attributes';
import { ensureDatabase } from './postgres';
import { temporalServerBinDir } from './toolchain';

const run = promisify(execFile);
const root = resolve(__dirname, '..');
export const TEMPORAL_CONFIG_DIR = join(root, 'config', 'temporal');
export const TEMPORAL_UI_CONFIG_DIR = join(root, 'config', 'temporal-ui');

/** The server's listening ports: the frontend (clients, workers) and each service's gRPC and membership ports. */
export interface TemporalPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/**
 * A loopback port free now, below 32768: the server records each service's membership port in a
 * SMALLINT column, so kernel-chosen (ephemeral) ports do not fit there. Random, then checked.
 */
export async function freeMembershipPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
    if (free) return port;
  }
}

/** Free loopback ports for a server: gRPC ports chosen by the kernel (`freePort`), membership ports below 32768. */
export async function freeTemporalPorts(freePort: () => Promise<number>): Promise<TemporalPorts> {
  const [frontend, frontendHttp, history, matching, worker] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const [frontendMembership, historyMembership, matchingMembership, workerMembership] = [
    await freeMembershipPort(),
    await freeMembershipPort(),
    await freeMembershipPort(),
    await freeMembershipPort(),
  ];
  return {
    frontend,
    frontendHttp,
    frontendMembership,
    history,
    historyMembership,
    matching,
    matchingMembership,
    worker,
    workerMembership,
  };
}

/** Temporal's usual ports, around `frontend`'s (7233 → 7234 history, 7235 matching, 7239 worker, 7243 HTTP, 6933… membership). */
export function defaultTemporalPorts(frontend = 7233): TemporalPorts {
  const d = frontend - 7233;
  if (6939 + d > 32767)
    throw new Error(
      `FLEET_TEMPORAL_PORT ${frontend} is too high for the cluster profile: its membership ports (${6933 + d}…${6939 + d}) must be below 32768`,
    );
  return {
    frontend,
    frontendHttp: 7243 + d,
    frontendMembership: 6933 + d,
    history: 7234 + d,
    historyMembership: 6934 + d,
    matching: 7235 + d,
    matchingMembership: 6935 + d,
    worker: 7239 + d,
    workerMembership: 6939 + d,
  };
}

export interface TemporalServerOptions {
  /** A PostgreSQL server URL (user, password, host, port; its database is not used). */
  postgresUrl: string;
  ports: TemporalPorts;
  /** numHistoryShards: fixed when the databases are first set up. */
  historyShards: number;
  /** Default config/temporal/dynamicconfig.yaml. */
  dynamicConfigFile?: string;
  logLevel?: string;
  /** The server's Prometheus endpoint on 127.0.0.1 (none without). */
  metricsPort?: number;
  databases?: { temporal: string; visibility: string };
  onLine?: (line: string) => void;
}

const DEFAULT_DATABASES = { temporal: 'temporal', visibility: 'temporal_visibility' };

/** The variables config/temporal/fleet.yaml reads (a Go template). */
export function temporalServerEnv(options: TemporalServerOptions): Record<string, string> {
  const pg = new URL(options.postgresUrl);
  const { ports } = options;
  const databases = options.databases ?? DEFAULT_DATABASES;
  return {
    TEMPORAL_PG_HOST: pg.hostname,
    TEMPORAL_PG_PORT: pg.port || '5432',
    TEMPORAL_PG_USER: decodeURIComponent(pg.username),
    TEMPORAL_PG_PASSWORD: decodeURIComponent(pg.password),
    TEMPORAL_DB: databases.temporal,
    TEMPORAL_VISIBILITY_DB: databases.visibility,
    TEMPORAL_HISTORY_SHARDS: String(options.historyShards),
    TEMPORAL_LOG_LEVEL: options.logLevel ?? 'warn',
    TEMPORAL_METRICS_PORT: options.metricsPort ? String(options.metricsPort) : '',
    TEMPORAL_DYNAMIC_CONFIG: options.dynamicConfigFile ?? join(TEMPORAL_CONFIG_DIR, 'dynamicconfig.yaml'),
    TEMPORAL_FRONTEND_PORT: String(ports.frontend),
    TEMPORAL_FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    TEMPORAL_FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
    TEMPORAL_HISTORY_PORT: String(ports.history),
    TEMPORAL_HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
    TEMPORAL_MATCHING_PORT: String(ports.matching),
    TEMPORAL_MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
    TEMPORAL_WORKER_PORT: String(ports.worker),
    TEMPORAL_WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
  };
}

/**
 * Both databases and their schemas, as Temporal's own auto-setup does: create-database where
 * missing, `setup-schema -v 0.0` (version tables, IF NOT EXISTS) and `update-schema` with the
 * schema embedded in temporal-sql-tool (applies only the versions not yet applied).
 */
export async function setupTemporalSchemas(postgresUrl: string, databases = DEFAULT_DATABASES): Promise<void> {
  const tool = join(temporalServerBinDir(), 'temporal-sql-tool');
  const pg = new URL(postgresUrl);
  const connect = [
    '--plugin',
    'postgres12',
    '--ep',
    pg.hostname,
    '-p',
    pg.port || '5432',
    '-u',
    decodeURIComponent(pg.username),
    ...(pg.password ? ['--pw', decodeURIComponent(pg.password)] : []),
  ];
  for (const [db, schema] of [
    [databases.temporal, 'postgresql/v12/temporal'],
    [databases.visibility, 'postgresql/v12/visibility'],
  ] as const) {
    await ensureDatabase(postgresUrl, db);
    try {
      await run(tool, [...connect, '--db', db, 'setup-schema', '-v', '0.0']);
      await run(tool, [...connect, '--db', db, 'update-schema', '--schema-name', schema]);
    } catch (err) {
      const { stderr, stdout } = err as { stderr?: string; stdout?: string };
      throw new Error(
        `temporal-sql-tool could not set up ${db}: ${(stderr || stdout || (err as Error).message).slice(-2000)}`,
      );
    }
  }
}

export interface TemporalServerProcess {
  address: string;
  proc: ChildProcess;
  /** SIGTERM (graceful: shards handed off, connections closed); resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts `temporal-server` on config/temporal/fleet.yaml and resolves once its frontend answers. */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServerProcess> {
  const server = join(temporalServerBinDir(), 'temporal-server');
  const proc = spawn(
    server,
    ['--root', '/', '--config', TEMPORAL_CONFIG_DIR, '--env', 'fleet', '--allow-no-auth', 'start'],
    {
      cwd: root,
      env: { ...process.env, ...temporalServerEnv(options) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const tail: string[] = [];
  for (const stream of [proc.stdout, proc.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      options.onLine?.(line);
    });
  }
  const exited = new Promise<void>((done) => proc.once('exit', () => done()));
  const address = `127.0.0.1:${options.ports.frontend}`;
  try {
    await waitForTemporal(address, 120_000, () => proc.exitCode !== null || proc.signalCode !== null);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}; temporal-server said:\n${tail.join('\n')}`);
  }
  return {
    address,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves once the frontend at `address` answers GetSystemInfo; `gone` stops the wait early. */
export async function waitForTemporal(
  address: string,
  timeoutMs: number,
  gone: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
      } finally {
        await connection.close();
      }
      return;
    } catch (err) {
      if (gone()) throw new Error(`the Temporal server at ${address} exited during start-up`);
      if (Date.now() > deadline)
        throw new Error(`Temporal did not answer at ${address} within ${timeoutMs / 1000}s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/**
 * The namespace (registered if missing, retention `retentionDays`) and every custom search
 * attribute the workflows use (domain/search-attributes.ts), added where missing. Resolves once
 * the namespace serves visibility queries.
 */
export async function registerNamespace(address: string, namespace: string, retentionDays = 7): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const known = await connection.workflowService.describeNamespace({ namespace }).then(
      () => true,
      (err: Error & { code?: number }) => (err.code === NOT_FOUND ? false : Promise.reject(err)),
    );
    if (!known) {
      try {
        await connection.workflowService.registerNamespace({
          namespace,
          workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`),
        });
      } catch (err) {
        // Another process registered it meanwhile.
        if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
      }
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = Object.values(SA).filter((key) => !(key.name in (customAttributes ?? {})));
        if (missing.length)
          await connection.operatorService.addSearchAttributes({
            namespace,
            searchAttributes: Object.fromEntries(missing.map((key) => [key.name, KEYWORD])),
          });
        // The namespace cache of every service has it once a visibility query by our attributes answers.
        await connection.workflowService.countWorkflowExecutions({
          namespace,
          query: `${SA.operationId.name} = 'none'`,
        });
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`namespace ${namespace} did not become usable: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await connection.close();
  }
}

/** The Temporal Web UI server (config/temporal-ui/fleet.yaml) on `port`, for the server at `address`; undefined when not built. */
export function startTemporalUi(options: {
  address: string;
  port: number;
  namespace: string;
  onLine?: (line: string) => void;
}): ChildProcess | undefined {
  const ui = join(temporalServerBinDir(), 'temporal-ui-server');
  if (!existsSync(ui)) return undefined;
  const proc = spawn(ui, ['--root', '/', '--config', TEMPORAL_UI_CONFIG_DIR, '--env', 'fleet', 'start'], {
    cwd: root,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: options.address,
      TEMPORAL_UI_PORT: String(options.port),
      TEMPORAL_DEFAULT_NAMESPACE: options.namespace,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [proc.stdout, proc.stderr])
    createInterface({ input: stream }).on('line', (line) => options.onLine?.(line));
  return proc;
}

/** The variables only `npm start` reads for the cluster profile (README "Configuration"). */
export const clusterConfigSchema = z.object({
  /** `dev` (default): the CLI dev server on SQLite; `cluster`: the full Temporal server and the store on PostgreSQL, two workers. */
  FLEET_STACK: z.enum(['dev', 'cluster'], { error: 'must be dev or cluster' }).default('dev'),
  /** numHistoryShards of a new cluster (fixed once its databases exist). */
  FLEET_TEMPORAL_HISTORY_SHARDS: z.coerce.number().int().min(1).max(16384).default(8),
  /** The port of the PostgreSQL `npm start` runs in <FLEET_DATA_DIR>/postgres (not 5432: a system PostgreSQL may hold it). */
  FLEET_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  /** Worker processes of the cluster profile. */
  FLEET_CLUSTER_WORKERS: z.coerce.number().int().min(1).max(16).default(2),
});
export type ClusterConfig = z.infer<typeof clusterConfigSchema>;
