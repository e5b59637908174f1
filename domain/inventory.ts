/** Inventory rules: how a device's own report becomes the SCC appliance record we keep. */
import { z } from 'zod';
import type { DeviceInfo } from './device-api';
import { arch, productCode, serial, version, type ProductCode, type Version } from './scc';
import { parseJsonFile, repeatedSerial } from './validation';

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

/**
 * A fleet file for `fleet inventory import`: SCC appliances (the seed's appliance object, extension
 * properties kept) with optional connection details, and Sumo collectors.
 */
export const inventoryFile = z.object({
  appliances: z
    .array(
      z.looseObject({
        serial,
        product_code: productCode,
        connected: z.boolean(),
        arch: arch.optional(),
        current_version: version.optional(),
        time_zone: z.string().optional(),
        /** How to reach the device and its credentials: stored, never shown. */
        connection: z
          .looseObject({
            address: z.string().optional(),
            username: z.string().optional(),
            password: z.string().optional(),
          })
          .optional(),
      }),
    )
    .default([]),
  collectors: z
    .array(
      z.looseObject({
        id: z.number().int().positive(),
        collectorType: z.enum(['Installable', 'Hosted']),
        alive: z.boolean(),
        collectorVersion: z.string().optional(),
      }),
    )
    .default([]),
});
export type InventoryFile = z.infer<typeof inventoryFile>;

/** Parses an inventory file's text; the error names the first bad field and nothing is imported. */
export function parseInventoryFile(text: string): InventoryFile {
  const file = parseJsonFile('inventory file', inventoryFile, text);
  const repeated = repeatedSerial(file.appliances);
  if (repeated)
    throw new Error(`inventory file: appliances.${repeated.index}.serial: ${repeated.serial} is listed twice`);
  return file;
}
