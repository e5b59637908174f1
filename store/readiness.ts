/**
 * What `/health` needs to say `ready`: the Riverbed catalog and the inventory are in the store, so
 * a client that starts right after `npm start` does not read empty lists as the truth. Each is
 * recorded (as a store setting with the time) by whoever loads it: the API after the catalog, the
 * inventory discovery and `fleet inventory import` after the appliances.
 */
import type { FleetStore } from './fleet-store';

export type Loaded = 'catalog' | 'inventory';
const SETTING: Record<Loaded, string> = { catalog: 'catalog_loaded_ms', inventory: 'inventory_loaded_ms' };

export async function recordLoaded(store: FleetStore, what: Loaded, nowMs = Date.now()): Promise<void> {
  await store.setSetting(SETTING[what], String(nowMs));
}

export async function loaded(store: FleetStore): Promise<Record<Loaded, boolean>> {
  const [catalog, inventory] = await Promise.all([
    store.getSetting(SETTING.catalog),
    store.getSetting(SETTING.inventory),
  ]);
  return { catalog: catalog !== undefined, inventory: inventory !== undefined };
}
