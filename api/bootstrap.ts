/**
 * The first admin access key, so a new installation can be used without touching the database:
 * from FLEET_ADMIN_ACCESS_ID/FLEET_ADMIN_ACCESS_KEY when given (re-applied at every start, so
 * rotating the variable rotates the key), otherwise generated once when no key exists and written
 * to a file only the owner can read. The key never goes to a log line.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ARCHES, PRODUCT_CODES } from '../domain/scc';
import type { FleetStore } from '../store/fleet-store';
import { putAccessKey } from './auth';

export type AdminBootstrap = { source: 'environment'; accessId: string } | { source: 'generated'; accessId: string; file: string } | { source: 'existing' };

export async function bootstrapAdmin(store: FleetStore, options: { accessId?: string; accessKey?: string; keyFile: string }): Promise<AdminBootstrap> {
  if (options.accessId !== undefined && options.accessKey !== undefined) {
    await putAccessKey(store, options.accessId, options.accessKey, 'admin');
    return { source: 'environment', accessId: options.accessId };
  }
  if ((await store.countAccessKeys()) > 0) return { source: 'existing' };
  const accessId = 'admin';
  const accessKey = randomBytes(24).toString('base64url');
  await putAccessKey(store, accessId, accessKey, 'admin');
  mkdirSync(dirname(options.keyFile), { recursive: true });
  writeFileSync(options.keyFile, `${accessId}:${accessKey}\n`, { mode: 0o600 });
  return { source: 'generated', accessId, file: options.keyFile };
}

/**
 * The Riverbed-hosted repository as this installation knows it: without a connection to Riverbed
 * Support, a catalog of the releases the demo fleet runs (every product code and arch), each full
 * image listing the older releases it upgrades from. Added only when the repository is empty.
 */
export const RIVERBED_CATALOG_VERSIONS = ['9.12.0-100', '9.12.1-100', '9.14.0-100', '9.16.0-100'] as const;

export async function ensureRiverbedCatalog(store: FleetStore, imageBaseUrl: string): Promise<number> {
  if ((await store.listImages({ repository: 'riverbed' })).length > 0) return 0;
  let added = 0;
  for (const product_code of PRODUCT_CODES) {
    for (const arch of ARCHES) {
      for (const [i, version_id] of RIVERBED_CATALOG_VERSIONS.entries()) {
        const [version_number, build_number] = version_id.split('-') as [string, string];
        await store.addImage({
          repository: 'riverbed',
          source: 'riverbed',
          image: {
            id: `riverbed-${product_code}-${arch}-${version_id}`,
            image_definition: { product_code, arch, target_version: { version_id, version_number, build_number }, delta: false },
            url: `${imageBaseUrl.replace(/\/+$/, '')}/${product_code}/${arch}/${version_id}.img`,
            source_versions: RIVERBED_CATALOG_VERSIONS.slice(0, i).map((id) => ({ version_id: id })),
          },
        });
        added++;
      }
    }
  }
  return added;
}
