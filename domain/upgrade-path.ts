/**
 * Upgrade paths: from an appliance's running version to a target, through the images available.
 *
 * - A full image of version T applies to an appliance at V when V is older than T and, when the
 *   image lists `source_versions` (Riverbed-hosted images do), V is one of them.
 * - A delta image applies only at exactly its `source_version`.
 * - Only images of the appliance's product code and arch, in the allowed repositories; a hop never
 *   goes past the target.
 * - The path has the fewest hops; among those, the most delta hops (smaller downloads); then the
 *   image ids in order, so the answer is always the same.
 * - A downgrade is one full image of the older target version (deltas only go forward).
 */
import type { Arch, ImageDefinition, ImageRepository, ProductCode, Version } from './scc';
import { compareVersions } from './version';

export interface AvailableImage {
  image: { id: string; image_definition: ImageDefinition; source_versions?: Version[]; [property: string]: unknown };
  repository: ImageRepository;
}

export interface PathHop {
  image_id: string;
  delta: boolean;
  from_version_id: string;
  to: Version;
}

export type NoPathReason = 'target_unknown' | 'no_image_for_arch' | 'not_newer' | 'not_older' | 'no_path';

export type UpgradePath = { ok: true; hops: PathHop[] } | { ok: false; reason: NoPathReason; message: string };

export interface PathOptions {
  direction?: 'upgrade' | 'downgrade';
  /** Default: both. Downgrades use the customer repository only (the seed). */
  repositories?: readonly ImageRepository[];
}

export interface PathAppliance {
  product_code: ProductCode;
  arch: Arch;
  current_version: Version;
}

/** Images indexed once for many path searches (eligibility runs this for thousands of appliances). */
export class ImageIndex {
  private readonly byKey = new Map<string, AvailableImage[]>();
  private readonly targets = new Map<string, Map<string, Version>>();
  private readonly memo = new Map<string, UpgradePath>();

  constructor(images: readonly AvailableImage[]) {
    for (const entry of images) {
      const d = entry.image.image_definition;
      const key = `${d.product_code}/${d.arch}`;
      this.byKey.set(key, [...(this.byKey.get(key) ?? []), entry]);
      const perProduct = this.targets.get(d.product_code) ?? new Map<string, Version>();
      perProduct.set(d.target_version.version_id, d.target_version);
      this.targets.set(d.product_code, perProduct);
    }
    for (const list of this.byKey.values()) list.sort((a, b) => (a.image.id < b.image.id ? -1 : a.image.id > b.image.id ? 1 : 0));
  }

  /** The target versions images exist for, per product code. */
  versions(productCode: ProductCode): Version[] {
    return [...(this.targets.get(productCode)?.values() ?? [])].sort(compareVersions);
  }

  /** Whether any image of this product (any arch, any repository) has this target version. */
  hasTarget(productCode: ProductCode, versionId: string): boolean {
    return this.targets.get(productCode)?.has(versionId) ?? false;
  }

  targetVersion(productCode: ProductCode, versionId: string): Version | undefined {
    return this.targets.get(productCode)?.get(versionId);
  }

  images(productCode: ProductCode, arch: Arch, repositories?: readonly ImageRepository[]): AvailableImage[] {
    const all = this.byKey.get(`${productCode}/${arch}`) ?? [];
    return repositories ? all.filter((i) => repositories.includes(i.repository)) : all;
  }

  path(appliance: PathAppliance, targetVersionId: string, options: PathOptions = {}): UpgradePath {
    const key = `${appliance.product_code}/${appliance.arch}/${appliance.current_version.version_id}/${targetVersionId}/${options.direction ?? 'upgrade'}/${options.repositories?.join(',') ?? '*'}`;
    let result = this.memo.get(key);
    if (!result) {
      result = this.search(appliance, targetVersionId, options);
      this.memo.set(key, result);
    }
    return result;
  }

  private search(appliance: PathAppliance, targetVersionId: string, options: PathOptions): UpgradePath {
    const { product_code, arch, current_version } = appliance;
    const direction = options.direction ?? 'upgrade';
    const target = this.targetVersion(product_code, targetVersionId);
    if (!target) return { ok: false, reason: 'target_unknown', message: `no ${product_code} image of version ${targetVersionId}` };
    const candidates = this.images(product_code, arch, options.repositories);
    const finals = candidates.filter((i) => i.image.image_definition.target_version.version_id === targetVersionId);
    if (finals.length === 0) {
      const where = options.repositories ? ` in the ${options.repositories.join('/')} repository` : '';
      return { ok: false, reason: 'no_image_for_arch', message: `no ${arch} image of ${product_code} ${targetVersionId}${where}` };
    }
    const order = compareVersions(current_version, target);
    if (direction === 'downgrade') {
      if (order <= 0) return { ok: false, reason: 'not_older', message: `${current_version.version_id} is not newer than ${targetVersionId}` };
      const full = finals.find((i) => !i.image.image_definition.delta);
      if (!full) return { ok: false, reason: 'no_path', message: `no full ${arch} image of ${targetVersionId} to downgrade with` };
      return { ok: true, hops: [{ image_id: full.image.id, delta: false, from_version_id: current_version.version_id, to: target }] };
    }
    if (order >= 0) return { ok: false, reason: 'not_newer', message: `${current_version.version_id} is not older than ${targetVersionId}` };

    // Layered breadth-first search: each layer is one more hop; within a layer keep, per version,
    // the path with the most deltas (then the smallest image ids).
    type Partial = { version: Version; hops: PathHop[]; deltas: number };
    const better = (a: Partial, b: Partial): boolean => a.deltas > b.deltas || (a.deltas === b.deltas && a.hops.map((h) => h.image_id).join('\0') < b.hops.map((h) => h.image_id).join('\0'));
    const seen = new Set<string>([current_version.version_id]);
    let layer: Partial[] = [{ version: current_version, hops: [], deltas: 0 }];
    while (layer.length) {
      const next = new Map<string, Partial>();
      for (const from of layer) {
        for (const { image } of candidates) {
          const d = image.image_definition;
          const to = d.target_version;
          if (seen.has(to.version_id) || compareVersions(to, target) > 0) continue;
          const applies = d.delta
            ? d.source_version?.version_id === from.version.version_id
            : compareVersions(from.version, to) < 0 && (!image.source_versions || image.source_versions.some((v) => v.version_id === from.version.version_id));
          if (!applies) continue;
          const candidate: Partial = { version: to, hops: [...from.hops, { image_id: image.id, delta: d.delta, from_version_id: from.version.version_id, to }], deltas: from.deltas + (d.delta ? 1 : 0) };
          const existing = next.get(to.version_id);
          if (!existing || better(candidate, existing)) next.set(to.version_id, candidate);
        }
      }
      const arrived = next.get(targetVersionId);
      if (arrived) return { ok: true, hops: arrived.hops };
      for (const id of next.keys()) seen.add(id);
      layer = [...next.values()];
    }
    return { ok: false, reason: 'no_path', message: `no ${arch} image chain from ${current_version.version_id} to ${targetVersionId}` };
  }
}

/** One path search (see ImageIndex for many). */
export function findUpgradePath(appliance: PathAppliance, targetVersionId: string, images: readonly AvailableImage[], options: PathOptions = {}): UpgradePath {
  return new ImageIndex(images).path(appliance, targetVersionId, options);
}
