/**
 * What makes two images the same image. The seed: an image repository "provides a set of distinct
 * images. The distinct meaning each has a different image definition", and an `image` lists every
 * source (`image_sources`) it is available from. So the identity of an image is its definition,
 * and its id is derived from that definition alone:
 *
 *   id = "image-" + the first 32 hex digits of SHA-256(canonical definition)
 *   canonical definition = JSON of [product_code, arch, target_version.version_id, delta,
 *                                   source_version.version_id (delta images only) or null]
 *
 * A hash rather than a readable name because version ids are free strings (they may hold `/` or
 * `-to-`), and the id must be one path segment that never collides. It is stable: the same
 * definition has the same id whichever sources hold it, in every installation, across restarts,
 * and whether the customer's copy was registered before or after Riverbed's. Extension
 * properties of the definition (e.g. our `source_versions`) and a version's other fields
 * (version_number, build_timestamp) do not change which image it is.
 *
 * Pure (node:crypto only); not for workflow code.
 */
import { createHash } from 'node:crypto';
import { IMAGE_SOURCES, type ImageSource } from './scc';

/** The parts of an image definition that identify the image (the stored and the parsed forms both have them). */
export interface DefinitionIdentity {
  product_code: string;
  arch: string;
  target_version: { version_id: string };
  delta: boolean;
  source_version?: { version_id: string } | undefined;
}

/**
 * The canonical form of a definition. source_version counts for delta images only: the seed gives
 * it meaning "if delta image is true", so two full images of one release are one image whatever
 * source_version either carries.
 */
export function imageDefinitionKey(d: DefinitionIdentity): string {
  return JSON.stringify([
    d.product_code,
    d.arch,
    d.target_version.version_id,
    d.delta,
    d.delta ? (d.source_version?.version_id ?? null) : null,
  ]);
}

export const sameImageDefinition = (a: DefinitionIdentity, b: DefinitionIdentity): boolean =>
  imageDefinitionKey(a) === imageDefinitionKey(b);

/** The image's id (see the file comment): the same for every copy of one definition. */
export function imageIdOf(d: DefinitionIdentity): string {
  return `image-${createHash('sha256').update(imageDefinitionKey(d)).digest('hex').slice(0, 32)}`;
}

/** For messages: `SH x86_64 9.16.0-100 (full)`, `SH x86_64 9.14.0-100 → 9.16.0-100 (delta)`. */
export function describeImageDefinition(d: DefinitionIdentity): string {
  const versions = d.delta
    ? `${d.source_version?.version_id ?? '?'} → ${d.target_version.version_id}`
    : d.target_version.version_id;
  return `${d.product_code} ${d.arch} ${versions} (${d.delta ? 'delta' : 'full'})`;
}

/** One stored row of a source's list: the source and that source's own object. */
export interface SourcedImage<D extends DefinitionIdentity> {
  source: ImageSource;
  image: { id: string; image_definition: D };
}

/** The seed's `image`, plus `source_image_ids`: each source's own id for it (to read or delete that copy). */
export interface DistinctImage<D extends DefinitionIdentity> {
  id: string;
  image_definition: D;
  image_sources: ImageSource[];
  source_image_ids: Partial<Record<ImageSource, string>>;
}

/**
 * The seed's images from the sources' rows: one per distinct definition, in the order each was
 * first stored, with its sources in the seed's order (local, customer_url, riverbed). The
 * definition shown is the first source's in that order: the customer's copy when there is one.
 * A source holding one definition twice (only rows stored before the store refused that) is
 * named once, with its first row's id.
 */
export function imagesByDefinition<D extends DefinitionIdentity>(rows: readonly SourcedImage<D>[]): DistinctImage<D>[] {
  const byId = new Map<string, SourcedImage<D>[]>();
  for (const row of rows) {
    const id = imageIdOf(row.image.image_definition);
    byId.set(id, [...(byId.get(id) ?? []), row]);
  }
  return [...byId].map(([id, copies]) => {
    const ordered = IMAGE_SOURCES.map((source) => copies.find((c) => c.source === source)).filter(
      (c): c is SourcedImage<D> => c !== undefined,
    );
    return {
      id,
      image_definition: ordered[0]!.image.image_definition,
      image_sources: ordered.map((c) => c.source),
      source_image_ids: Object.fromEntries(ordered.map((c) => [c.source, c.image.id])),
    };
  });
}
