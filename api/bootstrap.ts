/**
 * The first admin access key, so a new installation can be used without touching the database:
 * from FLEET_ADMIN_ACCESS_ID/FLEET_ADMIN_ACCESS_KEY when given (re-applied at every start, so
 * rotating the variable rotates the key), otherwise generated once when no key exists and written
 * to a file only the owner can read. The key never goes to a log line.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { catalogBuildTimestamp, catalogImages, DEMO_HOTFIX_VERSION, versionOf } from '../domain/image-catalog';
import { imageIdOf } from '../domain/image-identity';
import type { FleetStore, StoredImage } from '../store/fleet-store';
import { putAccessKey } from './auth';

export type AdminBootstrap =
  | { source: 'environment'; accessId: string }
  | { source: 'generated'; accessId: string; file: string }
  | { source: 'existing' };

export async function bootstrapAdmin(
  store: FleetStore,
  options: { accessId?: string; accessKey?: string; keyFile: string },
): Promise<AdminBootstrap> {
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
 * The image catalog (domain/image-catalog.ts: the Riverbed-hosted releases, deltas and the demo's
 * customer images, and where each lives under the image base URL). The simulator serves each at
 * that path with a manifest of the same definition, so bootstrap and the images agree.
 */
export {
  DEMO_DOWNGRADE_VERSIONS,
  DEMO_HOTFIX_VERSION,
  RIVERBED_CATALOG_VERSIONS,
  RIVERBED_DELTAS,
  RIVERBED_TWO_HOP_VERSION,
} from '../domain/image-catalog';

const under = (imageBaseUrl: string, path: string): string => `${imageBaseUrl.replace(/\/+$/, '')}/${path}`;

/** The Riverbed repository's images (see RIVERBED_CATALOG_VERSIONS), their URLs under imageBaseUrl. */
export function riverbedCatalog(imageBaseUrl: string): StoredImage[] {
  return catalogImages()
    .filter((c) => c.source === 'riverbed')
    .map((c) => ({
      repository: 'riverbed',
      source: 'riverbed',
      image: {
        id: c.id,
        image_definition: c.image_definition,
        url: under(imageBaseUrl, c.path),
        source_versions: c.source_versions ?? [],
      },
    }));
}

/**
 * Adds the catalog's images the repository does not have yet (by id, or by definition: a
 * repository holds each definition once); answers how many.
 */
export async function ensureRiverbedCatalog(store: FleetStore, imageBaseUrl: string): Promise<number> {
  const held = await store.listImages({ repository: 'riverbed' });
  const known = new Set([...held.map((s) => s.image.id), ...held.map((s) => imageIdOf(s.image.image_definition))]);
  const missing = riverbedCatalog(imageBaseUrl).filter(
    (s) => !known.has(s.image.id) && !known.has(imageIdOf(s.image.image_definition)),
  );
  for (const image of missing) await store.addImage(image);
  return missing.length;
}

/**
 * `npm start`'s customer repository, so every image endpoint has something to show: customer URL
 * images of the demo fleet's releases for every product code and arch (downgrade targets: the seed
 * downgrades with customer images only), and one locally hosted hotfix (DEMO_HOTFIX_VERSION) for
 * SH x86_64 only, so SH i386 appliances are `no_i386_image` for it and older SH appliances reach it
 * in two hops. The demo's legacy appliances (simulator/fleet.ts LEGACY_VERSION) reach nothing.
 */
export function demoCustomerImages(imageBaseUrl: string, nowSeconds = Math.floor(Date.now() / 1000)): StoredImage[] {
  const urls = catalogImages()
    .filter((c) => c.source === 'customer_url')
    .map((c): StoredImage => ({
      repository: 'customer',
      source: 'customer_url',
      image: {
        id: c.id,
        image_definition: c.image_definition,
        url: under(imageBaseUrl, c.path),
        registration_time: nowSeconds,
      },
    }));
  const hotfix: StoredImage = {
    repository: 'customer',
    source: 'local',
    image: {
      id: 'demo-local-SH-x86_64-hotfix',
      image_definition: {
        product_code: 'SH',
        arch: 'x86_64',
        target_version: versionOf(DEMO_HOTFIX_VERSION),
        delta: false,
        source_versions: ['9.14.0-100'],
      },
      // "The timestamp of the build" (the seed), as an uploaded image's manifest would give it.
      modification_time: catalogBuildTimestamp(DEMO_HOTFIX_VERSION),
    },
  };
  return [...urls, hotfix];
}

/** Adds demoCustomerImages when the customer repository is empty; answers how many. */
export async function ensureDemoCustomerImages(store: FleetStore, imageBaseUrl: string): Promise<number> {
  if ((await store.listImages({ repository: 'customer' })).length > 0) return 0;
  const images = demoCustomerImages(imageBaseUrl);
  for (const image of images) await store.addImage(image);
  return images.length;
}
