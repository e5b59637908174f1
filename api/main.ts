/**
 * The API process: `npm run api`. Listens on FLEET_API_HOST:FLEET_API_PORT (default 127.0.0.1:8080),
 * over HTTPS when FLEET_API_TLS_CERT and FLEET_API_TLS_KEY name the PEM files.
 */
import { ensureInventorySchedule } from '../client/inventory';
import { connectClient } from '../client/operations';
import { loadConfig } from '../domain/config';
import { createLogger, type Logger } from '../domain/logging';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { FleetStore } from '../store/fleet-store';
import { recordLoaded } from '../store/readiness';
import { bootstrapAdmin, ensureRiverbedCatalog } from './bootstrap';
import { createApi } from './server';
import { dashboardAssets } from './ui';
import { readTlsFiles, TlsFileError } from './tls';

/** A start-up problem the operator fixes (a bad variable, an unreadable certificate): logged as its message alone, no stack. */
class StartupError extends Error {}

type Config = ReturnType<typeof loadConfig>;
type Tls = ReturnType<typeof readTlsFiles>;

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger('api', config.FLEET_LOG_LEVEL);
  // Before anything connects: a wrong certificate or key stops start-up at once.
  const tls = readTls(config, logger);
  const client = await connectClient(config);
  const everySeconds = config.FLEET_INVENTORY_REFRESH_SECONDS;
  const schedule = await ensureInventorySchedule(client, { taskQueue: config.FLEET_TASK_QUEUE, everySeconds });
  logger.info({ schedule, everySeconds }, 'inventory refresh schedule');
  const store = await FleetStore.open(config.FLEET_STORE_URL);
  await prepareStore(store, config, logger);
  const app = createApi({
    client,
    logger,
    store,
    taskQueue: config.FLEET_TASK_QUEUE,
    checkResponses: config.FLEET_API_CHECK_RESPONSES,
    failureLimits: {
      perClient: config.FLEET_AUTH_FAILURES_PER_CLIENT,
      perAccessId: config.FLEET_AUTH_FAILURES_PER_ACCESS_ID,
      windowSeconds: config.FLEET_AUTH_FAILURE_WINDOW_SECONDS,
    },
    processMetrics: true,
    ...(tls ? { https: tls.https } : {}),
    ...(config.FLEET_API_TRUST_PROXY ? { trustProxy: config.FLEET_API_TRUST_PROXY } : {}),
  });
  const url = await listen(app, config, tls, logger);
  // The dashboard is bundled now rather than on its first visit; a failure is said, and the API serves on.
  const bundling = Date.now();
  void dashboardAssets().then(
    () => logger.info({ url: `${url}/ui`, ms: Date.now() - bundling }, `dashboard at ${url}/ui`),
    (err: unknown) => logger.error({ err }, 'the dashboard (/ui) could not be built'),
  );
  stopOnSignal(async () => {
    await app.close();
    await client.connection.close();
    await store.close();
  });
}

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

/** The certificate and key when FLEET_API_TLS_CERT and FLEET_API_TLS_KEY name them; an expired certificate is said. */
function readTls(config: Config, logger: Logger): Tls | undefined {
  if (config.FLEET_API_TLS_CERT === undefined || config.FLEET_API_TLS_KEY === undefined) return undefined;
  let tls: Tls;
  try {
    tls = readTlsFiles({ cert: config.FLEET_API_TLS_CERT, key: config.FLEET_API_TLS_KEY });
  } catch (err) {
    throw err instanceof TlsFileError ? new StartupError(err.message) : err;
  }
  if (tls.validTo.getTime() < Date.now()) {
    const facts = { subject: tls.subject, validTo: tls.validTo.toISOString() };
    logger.warn(facts, 'the TLS certificate (FLEET_API_TLS_CERT) has expired: clients will refuse it');
  }
  return tls;
}

/** The first admin access key and the Riverbed-hosted image catalog, each added once. */
async function prepareStore(store: FleetStore, config: Config, logger: Logger): Promise<void> {
  const admin = await bootstrapAdmin(store, {
    ...(config.FLEET_ADMIN_ACCESS_ID !== undefined ? { accessId: config.FLEET_ADMIN_ACCESS_ID } : {}),
    ...(config.FLEET_ADMIN_ACCESS_KEY !== undefined ? { accessKey: config.FLEET_ADMIN_ACCESS_KEY } : {}),
    keyFile: resolve(join(config.FLEET_DATA_DIR, 'admin-access-key')),
  });
  if (admin.source === 'generated')
    logger.info(
      { accessId: admin.accessId, file: admin.file },
      'created the first admin access key; it is in this file',
    );
  else if (admin.source === 'environment')
    logger.info({ accessId: admin.accessId }, 'admin access key set from FLEET_ADMIN_ACCESS_ID/FLEET_ADMIN_ACCESS_KEY');
  const catalog = await ensureRiverbedCatalog(store, config.FLEET_IMAGE_BASE_URL);
  if (catalog) logger.info({ images: catalog }, 'Riverbed-hosted image catalog added');
  await recordLoaded(store, 'catalog');
}

/** Listens, and says where; answers the URL the API is served at. */
async function listen(app: FastifyInstance, config: Config, tls: Tls | undefined, logger: Logger): Promise<string> {
  await app.listen({ host: config.FLEET_API_HOST, port: config.FLEET_API_PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.FLEET_API_PORT;
  const host = config.FLEET_API_HOST.includes(':') ? `[${config.FLEET_API_HOST}]` : config.FLEET_API_HOST;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  logger.info(
    {
      url,
      tls: tls ? { subject: tls.subject, validTo: tls.validTo.toISOString() } : false,
      trustProxy: config.FLEET_API_TRUST_PROXY ?? false,
    },
    `api listening on ${url}`,
  );
  return url;
}

/** SIGINT or SIGTERM closes everything once, then exits. */
function stopOnSignal(close: () => Promise<void>): void {
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  // At level fatal: FLEET_LOG_LEVEL may be the bad value itself, and a failed start is always said.
  const logger = createLogger('api', 'fatal');
  if (err instanceof StartupError) logger.fatal(`api failed to start: ${err.message}`);
  else logger.fatal({ err }, 'api failed to start');
  process.exit(1);
});
