/**
 * Inventory activities: find devices the device API serves that the store does not know yet, and
 * refresh each known appliance's running version and connectivity into the store.
 */
import { Context } from '@temporalio/activity';
import { applianceFromDeviceInfo } from '../domain/inventory';
import type { Logger } from '../domain/logging';
import type { FleetStore } from '../store/fleet-store';
import { recordLoaded } from '../store/readiness';
import { DeviceClient, DeviceError } from './device-client';

export interface InventoryActivityOptions {
  store: FleetStore;
  client: DeviceClient;
  logger: Logger;
  /** Devices read at once by one activity. */
  concurrency?: number;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(runners);
}

export function createInventoryActivities({ store, client, logger, concurrency = 16 }: InventoryActivityOptions) {
  return {
    /** Adds every device the device API lists and the store lacks. Returns how many were added. */
    async discoverDevices(): Promise<number> {
      const known = new Set((await store.listAppliances()).map((a) => a.serial));
      const unknown = (await client.listSerials()).filter((serial) => !known.has(serial));
      let added = 0;
      await eachLimited(unknown, concurrency, async (serial) => {
        try {
          await store.upsertAppliance(applianceFromDeviceInfo(await client.info(serial)));
          added++;
        } catch (err) {
          logger.warn({ serial, err: (err as Error).message }, 'could not read a newly listed device');
        }
        Context.current().heartbeat(added);
      });
      if (added) logger.info({ added }, 'inventory: new devices added');
      // Every device the device API lists is in the store now: /health may say the inventory is loaded.
      await recordLoaded(store, 'inventory');
      return added;
    },

    async listInventorySerials(): Promise<string[]> {
      return (await store.listAppliances()).map((a) => a.serial);
    },

    /**
     * Reads each appliance and records what it reports. A device that does not answer, or answers
     * that it is disconnected, is recorded `connected: false` (its last-seen time stays).
     */
    async refreshApplianceBatch(serials: string[]): Promise<{ connected: number; disconnected: number }> {
      let connected = 0;
      let disconnected = 0;
      await eachLimited(serials, concurrency, async (serial) => {
        try {
          const info = await client.info(serial, Context.current().cancellationSignal);
          const appliance = applianceFromDeviceInfo(info);
          const stored = await store.getAppliance(serial);
          // Keep the record current (hostname, flags) as well as version and connectivity.
          if (stored)
            await store.upsertAppliance({
              ...stored,
              ...appliance,
              current_version: stored.current_version ?? appliance.current_version,
            });
          await store.recordApplianceSeen(serial, { connected: info.connected, current_version: info.running_version });
          if (info.connected) connected++;
          else disconnected++;
        } catch (err) {
          if (!(err instanceof DeviceError)) throw err;
          await store.recordApplianceSeen(serial, { connected: false });
          disconnected++;
          logger.debug({ serial, code: err.code }, 'inventory: device did not answer');
        }
        Context.current().heartbeat(connected + disconnected);
      });
      return { connected, disconnected };
    },
  };
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
