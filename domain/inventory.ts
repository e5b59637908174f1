/** Inventory rules: how a device's own report becomes the SCC appliance record we keep. */
import type { DeviceInfo } from './device-api';
import type { ProductCode, Version } from './scc';

export type InventoryAppliance = {
  product_code: ProductCode;
  arch: DeviceInfo['arch'];
  serial: string;
  model: string;
  hostname: string;
  ip_address: string;
  current_version: Version;
  connected: boolean;
  time_zone: string;
  entitled: boolean;
  read_only: boolean;
  groups: string[];
  /** Extension: the model is end-of-life (the `model_eol` exception category). */
  model_eol: boolean;
  /** Extension: what the standby partition holds. */
  standby_version?: Version;
  /** Extension: ESXi version on hypervisor-based models. */
  esxi_version?: string;
};

export function applianceFromDeviceInfo(info: DeviceInfo): InventoryAppliance {
  return {
    product_code: info.product_code,
    arch: info.arch,
    serial: info.serial,
    model: info.model,
    hostname: info.hostname,
    ip_address: info.ip_address,
    current_version: info.running_version,
    connected: info.connected,
    time_zone: info.time_zone,
    entitled: info.entitled,
    read_only: info.read_only,
    groups: info.groups,
    model_eol: info.model_eol,
    ...(info.standby_version ? { standby_version: info.standby_version } : {}),
    ...(info.esxi_version ? { esxi_version: info.esxi_version } : {}),
  };
}

/** Splits a list into batches of at most `size` (activities take batches to keep histories small). */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
