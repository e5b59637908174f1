/**
 * The parts one fleet size runs on, torn down after it: the simulator process serving `size` SH
 * appliances, a store holding the Riverbed catalog, and the real worker as its own process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { PRODUCT_CODES, type ProductCode } from '../../domain/scc';
import { generateAppliances } from '../../simulator/fleet';
import { FleetStore } from '../../store/fleet-store';
import { startSimulator, type SimulatorProcess } from '../../test/helpers/servers';
import { count, seconds } from '../lib/report';
import type { BenchServer } from '../lib/temporal';
import { startWorker, type WorkerProcess } from '../lib/worker-process';
import type { Teardown } from '../teardown';

export interface FleetParts {
  sim: SimulatorProcess;
  store: FleetStore;
  worker: WorkerProcess;
  taskQueue: string;
}

/** The `product` appliances of the seeded clean fleet, `size` of them, as a simulator fleet file. */
function writeFleetFile(path: string, product: ProductCode, size: number, seed: number): void {
  const appliances = generateAppliances(size * PRODUCT_CODES.length, seed, 'clean')
    .filter((a) => a.product_code === product)
    .slice(0, size);
  writeFileSync(path, JSON.stringify({ appliances, collectors: [] }));
}

export async function startFleetParts(
  server: BenchServer,
  fleet: { product: ProductCode; size: number; speed: number; seed: number },
  teardown: Teardown,
): Promise<FleetParts> {
  const step = performance.now();
  const { size, speed, seed } = fleet;
  const dir = mkdtempSync(join(tmpdir(), 'fleet-bench-upgrade-'));
  teardown.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
  const fleetFile = join(dir, 'fleet.json');
  writeFleetFile(fleetFile, fleet.product, size, seed);
  const sim = await startSimulator({ appliances: 0, speed, seed, profile: 'clean', fleetFile });
  teardown.add('simulator', () => sim.stop());
  const storeUrl = await server.newStoreUrl(dir, 'fleet');
  // Opened (and migrated) here before the worker opens it.
  const store = await FleetStore.open(storeUrl);
  teardown.add('store', () => store.close());
  const imageBaseUrl = `${sim.url}/images`;
  const images = await ensureRiverbedCatalog(store, imageBaseUrl);
  const taskQueue = `bench-fleet-upgrade-${size}-${Date.now()}`;
  const worker = await startWorker('fleet worker', {
    FLEET_TEMPORAL_ADDRESS: server.env.address,
    FLEET_TEMPORAL_NAMESPACE: server.env.namespace ?? 'default',
    FLEET_TASK_QUEUE: taskQueue,
    FLEET_STORE_URL: storeUrl,
    FLEET_DEVICE_API_URL: sim.url,
    FLEET_IMAGE_BASE_URL: imageBaseUrl,
  });
  teardown.add('fleet worker', () => worker.kill());
  console.log(
    `[${count(size)}] simulator (${count(size)} ${fleet.product} appliances, speed ${speed}), store (${images} Riverbed images) ` +
      `and worker process up in ${seconds(step).toFixed(1)}s`,
  );
  return { sim, store, worker, taskQueue };
}
