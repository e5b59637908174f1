/**
 * The first admin access key, so a new installation can be used without touching the database:
 * from FLEET_ADMIN_ACCESS_ID/FLEET_ADMIN_ACCESS_KEY when given (re-applied at every start, so
 * rotating the variable rotates the key), otherwise generated once when no key exists and written
 * to a file only the owner can read. The key never goes to a log line.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ARCHES, PRODUCT_CODES, type Version } from '../domain/scc';
import type { FleetStore, StoredImage } from '../store/fleet-store';
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
 * Support, a catalog of the releases the demo fleet runs and two newer ones, for every product code
 * and arch. Each full image lists the releases it upgrades from: the older catalog releases, except
 * that the newest (RIVERBED_TWO_HOP_VERSION) upgrades only from the one before it, so reaching it
 * from older releases takes two images. Delta images lead from one release to the next
 * (RIVERBED_DELTAS), so an appliance on 9.14.0 patches its way up. Added only when the
 * repository is empty.
 */
export const RIVERBED_CATALOG_VERSIONS = ['9.12.0-100', '9.12.1-100', '9.14.0-100', '9.16.0-100', '9.18.0-100'] as const;
export const RIVERBED_TWO_HOP_VERSION = '9.18.0-100';
export const RIVERBED_DELTAS = [
  ['9.14.0-100', '9.16.0-100'],
  ['9.16.0-100', '9.18.0-100'],
] as const;

const versionOf = (version_id: string): Version => {
  const [version_number, build_number] = version_id.split('-') as [string, string];
  return { version_id, version_number, build_number };
};

/** The catalog's images (see RIVERBED_CATALOG_VERSIONS), their URLs under imageBaseUrl. */
export function riverbedCatalog(imageBaseUrl: string): StoredImage[] {
  const base = imageBaseUrl.replace(/\/+$/, '');
  const images: StoredImage[] = [];
  for (const product_code of PRODUCT_CODES) {
    for (const arch of ARCHES) {
      for (const [i, version_id] of RIVERBED_CATALOG_VERSIONS.entries()) {
        const sources = version_id === RIVERBED_TWO_HOP_VERSION ? [RIVERBED_CATALOG_VERSIONS[i - 1]!] : RIVERBED_CATALOG_VERSIONS.slice(0, i);
        images.push({
          repository: 'riverbed',
          source: 'riverbed',
          image: {
            id: `riverbed-${product_code}-${arch}-${version_id}`,
            image_definition: { product_code, arch, target_version: versionOf(version_id), delta: false },
            url: `${base}/${product_code}/${arch}/${version_id}.img`,
            source_versions: sources.map((id) => ({ version_id: id })),
          },
        });
      }
      for (const [from, to] of RIVERBED_DELTAS) {
        images.push({
          repository: 'riverbed',
          source: 'riverbed',
          image: {
            id: `riverbed-${product_code}-${arch}-${from}-to-${to}`,
            image_definition: { product_code, arch, target_version: versionOf(to), delta: true, source_version: versionOf(from) },
            url: `${base}/${product_code}/${arch}/${from}-to-${to}.delta`,
            source_versions: [{ version_id: from }],
          },
        });
      }
    }
  }
  return images;
}

export async function ensureRiverbedCatalog(store: FleetStore, imageBaseUrl: string): Promise<number> {
  if ((await store.listImages({ repository: 'riverbed' })).length > 0) return 0;
  const images = riverbedCatalog(imageBaseUrl);
  for (const image of images) await store.addImage(image);
  return images.length;
}
