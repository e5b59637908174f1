/** What an appliance's upgrade must do on the device, from the image plan its task makes. */
import type { DeviceCounters, DeviceInfo } from '../../domain/device-api';
import { imageIndex } from '../../store/fleet-facts';
import type { FleetStore } from '../../store/fleet-store';

/** The device effects of an upgrade to `target` with `reboot: true`: each hop staged, installed and activated by a reboot; deltas patched. */
export async function expectedCounters(
  store: FleetStore,
  info: DeviceInfo,
  target: string,
): Promise<Omit<DeviceCounters, 'idempotent_replays'>> {
  // The plan the task makes (activities/image-activities.ts): its path through the store's images.
  const path = (await imageIndex(store, info.product_code)).path(
    { product_code: info.product_code, arch: info.arch, current_version: info.running_version },
    target,
  );
  if (!path.ok) throw new Error(`${info.serial}: ${path.message}`);
  const hops = path.hops.length;
  return { stages: hops, patches: path.hops.filter((h) => h.delta).length, installs: hops, reboots: hops };
}
