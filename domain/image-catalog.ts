/**
 * The image catalog this installation starts with, and where each of its images lives under the
 * image base URL (FLEET_IMAGE_BASE_URL). One description for both sides: api/bootstrap.ts stores
 * these images (Riverbed-hosted and the demo's customer URLs), and the simulator serves each at its
 * path with a manifest (domain/image-manifest.ts) of exactly this definition, so an image
 * registered by URL alone reads back the definition bootstrap gives it.
 *
 * Paths, relative to the image base URL:
 *   {product_code}/{arch}/{version_id}.img                 Riverbed full image
 *   {product_code}/{arch}/{from}-to-{to}.delta             Riverbed delta image
 *   customer/{product_code}/{arch}/{version_id}.img        the demo customer's copy of a release
 *
 * Pure, no I/O.
 */
import { ARCHES, PRODUCT_CODES, type ImageDefinition, type ImageSource, type Version } from './scc';

/**
 * The Riverbed-hosted repository as this installation knows it: without a connection to Riverbed
 * Support, a catalog of the releases the demo fleet runs and two newer ones, for every product code
 * and arch. Each full image lists the releases it upgrades from: the older catalog releases, except
 * that the newest (RIVERBED_TWO_HOP_VERSION) upgrades only from the one before it, so reaching it
 * from older releases takes two images. Delta images lead from one release to the next
 * (RIVERBED_DELTAS), so an appliance on 9.14.0 patches its way up.
 */
export const RIVERBED_CATALOG_VERSIONS = [
  '9.12.0-100',
  '9.12.1-100',
  '9.14.0-100',
  '9.16.0-100',
  '9.18.0-100',
] as const;
export const RIVERBED_TWO_HOP_VERSION = '9.18.0-100';
export const RIVERBED_DELTAS = [
  ['9.14.0-100', '9.16.0-100'],
  ['9.16.0-100', '9.18.0-100'],
] as const;

/** The demo's hotfix: a locally hosted image for SH x86_64 only, installable from 9.14.0 alone. */
export const DEMO_HOTFIX_VERSION = '9.14.1-100';
/** Releases the demo's customer repository holds (as customer URL images): what appliances can be downgraded to. */
export const DEMO_DOWNGRADE_VERSIONS = ['9.12.0-100', '9.12.1-100', '9.14.0-100'] as const;

/** `9.16.0-100` → version_number 9.16.0, build_number 100. */
export function versionOf(version_id: string): Version {
  const [version_number, build_number] = version_id.split('-') as [string, string];
  return { version_id, version_number, build_number };
}

/** The releases a catalog release upgrades from (see RIVERBED_CATALOG_VERSIONS). */
export function catalogSources(version_id: string): string[] {
  const i = RIVERBED_CATALOG_VERSIONS.indexOf(version_id as (typeof RIVERBED_CATALOG_VERSIONS)[number]);
  return version_id === RIVERBED_TWO_HOP_VERSION
    ? [RIVERBED_CATALOG_VERSIONS[i - 1]!]
    : RIVERBED_CATALOG_VERSIONS.slice(0, Math.max(0, i));
}

/**
 * When a catalog release was built (seconds): a fixed day per release, so the simulator's manifests
 * and a local upload's modification_time are the same at every run.
 */
export function catalogBuildTimestamp(version_id: string): number {
  const i = [...RIVERBED_CATALOG_VERSIONS, DEMO_HOTFIX_VERSION].indexOf(version_id);
  return 1_700_000_000 + Math.max(0, i) * 30 * 86_400;
}

/** An image of the catalog: where it lives under the base URL, what it is, and its per-source id. */
export interface CatalogImage {
  /** Relative to the image base URL, without a leading slash. */
  path: string;
  /** The id of its row in its source's list (image_repositories/…). */
  id: string;
  source: Extract<ImageSource, 'riverbed' | 'customer_url'>;
  image_definition: ImageDefinition;
  /** Riverbed images only: the releases it upgrades from (the seed's riverbed_hosted_image). */
  source_versions?: Version[];
  build_timestamp: number;
}

function riverbedImagesOf(
  product_code: ImageDefinition['product_code'],
  arch: ImageDefinition['arch'],
): CatalogImage[] {
  const full = RIVERBED_CATALOG_VERSIONS.map((version_id): CatalogImage => ({
    path: `${product_code}/${arch}/${version_id}.img`,
    id: `riverbed-${product_code}-${arch}-${version_id}`,
    source: 'riverbed',
    image_definition: { product_code, arch, target_version: versionOf(version_id), delta: false },
    source_versions: catalogSources(version_id).map((id) => ({ version_id: id })),
    build_timestamp: catalogBuildTimestamp(version_id),
  }));
  const deltas = RIVERBED_DELTAS.map(([from, to]): CatalogImage => ({
    path: `${product_code}/${arch}/${from}-to-${to}.delta`,
    id: `riverbed-${product_code}-${arch}-${from}-to-${to}`,
    source: 'riverbed',
    image_definition: {
      product_code,
      arch,
      target_version: versionOf(to),
      delta: true,
      source_version: versionOf(from),
    },
    source_versions: [{ version_id: from }],
    build_timestamp: catalogBuildTimestamp(to),
  }));
  return [...full, ...deltas];
}

function demoCustomerUrlImagesOf(
  product_code: ImageDefinition['product_code'],
  arch: ImageDefinition['arch'],
): CatalogImage[] {
  return DEMO_DOWNGRADE_VERSIONS.map((version_id): CatalogImage => ({
    path: `customer/${product_code}/${arch}/${version_id}.img`,
    id: `demo-url-${product_code}-${arch}-${version_id}`,
    source: 'customer_url',
    // The customer's copy of a release upgrades from what Riverbed's does.
    image_definition: {
      product_code,
      arch,
      target_version: versionOf(version_id),
      delta: false,
      source_versions: catalogSources(version_id),
    },
    build_timestamp: catalogBuildTimestamp(version_id),
  }));
}

/** Every image of the catalog with a URL: the Riverbed repository, then the demo's customer URLs. */
export function catalogImages(): CatalogImage[] {
  const pairs = PRODUCT_CODES.flatMap((product_code) => ARCHES.map((arch) => [product_code, arch] as const));
  return [
    ...pairs.flatMap(([p, a]) => riverbedImagesOf(p, a)),
    ...pairs.flatMap(([p, a]) => demoCustomerUrlImagesOf(p, a)),
  ];
}

let byPath: Map<string, CatalogImage> | undefined;

/** The catalog image at `path` (relative to the image base URL), or undefined. */
export function catalogImageAt(path: string): CatalogImage | undefined {
  byPath ??= new Map(catalogImages().map((image) => [image.path, image]));
  return byPath.get(path.replace(/^\/+/, ''));
}
