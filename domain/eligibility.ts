/**
 * Eligibility: which appliances of a product code can be upgraded, downgraded or rebooted, and
 * why the others cannot, as the seed's upgradeable_appliances / downgradeable_appliances /
 * rebootable_appliances objects. Each appliance lands in exactly one place: the checks run in the
 * order below and the first that fails names its category. Appliances of other product codes are
 * left out.
 *
 * Upgrade:   read_only, unentitled (entitled === false), model_eol, disconnected,
 *            operation_in_progress, same_or_newer_version, no_<arch>_image (an image of the target
 *            exists for the product but not for the appliance's arch), not_supported (its version
 *            or arch is unknown, or no image chain leads from its version to the target).
 * Downgrade: read_only, disconnected, operation_in_progress, same_or_older_version,
 *            not_previously_upgraded_to (it never ran the target), no_<arch>_image (customer
 *            repository only, as the seed says), not_supported (unknown version or arch, or no
 *            full image to install).
 * Reboot:    read_only, disconnected, operation_in_progress, not_supported (the appliance reports
 *            `reboot_supported: false`).
 */
import type {
  Appliance,
  DowngradeableAppliances,
  DowngradeExceptionCategory,
  ProductCode,
  ProductVersion,
  RebootableAppliances,
  RebootExceptionCategory,
  UpgradeableAppliances,
  UpgradeExceptionCategory,
  Version,
} from './scc';
import { DOWNGRADE_EXCEPTION_CATEGORIES, REBOOT_EXCEPTION_CATEGORIES, UPGRADE_EXCEPTION_CATEGORIES } from './scc';
import { ImageIndex, type AvailableImage } from './upgrade-path';
import { compareVersions, parseVersionId } from './version';

export interface EligibilityInput {
  productCode: ProductCode;
  appliances: readonly Appliance[];
  /** Serials with a task in a scheduled or running operation. */
  inProgress: ReadonlySet<string>;
}

export interface ImageEligibilityInput extends EligibilityInput {
  targetVersionId: string;
  /** Every image, or an index of them built once for many calls. */
  images: readonly AvailableImage[] | ImageIndex;
}

export interface DowngradeEligibilityInput extends ImageEligibilityInput {
  /** Versions each appliance has run (its version history). */
  previousVersions: ReadonlyMap<string, ReadonlySet<string>>;
}

const noImageFor = (arch: string): 'no_i386_image' | 'no_x86_64_image' => (arch === 'i386' ? 'no_i386_image' : 'no_x86_64_image');
const indexOf = (images: readonly AvailableImage[] | ImageIndex): ImageIndex => (images instanceof ImageIndex ? images : new ImageIndex(images));

function sort<C extends string>(categories: readonly C[], appliances: readonly Appliance[], productCode: ProductCode, classify: (a: Appliance) => C | undefined) {
  const eligible: Appliance[] = [];
  const exceptions = Object.fromEntries(categories.map((c) => [c, [] as Appliance[]])) as Record<C, Appliance[]>;
  for (const appliance of appliances) {
    if (appliance.product_code !== productCode) continue;
    const category = classify(appliance);
    if (category) exceptions[category].push(appliance);
    else eligible.push(appliance);
  }
  return { eligible, exceptions };
}

/** The target's version object: from the images when they have it, else parsed from its id. */
function targetOf(index: ImageIndex, productCode: ProductCode, versionId: string): Version | undefined {
  const known = index.targetVersion(productCode, versionId);
  if (known) return known;
  try {
    parseVersionId(versionId);
    return { version_id: versionId };
  } catch {
    return undefined;
  }
}

export function upgradeEligibility(input: ImageEligibilityInput): UpgradeableAppliances {
  const index = indexOf(input.images);
  const target = targetOf(index, input.productCode, input.targetVersionId);
  const { eligible, exceptions } = sort<UpgradeExceptionCategory>(UPGRADE_EXCEPTION_CATEGORIES, input.appliances, input.productCode, (a) => {
    if (a.read_only === true) return 'read_only';
    if (a.entitled === false) return 'unentitled';
    if (a.model_eol === true) return 'model_eol';
    if (!a.connected) return 'disconnected';
    if (input.inProgress.has(a.serial)) return 'operation_in_progress';
    if (!a.current_version || !a.arch || !target) return 'not_supported';
    if (compareVersions(a.current_version, target) >= 0) return 'same_or_newer_version';
    const path = index.path({ product_code: a.product_code, arch: a.arch, current_version: a.current_version }, input.targetVersionId);
    if (path.ok) return undefined;
    return path.reason === 'no_image_for_arch' ? noImageFor(a.arch) : 'not_supported';
  });
  return { upgradeable: eligible, exceptions };
}

export function downgradeEligibility(input: DowngradeEligibilityInput): DowngradeableAppliances {
  const index = indexOf(input.images);
  const target = targetOf(index, input.productCode, input.targetVersionId);
  const { eligible, exceptions } = sort<DowngradeExceptionCategory>(DOWNGRADE_EXCEPTION_CATEGORIES, input.appliances, input.productCode, (a) => {
    if (a.read_only === true) return 'read_only';
    if (!a.connected) return 'disconnected';
    if (input.inProgress.has(a.serial)) return 'operation_in_progress';
    if (!a.current_version || !a.arch || !target) return 'not_supported';
    if (compareVersions(a.current_version, target) <= 0) return 'same_or_older_version';
    if (!input.previousVersions.get(a.serial)?.has(input.targetVersionId)) return 'not_previously_upgraded_to';
    const path = index.path({ product_code: a.product_code, arch: a.arch, current_version: a.current_version }, input.targetVersionId, { direction: 'downgrade', repositories: ['customer'] });
    if (path.ok) return undefined;
    return path.reason === 'no_image_for_arch' || path.reason === 'target_unknown' ? noImageFor(a.arch) : 'not_supported';
  });
  return { downgradeable: eligible, exceptions };
}

export function rebootEligibility(input: EligibilityInput): RebootableAppliances {
  const { eligible, exceptions } = sort<RebootExceptionCategory>(REBOOT_EXCEPTION_CATEGORIES, input.appliances, input.productCode, (a) => {
    if (a.read_only === true) return 'read_only';
    if (!a.connected) return 'disconnected';
    if (input.inProgress.has(a.serial)) return 'operation_in_progress';
    if (a.reboot_supported === false) return 'not_supported';
    return undefined;
  });
  return { rebootable: eligible, exceptions };
}

/** Versions at least one appliance of the product could be upgraded to, oldest first. */
export function upgradeableVersions(productCode: ProductCode, appliances: readonly Appliance[], images: readonly AvailableImage[] | ImageIndex, inProgress: ReadonlySet<string> = new Set()): ProductVersion[] {
  const index = indexOf(images);
  return index
    .versions(productCode)
    .filter((version) => upgradeEligibility({ productCode, appliances, images: index, inProgress, targetVersionId: version.version_id }).upgradeable.length > 0)
    .map((version) => ({ product_code: productCode, version }));
}

/** Versions at least one appliance of the product could be downgraded to, oldest first. */
export function downgradeableVersions(
  productCode: ProductCode,
  appliances: readonly Appliance[],
  images: readonly AvailableImage[] | ImageIndex,
  previousVersions: ReadonlyMap<string, ReadonlySet<string>>,
  inProgress: ReadonlySet<string> = new Set(),
): ProductVersion[] {
  const index = indexOf(images);
  return index
    .versions(productCode)
    .filter((version) => downgradeEligibility({ productCode, appliances, images: index, inProgress, previousVersions, targetVersionId: version.version_id }).downgradeable.length > 0)
    .map((version) => ({ product_code: productCode, version }));
}
