/**
 * The cluster profile on real parts for tests (scripts/cluster.ts): PostgreSQL as a plain process,
 * the full Temporal server on it (8 history shards), the store on the same PostgreSQL (its own
 * database), the simulator as a process and two worker processes (`npm run worker`). Each part
 * can be restarted or killed by the fault tests.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DeviceClient } from '../../activities/device-client';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { FleetStore } from '../../store/fleet-store';
import { recordLoaded } from '../../store/readiness';
import {
  freeTemporalPorts,
  registerNamespace,
  setupTemporalSchemas,
  startTemporalServer,
  type TemporalServerProcess,
} from '../../scripts/cluster';
import { ensureDatabase, startPostgresProcess, type PostgresProcess } from '../../scripts/postgres';
import {
  freePort,
  quietRuntime,
  startSimulator,
  startWorkerProcess,
  workerPolls,
  workerProcessEnv,
  type SimulatorProcess,
  type WorkerProcess,
} from './servers';
import { TEST_IMAGE_BASE_URL } from './stack';

export const CLUSTER_HISTORY_SHARDS = 8;

export interface ClusterStack {
  env: TestWorkflowEnvironment;
  pg: PostgresProcess;
  temporal: TemporalServerProcess;
  sim: SimulatorProcess;
  devices: DeviceClient;
  store: FleetStore;
  storeUrl: string;
  taskQueue: string;
  workers: WorkerProcess[];
  /** Stops the Temporal server (SIGTERM) and starts it again on the same ports and databases. */
  restartTemporal(): Promise<void>;
  /** Stops PostgreSQL (fast shutdown: every connection of the server, store and workers cut) and starts it again on the same data. */
  restartPostgres(): Promise<void>;
  stop(): Promise<void>;
}

/** `workers` worker processes (default 2); `workerEnv` adds to their environment. */
export async function startClusterStack(
  options: { taskQueue: string; workers?: number; workerEnv?: Record<string, string> } & Parameters<
    typeof startSimulator
  >[0],
): Promise<ClusterStack> {
  quietRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'fleet-cluster-'));
  // PostgreSQL runs as the postgres user under root: it must reach its folder inside.
  chmodSync(dir, 0o755);
  // Whatever has started is stopped again if a later part fails.
  const started: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const cleanUp = async () => {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
  };
  try {
    return await startParts(options, dir, started);
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

async function startParts(
  options: Parameters<typeof startClusterStack>[0],
  dir: string,
  started: (() => Promise<void>)[],
): Promise<ClusterStack> {
  const pgDir = join(dir, 'postgres');
  const pgPort = await freePort();
  let pg = await startPostgresProcess({ dir: pgDir, port: pgPort, durable: false });
  started.push(() => pg.stop());
  const serverOptions = {
    postgresUrl: pg.url,
    ports: await freeTemporalPorts(freePort),
    historyShards: CLUSTER_HISTORY_SHARDS,
    logLevel: 'error',
  };
  const [, sim, storeUrl] = await Promise.all([
    setupTemporalSchemas(pg.url),
    startSimulator(options),
    ensureDatabase(pg.url, 'fleet'),
  ]);
  started.push(() => sim.stop());
  let temporal = await startTemporalServer(serverOptions);
  started.push(() => temporal.stop());
  await registerNamespace(temporal.address, 'default');
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: temporal.address,
    namespace: 'default',
  });
  started.push(() => env.teardown());
  const store = await FleetStore.open(storeUrl);
  started.push(() => store.close());
  await ensureRiverbedCatalog(store, TEST_IMAGE_BASE_URL);
  await recordLoaded(store, 'catalog');
  const workerEnv = workerProcessEnv(
    { env, taskQueue: options.taskQueue, storeUrl, deviceApiUrl: sim.url, imageBaseUrl: TEST_IMAGE_BASE_URL },
    options.workerEnv,
  );
  const workers: WorkerProcess[] = [];
  started.push(() => Promise.all(workers.map((w) => w.stop())).then(() => undefined));
  const starting = await Promise.allSettled(
    Array.from({ length: options.workers ?? 2 }, () =>
      startWorkerProcess(workerEnv, { ready: (pid) => workerPolls(env.client, options.taskQueue, pid) }),
    ),
  );
  for (const s of starting) if (s.status === 'fulfilled') workers.push(s.value);
  for (const s of starting) if (s.status === 'rejected') throw s.reason;

  const stack: ClusterStack = {
    env,
    get pg() {
      return pg;
    },
    get temporal() {
      return temporal;
    },
    sim,
    devices: new DeviceClient({ baseUrl: sim.url }),
    store,
    storeUrl,
    taskQueue: options.taskQueue,
    workers,
    async restartTemporal() {
      await temporal.stop();
      temporal = await startTemporalServer(serverOptions);
    },
    async restartPostgres() {
      await pg.stop();
      pg = await startPostgresProcess({ dir: pgDir, port: pgPort, durable: false });
    },
    async stop() {
      for (const stop of started.reverse()) await stop();
    },
  };
  return stack;
}
