/** The API process: `npm run api`. Listens on FLEET_API_HOST:FLEET_API_PORT (default 127.0.0.1:8080). */
import { ensureInventorySchedule } from '../client/inventory';
import { connectClient } from '../client/operations';
import { loadConfig } from '../domain/config';
import { createLogger } from '../domain/logging';
import { join, resolve } from 'node:path';
import { FleetStore } from '../store/fleet-store';
import { recordLoaded } from '../store/readiness';
import { bootstrapAdmin, ensureRiverbedCatalog } from './bootstrap';
import { createApi } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.FLEET_LOG_LEVEL);
  const client = await connectClient(config);
  const schedule = await ensureInventorySchedule(client, { taskQueue: config.FLEET_TASK_QUEUE, everySeconds: config.FLEET_INVENTORY_REFRESH_SECONDS });
  logger.info({ schedule, everySeconds: config.FLEET_INVENTORY_REFRESH_SECONDS }, 'inventory refresh schedule');
  const store = await FleetStore.open(config.FLEET_STORE_URL);
  const admin = await bootstrapAdmin(store, {
    ...(config.FLEET_ADMIN_ACCESS_ID !== undefined ? { accessId: config.FLEET_ADMIN_ACCESS_ID } : {}),
    ...(config.FLEET_ADMIN_ACCESS_KEY !== undefined ? { accessKey: config.FLEET_ADMIN_ACCESS_KEY } : {}),
    keyFile: resolve(join(config.FLEET_DATA_DIR, 'admin-access-key')),
  });
  if (admin.source === 'generated') logger.info({ accessId: admin.accessId, file: admin.file }, 'created the first admin access key; it is in this file');
  else if (admin.source === 'environment') logger.info({ accessId: admin.accessId }, 'admin access key set from FLEET_ADMIN_ACCESS_ID/FLEET_ADMIN_ACCESS_KEY');
  const catalog = await ensureRiverbedCatalog(store, config.FLEET_IMAGE_BASE_URL);
  if (catalog) logger.info({ images: catalog }, 'Riverbed-hosted image catalog added');
  await recordLoaded(store, 'catalog');
  const app = createApi({ client, logger, store, taskQueue: config.FLEET_TASK_QUEUE, checkResponses: config.FLEET_API_CHECK_RESPONSES });
  await app.listen({ host: config.FLEET_API_HOST, port: config.FLEET_API_PORT });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await app.close();
    await client.connection.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  createLogger('api').fatal({ err }, 'api failed to start');
  process.exit(1);
});
