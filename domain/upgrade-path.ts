/**
 * Upgrade paths: from an appliance's running version V to a target version, through the images
 * available. Pure, no I/O, deterministic.
 *
 * Which image applies (a "hop"):
 * - only images of the appliance's product code and arch, in the allowed repositories;
 * - a full image (delta: false) of version T applies at V when V is older than T and, when the
 *   image lists source versions, V's version_id is one of them. Source versions are read from the
 *   Riverbed-hosted image's `source_versions` ([version], the seed) or from our extension
 *   `image_definition.source_versions` ([version_id] or [version]); both present: V must be in both;
 * - a delta image applies only when V's version_id equals its `source_version.version_id`, and
 *   only forward (its target is newer than its source);
 * - a hop never goes past the target.
 *
 * Which path (upgrade): the fewest hops; among those, the most delta hops (smaller downloads);
 * then the smallest sequence of image ids, compared hop by hop in code-unit order, so the answer
 * never depends on the order the images were given in.
 *
 * A downgrade is one full image of the older target version: deltas only go forward and source
 * versions (what Riverbed supports upgrading from) do not restrict it. Among several, the
 * smallest image id. Callers pass `repositories: ['customer']` for downgrades, as the seed says.
 *
 * Why not (checked in this order): `target_unknown` (no image of this product code has the
 * target version), `invalid_version` (the current version cannot be ordered),
 * `not_newer` / `not_older` (the target is not newer / older than the current version),
 * `no_image_for_arch` (no image of the target for this arch in the allowed repositories, with
 * `arch`), `no_path` (images of the target exist, but none chains from the current version).
 */
import type { Arch, ImageDefinition, ImageRepository, ProductCode, Version } from './scc';
import { compareVersions, compareVersionsForListing, tryCompareVersions, VersionFormatError } from './version';

export interface AvailableImage {
  image: {
    id: string;
    image_definition: ImageDefinition & { source_versions?: readonly (string | Version)[] };
    source_versions?: readonly Version[];
    [property: string]: unknown;
  };
  repository: ImageRepository;
}

export interface PathHop {
  image_id: string;
  delta: boolean;
  repository: ImageRepository;
  from_version_id: string;
  to: Version;
}

export type NoPathReason =
  'invalid_version' | 'target_unknown' | 'not_newer' | 'not_older' | 'no_image_for_arch' | 'no_path';

export type NoPath =
  | { ok: false; reason: 'no_image_for_arch'; arch: Arch; message: string }
  | { ok: false; reason: Exclude<NoPathReason, 'no_image_for_arch'>; message: string };

export type UpgradePath = { ok: true; hops: PathHop[] } | NoPath;

export interface PathOptions {
  direction?: 'upgrade' | 'downgrade';
  /** Default: every repository. Downgrades use the customer repository only (the seed). */
  repositories?: readonly ImageRepository[];
}

export interface PathAppliance {
  product_code: ProductCode;
  arch: Arch;
  current_version: Version;
}

/** An image the index left out because one of its versions cannot be ordered, and why. */
export interface RejectedImage {
  image_id: string;
  error: string;
}

interface Entry {
  original: AvailableImage;
  id: string;
  repository: ImageRepository;
  definition: ImageDefinition;
  target: Version;
  delta: boolean;
  /** The version ids a full image is restricted to, when it lists any. */
  sources?: ReadonlySet<string>;
}

interface Group {
  /** By image id. */
  all: Entry[];
  /** By image id. */
  full: Entry[];
  /** Delta images by source version id, each list by image id. */
  deltaBySource: Map<string, Entry[]>;
  targets: Set<string>;
}

type Partial = { version: Version; hops: PathHop[]; deltas: number };

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const idOf = (v: string | Version): string => (typeof v === 'string' ? v : v.version_id);

function sourcesOf(image: AvailableImage['image']): ReadonlySet<string> | undefined {
  const lists = [image.source_versions, image.image_definition.source_versions].filter(
    (l): l is readonly (string | Version)[] => Array.isArray(l),
  );
  if (lists.length === 0) return undefined;
  const [first, ...rest] = lists.map((l) => new Set(l.map(idOf)));
  return rest.reduce((acc, set) => new Set([...acc].filter((id) => set.has(id))), first!);
}

/** Hop-by-hop image id order; equal-length sequences only (paths compared are of one layer). */
function compareHopIds(a: readonly PathHop[], b: readonly PathHop[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!.image_id;
    const y = b[i]!.image_id;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const better = (a: Partial, b: Partial): boolean =>
  a.deltas > b.deltas || (a.deltas === b.deltas && compareHopIds(a.hops, b.hops) < 0);

/**
 * Images indexed once for many path searches (eligibility runs thousands): grouped by product
 * code and arch, delta images by source version, and each search memoised by (product, arch,
 * current version, target, direction, repositories).
 */
export class ImageIndex {
  /** Images left out because a version of theirs cannot be ordered (callers may log them). */
  readonly rejected: RejectedImage[] = [];
  private readonly groups = new Map<string, Group>();
  private readonly targets = new Map<ProductCode, Map<string, Version>>();
  private readonly memo = new Map<string, UpgradePath>();

  constructor(images: readonly AvailableImage[]) {
    // By id first, so every "first of" below is deterministic whatever the input order.
    const sorted = [...images].sort((a, b) => byId(a.image, b.image));
    for (const given of sorted) {
      const { image, repository } = given;
      const d = image.image_definition;
      try {
        // Throws VersionFormatError when a version cannot be ordered.
        compareVersions(d.target_version, d.target_version);
        if (d.delta && d.source_version) compareVersions(d.source_version, d.target_version);
      } catch (err) {
        if (!(err instanceof VersionFormatError)) throw err;
        this.rejected.push({ image_id: image.id, error: err.message });
        continue;
      }
      const sources = d.delta ? undefined : sourcesOf(image);
      const entry: Entry = {
        original: given,
        id: image.id,
        repository,
        definition: d,
        target: d.target_version,
        delta: d.delta,
        ...(sources ? { sources } : {}),
      };
      const group = this.group(d.product_code, d.arch, true)!;
      group.all.push(entry);
      group.targets.add(d.target_version.version_id);
      if (!d.delta) group.full.push(entry);
      else if (d.source_version) {
        const list = group.deltaBySource.get(d.source_version.version_id) ?? [];
        list.push(entry);
        group.deltaBySource.set(d.source_version.version_id, list);
      }
      let perProduct = this.targets.get(d.product_code);
      if (!perProduct) this.targets.set(d.product_code, (perProduct = new Map<string, Version>()));
      // The first image (by id) that names a version gives its version object.
      if (!perProduct.has(d.target_version.version_id)) perProduct.set(d.target_version.version_id, d.target_version);
    }
  }

  private group(productCode: ProductCode, arch: Arch, create = false): Group | undefined {
    const key = `${productCode}/${arch}`;
    let group = this.groups.get(key);
    if (!group && create)
      this.groups.set(key, (group = { all: [], full: [], deltaBySource: new Map(), targets: new Set() }));
    return group;
  }

  /** The target versions images exist for, for a product code, oldest first (ties by version_id). */
  versions(productCode: ProductCode): Version[] {
    return [...(this.targets.get(productCode)?.values() ?? [])].sort(compareVersionsForListing);
  }

  /** Whether any image of this product (any arch, any repository) has this target version. */
  hasTarget(productCode: ProductCode, versionId: string): boolean {
    return this.targets.get(productCode)?.has(versionId) ?? false;
  }

  /** The version object of a target, as the first image (by id) naming it has it. */
  targetVersion(productCode: ProductCode, versionId: string): Version | undefined {
    return this.targets.get(productCode)?.get(versionId);
  }

  /** Images of a product and arch (by id), optionally only those in some repositories. */
  images(productCode: ProductCode, arch: Arch, repositories?: readonly ImageRepository[]): AvailableImage[] {
    return (this.group(productCode, arch)?.all ?? [])
      .filter((e) => !repositories || repositories.includes(e.repository))
      .map((e) => e.original);
  }

  /** The path for one appliance (memoised). */
  path(appliance: PathAppliance, targetVersionId: string, options: PathOptions = {}): UpgradePath {
    const repositories = options.repositories ? [...new Set(options.repositories)].sort().join(',') : '*';
    const key = `${appliance.product_code}\0${appliance.arch}\0${appliance.current_version.version_id}\0${targetVersionId}\0${options.direction ?? 'upgrade'}\0${repositories}`;
    let result = this.memo.get(key);
    if (!result) {
      result = this.search(appliance, targetVersionId, options);
      this.memo.set(key, result);
    }
    return result;
  }

  private search(appliance: PathAppliance, targetVersionId: string, options: PathOptions): UpgradePath {
    const { product_code, arch, current_version } = appliance;
    const downgrade = options.direction === 'downgrade';
    const allowed = (e: Entry): boolean => !options.repositories || options.repositories.includes(e.repository);
    const target = this.targetVersion(product_code, targetVersionId);
    if (!target)
      return { ok: false, reason: 'target_unknown', message: `no ${product_code} image of version ${targetVersionId}` };
    // Indexed targets always parse (see the constructor), so only the current version can fail.
    const order = tryCompareVersions(current_version, target);
    if (order === undefined)
      return {
        ok: false,
        reason: 'invalid_version',
        message: `current version ${current_version.version_id} cannot be ordered`,
      };
    if (downgrade && order <= 0)
      return {
        ok: false,
        reason: 'not_older',
        message: `${targetVersionId} is not older than ${current_version.version_id}`,
      };
    if (!downgrade && order >= 0)
      return {
        ok: false,
        reason: 'not_newer',
        message: `${targetVersionId} is not newer than ${current_version.version_id}`,
      };

    const group = this.group(product_code, arch);
    const finals = (group?.all ?? []).filter((e) => e.target.version_id === targetVersionId && allowed(e));
    if (finals.length === 0) {
      const where = options.repositories ? ` in the ${options.repositories.join('/')} repository` : '';
      return {
        ok: false,
        reason: 'no_image_for_arch',
        arch,
        message: `no ${arch} image of ${product_code} ${targetVersionId}${where}`,
      };
    }
    const hop = (e: Entry, from: Version): PathHop => ({
      image_id: e.id,
      delta: e.delta,
      repository: e.repository,
      from_version_id: from.version_id,
      to: e.target,
    });
    if (downgrade) {
      const full = finals.find((e) => !e.delta);
      if (!full)
        return {
          ok: false,
          reason: 'no_path',
          message: `no full ${arch} image of ${product_code} ${targetVersionId} to downgrade with (deltas only go forward)`,
        };
      return { ok: true, hops: [hop(full, current_version)] };
    }

    // Breadth-first by layers: layer k holds, per version first reached in k hops, the best
    // k-hop prefix (most deltas, then smallest ids). Keeping only that one is enough, because
    // what can follow depends on the version alone; a version reached earlier is never revisited,
    // since a path through it later would not have the fewest hops.
    const g = group!;
    const seen = new Set<string>([current_version.version_id]);
    let layer: Partial[] = [{ version: current_version, hops: [], deltas: 0 }];
    while (layer.length) {
      const next = new Map<string, Partial>();
      for (const from of layer) {
        const consider = (e: Entry): void => {
          if (!allowed(e) || seen.has(e.target.version_id)) return;
          // Never past the target; forward only (a full image needs V older than T anyway).
          if (compareVersions(e.target, target) > 0 || compareVersions(from.version, e.target) >= 0) return;
          if (e.sources && !e.sources.has(from.version.version_id)) return;
          const candidate: Partial = {
            version: e.target,
            hops: [...from.hops, hop(e, from.version)],
            deltas: from.deltas + (e.delta ? 1 : 0),
          };
          const existing = next.get(e.target.version_id);
          if (!existing || better(candidate, existing)) next.set(e.target.version_id, candidate);
        };
        for (const e of g.deltaBySource.get(from.version.version_id) ?? []) consider(e);
        for (const e of g.full) consider(e);
      }
      const arrived = next.get(targetVersionId);
      if (arrived) return { ok: true, hops: arrived.hops };
      for (const id of next.keys()) seen.add(id);
      // Map order is insertion order, which follows the sorted images: deterministic.
      layer = [...next.values()];
    }
    return {
      ok: false,
      reason: 'no_path',
      message: `no chain of ${arch} images leads from ${current_version.version_id} to ${product_code} ${targetVersionId}`,
    };
  }
}

/** One path search (build an ImageIndex for many). */
export function findUpgradePath(
  appliance: PathAppliance,
  targetVersionId: string,
  images: readonly AvailableImage[],
  options: PathOptions = {},
): UpgradePath {
  return new ImageIndex(images).path(appliance, targetVersionId, options);
}
