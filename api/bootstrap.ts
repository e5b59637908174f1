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

/** The releases a catalog release upgrades from (see RIVERBED_CATALOG_VERSIONS). */
function catalogSources(version_id: string): string[] {
  const i = RIVERBED_CATALOG_VERSIONS.indexOf(version_id as (typeof RIVERBED_CATALOG_VERSIONS)[number]);
  return version_id === RIVERBED_TWO_HOP_VERSION ? [RIVERBED_CATALOG_VERSIONS[i - 1]!] : RIVERBED_CATALOG_VERSIONS.slice(0, Math.max(0, i));
}

/** The catalog's images (see RIVERBED_CATALOG_VERSIONS), their URLs under imageBaseUrl. */
export function riverbedCatalog(imageBaseUrl: string): StoredImage[] {
  const base = imageBaseUrl.replace(/\/+$/, '');
  const images: StoredImage[] = [];
  for (const product_code of PRODUCT_CODES) {
    for (const arch of ARCHES) {
      for (const version_id of RIVERBED_CATALOG_VERSIONS) {
        const sources = catalogSources(version_id);
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

/** Adds the catalog's images the repository does not have yet (by id); answers how many. */
export async function ensureRiverbedCatalog(store: FleetStore, imageBaseUrl: string): Promise<number> {
  const known = new Set((await store.listImages({ repository: 'riverbed' })).map((s) => s.image.id));
  const missing = riverbedCatalog(imageBaseUrl).filter((s) => !known.has(s.image.id));
  for (const image of missing) await store.addImage(image);
  return missing.length;
}

/** The demo's hotfix: a locally hosted image for SH x86_64 only, installable from 9.14.0 alone. */
export const DEMO_HOTFIX_VERSION = '9.14.1-100';
/** Releases the demo's customer repository holds (as customer URL images): what appliances can be downgraded to. */
export const DEMO_DOWNGRADE_VERSIONS = ['9.12.0-100', '9.12.1-100', '9.14.0-100'] as const;

/**
 * `npm start`'s customer repository, so every image endpoint has something to show: customer URL
 * images of the demo fleet's releases for every product code and arch (downgrade targets: the seed
 * downgrades with customer images only), and one locally hosted hotfix (DEMO_HOTFIX_VERSION) for
 * SH x86_64 only, so SH i386 appliances are `no_i386_image` for it and older SH appliances reach it
 * in two hops. The demo's legacy appliances (simulator/fleet.ts LEGACY_VERSION) reach nothing.
 */
export function demoCustomerImages(imageBaseUrl: string, nowSeconds = Math.floor(Date.now() / 1000)): StoredImage[] {
  const base = imageBaseUrl.replace(/\/+$/, '');
  const images: StoredImage[] = [];
  for (const product_code of PRODUCT_CODES) {
    for (const arch of ARCHES) {
      for (const version_id of DEMO_DOWNGRADE_VERSIONS) {
        images.push({
          repository: 'customer',
          source: 'customer_url',
          image: {
            id: `demo-url-${product_code}-${arch}-${version_id}`,
            // The customer's copy of a release upgrades from what Riverbed's does.
            image_definition: { product_code, arch, target_version: versionOf(version_id), delta: false, source_versions: catalogSources(version_id) },
            url: `${base}/customer/${product_code}/${arch}/${version_id}.img`,
            registration_time: nowSeconds,
          },
        });
      }
    }
  }
  images.push({
    repository: 'customer',
    source: 'local',
    image: {
      id: 'demo-local-SH-x86_64-hotfix',
      image_definition: { product_code: 'SH', arch: 'x86_64', target_version: versionOf(DEMO_HOTFIX_VERSION), delta: false, source_versions: ['9.14.0-100'] },
      modification_time: nowSeconds,
    },
  });
  return images;
}

/** Adds demoCustomerImages when the customer repository is empty; answers how many. */
export async function ensureDemoCustomerImages(store: FleetStore, imageBaseUrl: string): Promise<number> {
  if ((await store.listImages({ repository: 'customer' })).length > 0) return 0;
  const images = demoCustomerImages(imageBaseUrl);
  for (const image of images) await store.addImage(image);
  return images.length;
}
