/**
 * The cluster profile on real parts for tests (scripts/cluster.ts): PostgreSQL as a plain process,
 * the full Temporal server on it (8 history shards), the store on the same PostgreSQL (its own
 * database), the simulator as a process and two worker processes (`npm run worker`). Each part
 * can be restarted or killed by the fault tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DeviceClient } from '../../activities/device-client';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { FleetStore } from '../../store/fleet-store';
import { recordLoaded } from '../../store/readiness';
import { registerNamespace, setupTemporalSchemas, startTemporalServer, type TemporalPorts, type TemporalServerProcess } from '../../scripts/cluster';
import { ensureDatabase, startPostgresProcess, type PostgresProcess } from '../../scripts/postgres';
import { freePort, quietRuntime, startSimulator, startWorkerProcess, workerPolls, workerProcessEnv, type SimulatorProcess, type WorkerProcess } from './servers';
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

async function temporalPorts(): Promise<TemporalPorts> {
  const [frontend, frontendHttp, frontendMembership, history, historyMembership, matching, matchingMembership, worker, workerMembership] = await Promise.all(
    Array.from({ length: 9 }, () => freePort()),
  );
  return { frontend: frontend!, frontendHttp: frontendHttp!, frontendMembership: frontendMembership!, history: history!, historyMembership: historyMembership!, matching: matching!, matchingMembership: matchingMembership!, worker: worker!, workerMembership: workerMembership! };
}

/** `workers` worker processes (default 2); `workerEnv` adds to their environment. */
export async function startClusterStack(
  options: { taskQueue: string; workers?: number; workerEnv?: Record<string, string> } & Parameters<typeof startSimulator>[0],
): Promise<ClusterStack> {
  quietRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'fleet-cluster-'));
  const pgDir = join(dir, 'postgres');
  const pgPort = await freePort();
  let pg = await startPostgresProcess({ dir: pgDir, port: pgPort, durable: false });
  const serverOptions = { postgresUrl: pg.url, ports: await temporalPorts(), historyShards: CLUSTER_HISTORY_SHARDS, logLevel: 'error' };
  const [, sim, storeUrl] = await Promise.all([setupTemporalSchemas(pg.url), startSimulator(options), ensureDatabase(pg.url, 'fleet')]);
  let temporal = await startTemporalServer(serverOptions);
  await registerNamespace(temporal.address, 'default');
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: temporal.address, namespace: 'default' });
  const store = await FleetStore.open(storeUrl);
  await ensureRiverbedCatalog(store, TEST_IMAGE_BASE_URL);
  await recordLoaded(store, 'catalog');
  const workerEnv = workerProcessEnv({ env, taskQueue: options.taskQueue, storeUrl, deviceApiUrl: sim.url, imageBaseUrl: TEST_IMAGE_BASE_URL }, options.workerEnv);
  const workers: WorkerProcess[] = [];
  const started = await Promise.allSettled(
    Array.from({ length: options.workers ?? 2 }, () => startWorkerProcess(workerEnv, { ready: (pid) => workerPolls(env.client, options.taskQueue, pid) })),
  );
  for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');

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
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all([sim.stop(), store.close()]);
      await env.teardown();
      await temporal.stop();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (failed) {
    await stack.stop();
    throw failed.reason;
  }
  return stack;
}
