/**
 * Inventory refresh, run by a Temporal Schedule: optionally discover new devices, then read every
 * appliance in batches (a few activities, not one per device, so the history stays small).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { InventoryActivities } from '../activities/inventory-activities';
import { batches } from '../domain/rollout';

const inventory = proxyActivities<InventoryActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

export const INVENTORY_BATCH_SIZE = 500;
const BATCHES_AT_ONCE = 4;

export interface InventoryRefreshResult {
  discovered: number;
  appliances: number;
  connected: number;
  disconnected: number;
}

export async function inventoryRefresh(options: { discover?: boolean } = {}): Promise<InventoryRefreshResult> {
  const discovered = options.discover ? await inventory.discoverDevices() : 0;
  const serials = await inventory.listInventorySerials();
  const result: InventoryRefreshResult = { discovered, appliances: serials.length, connected: 0, disconnected: 0 };
  const pending = batches(serials, INVENTORY_BATCH_SIZE);
  while (pending.length) {
    const counts = await Promise.all(
      pending.splice(0, BATCHES_AT_ONCE).map((batch) => inventory.refreshApplianceBatch(batch)),
    );
    for (const c of counts) {
      result.connected += c.connected;
      result.disconnected += c.disconnected;
    }
  }
  return result;
}
