/**
 * Eligibility: which appliances of a product code can be upgraded, downgraded or rebooted, and
 * why the others cannot, as the seed's upgradeable_appliances / downgradeable_appliances /
 * rebootable_appliances objects. Pure, no I/O, deterministic.
 *
 * - Appliances of other product codes are left out entirely.
 * - Every exception category key is present (an empty array when none).
 * - Each appliance lands in exactly one place: the checks run in the order below and the first
 *   that fails names its category; an appliance passing all of them is upgradeable /
 *   downgradeable / rebootable. Lists keep the input order of the appliances.
 *
 * Upgrade (UPGRADE_CHECK_ORDER):
 *   read_only (read_only === true), unentitled (entitled === false; missing counts as entitled),
 *   model_eol (extension model_eol === true), disconnected (connected !== true),
 *   operation_in_progress (serial in inProgress), not_supported if the current version is
 *   missing or cannot be ordered, same_or_newer_version, not_supported if the arch is missing,
 *   no_<arch>_image (an image of the target exists for the product but none for this arch),
 *   not_supported (no chain of images leads from the current version to the target, or no
 *   image of the target exists at all).
 * Downgrade (DOWNGRADE_CHECK_ORDER): images of the customer repository only (the seed):
 *   read_only, disconnected, operation_in_progress, not_supported if the current version is
 *   missing or cannot be ordered, same_or_older_version, not_previously_upgraded_to (the
 *   target's version_id is not among the versions the appliance ran before), not_supported if
 *   the arch is missing, no_<arch>_image (no image of the target for this arch in the customer
 *   repository), not_supported (the customer repository has only delta images of the target).
 * Reboot (REBOOT_CHECK_ORDER): read_only, disconnected, operation_in_progress, not_supported
 *   (the appliance carries the extension `reboot_supported: false`). Arch, version, entitlement
 *   and end of life do not matter to a reboot, which installs nothing.
 * The target's version object is the images' one when an image names it, else `{version_id}`.
 *
 * Cost: one ImageIndex per call (or a shared one passed in), paths memoised per (arch, current
 * version), so a call is linear in the appliances plus one path search per distinct version.
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
import { ImageIndex, type AvailableImage, type PathAppliance } from './upgrade-path';
import { compareVersionsForListing, tryCompareVersions } from './version';

/** The order of the upgrade checks; also the order of the keys in `exceptions`. */
export const UPGRADE_CHECK_ORDER = [
  'read_only',
  'unentitled',
  'model_eol',
  'disconnected',
  'operation_in_progress',
  'same_or_newer_version',
  'no_i386_image',
  'no_x86_64_image',
  'not_supported',
] as const satisfies readonly UpgradeExceptionCategory[];
/** The order of the downgrade checks; also the order of the keys in `exceptions`. */
export const DOWNGRADE_CHECK_ORDER = [
  'read_only',
  'disconnected',
  'operation_in_progress',
  'same_or_older_version',
  'not_previously_upgraded_to',
  'no_i386_image',
  'no_x86_64_image',
  'not_supported',
] as const satisfies readonly DowngradeExceptionCategory[];
/** The order of the reboot checks; also the order of the keys in `exceptions`. */
export const REBOOT_CHECK_ORDER = [
  'read_only',
  'disconnected',
  'operation_in_progress',
  'not_supported',
] as const satisfies readonly RebootExceptionCategory[];

/** The repositories a downgrade may use (the seed: "the images also have to be in the customer repository"). */
export const DOWNGRADE_REPOSITORIES = ['customer'] as const;

/** Version ids each appliance ran before (its upgrade history), by serial: a map or a lookup. */
export type PreviousVersions =
  ReadonlyMap<string, ReadonlySet<string>> | ((serial: string) => ReadonlySet<string> | undefined);

export interface EligibilityInput {
  productCode: ProductCode;
  appliances: readonly Appliance[];
  /** Serials with a task in a scheduled or running operation. */
  inProgress: ReadonlySet<string>;
}

export interface ImageEligibilityInput extends EligibilityInput {
  targetVersionId: string;
  /** Every image with its repository, or an index of them built once for many calls. */
  images: readonly AvailableImage[] | ImageIndex;
}

export interface DowngradeEligibilityInput extends ImageEligibilityInput {
  previousVersions: PreviousVersions;
}

type Classified<C extends string> = { eligible: Appliance[]; exceptions: Record<C, Appliance[]> };

const noImageFor = (arch: string): 'no_i386_image' | 'no_x86_64_image' =>
  arch === 'i386' ? 'no_i386_image' : 'no_x86_64_image';
const indexOf = (images: readonly AvailableImage[] | ImageIndex): ImageIndex =>
  images instanceof ImageIndex ? images : new ImageIndex(images);
const lookup = (previous: PreviousVersions): ((serial: string) => ReadonlySet<string> | undefined) =>
  typeof previous === 'function' ? previous : (serial) => previous.get(serial);

function classifyAll<C extends string>(
  categories: readonly C[],
  appliances: readonly Appliance[],
  productCode: ProductCode,
  classify: (a: Appliance) => C | undefined,
): Classified<C> {
  const eligible: Appliance[] = [];
  const exceptions = Object.fromEntries(categories.map((c) => [c, [] as Appliance[]])) as Record<C, Appliance[]>;
  for (const appliance of appliances) {
    if (appliance.product_code !== productCode) continue;
    const category = classify(appliance);
    if (category === undefined) eligible.push(appliance);
    else exceptions[category].push(appliance);
  }
  return { eligible, exceptions };
}

const targetOf = (index: ImageIndex, productCode: ProductCode, versionId: string): Version =>
  index.targetVersion(productCode, versionId) ?? { version_id: versionId };

/** The checks before anything about versions or images, shared by the upgrade classifier and upgradeableVersions. */
function upgradeFlags(a: Appliance, inProgress: ReadonlySet<string>): UpgradeExceptionCategory | undefined {
  if (a.read_only === true) return 'read_only';
  if (a.entitled === false) return 'unentitled';
  if (a.model_eol === true) return 'model_eol';
  if (a.connected !== true) return 'disconnected';
  if (inProgress.has(a.serial)) return 'operation_in_progress';
  return undefined;
}

function downgradeFlags(a: Appliance, inProgress: ReadonlySet<string>): DowngradeExceptionCategory | undefined {
  if (a.read_only === true) return 'read_only';
  if (a.connected !== true) return 'disconnected';
  if (inProgress.has(a.serial)) return 'operation_in_progress';
  return undefined;
}

function upgradeCategory(
  a: Appliance,
  index: ImageIndex,
  target: Version,
  inProgress: ReadonlySet<string>,
): UpgradeExceptionCategory | undefined {
  const flag = upgradeFlags(a, inProgress);
  if (flag) return flag;
  if (!a.current_version) return 'not_supported';
  const order = tryCompareVersions(a.current_version, target);
  // Unorderable current version, or a target id that is no version at all.
  if (order === undefined) return 'not_supported';
  if (order >= 0) return 'same_or_newer_version';
  if (!a.arch) return 'not_supported';
  const path = index.path(
    { product_code: a.product_code, arch: a.arch, current_version: a.current_version },
    target.version_id,
  );
  if (path.ok) return undefined;
  return path.reason === 'no_image_for_arch' ? noImageFor(path.arch) : 'not_supported';
}

function downgradeCategory(
  a: Appliance,
  index: ImageIndex,
  target: Version,
  inProgress: ReadonlySet<string>,
  previous: (serial: string) => ReadonlySet<string> | undefined,
): DowngradeExceptionCategory | undefined {
  const flag = downgradeFlags(a, inProgress);
  if (flag) return flag;
  if (!a.current_version) return 'not_supported';
  const order = tryCompareVersions(a.current_version, target);
  if (order === undefined) return 'not_supported';
  if (order <= 0) return 'same_or_older_version';
  if (!previous(a.serial)?.has(target.version_id)) return 'not_previously_upgraded_to';
  if (!a.arch) return 'not_supported';
  const path = index.path(
    { product_code: a.product_code, arch: a.arch, current_version: a.current_version },
    target.version_id,
    { direction: 'downgrade', repositories: DOWNGRADE_REPOSITORIES },
  );
  if (path.ok) return undefined;
  // No image of the target anywhere is, for a downgrade, no image for its arch in the customer repository.
  return path.reason === 'no_image_for_arch' || path.reason === 'target_unknown' ? noImageFor(a.arch) : 'not_supported';
}

/** The seed's upgradeable_appliances for one target version (see the module comment for the checks). */
export function upgradeEligibility(input: ImageEligibilityInput): UpgradeableAppliances {
  const index = indexOf(input.images);
  const target = targetOf(index, input.productCode, input.targetVersionId);
  const { eligible, exceptions } = classifyAll(UPGRADE_CHECK_ORDER, input.appliances, input.productCode, (a) =>
    upgradeCategory(a, index, target, input.inProgress),
  );
  return { upgradeable: eligible, exceptions };
}

/** The seed's downgradeable_appliances for one target version (customer repository only). */
export function downgradeEligibility(input: DowngradeEligibilityInput): DowngradeableAppliances {
  const index = indexOf(input.images);
  const target = targetOf(index, input.productCode, input.targetVersionId);
  const previous = lookup(input.previousVersions);
  const { eligible, exceptions } = classifyAll(DOWNGRADE_CHECK_ORDER, input.appliances, input.productCode, (a) =>
    downgradeCategory(a, index, target, input.inProgress, previous),
  );
  return { downgradeable: eligible, exceptions };
}

/** The seed's rebootable_appliances. */
export function rebootEligibility(input: EligibilityInput): RebootableAppliances {
  const { eligible, exceptions } = classifyAll(REBOOT_CHECK_ORDER, input.appliances, input.productCode, (a) => {
    if (a.read_only === true) return 'read_only';
    if (a.connected !== true) return 'disconnected';
    if (input.inProgress.has(a.serial)) return 'operation_in_progress';
    if (a.reboot_supported === false) return 'not_supported';
    return undefined;
  });
  return { rebootable: eligible, exceptions };
}

/**
 * The seed's upgradeable_versions: every target version (of an image of the product) that at
 * least one appliance of the product would be `upgradeable` to by upgradeEligibility, oldest
 * first (ties by version_id). Appliances are grouped by arch and current version id first, so
 * the cost is one path search per (group, target), not per (appliance, target).
 */
export function upgradeableVersions(
  productCode: ProductCode,
  appliances: readonly Appliance[],
  images: readonly AvailableImage[] | ImageIndex,
  inProgress: ReadonlySet<string> = new Set(),
): ProductVersion[] {
  const index = indexOf(images);
  const groups = new Map<string, PathAppliance>();
  for (const a of appliances) {
    if (a.product_code !== productCode || upgradeFlags(a, inProgress) || !a.current_version || !a.arch) continue;
    const key = `${a.arch}\0${a.current_version.version_id}`;
    if (!groups.has(key))
      groups.set(key, { product_code: productCode, arch: a.arch, current_version: a.current_version });
  }
  return (
    index
      .versions(productCode)
      // path() refuses a target that is not newer (or a version that cannot be ordered) itself.
      .filter((target) => [...groups.values()].some((g) => index.path(g, target.version_id).ok))
      .map((version) => ({ product_code: productCode, version }))
  );
}

/**
 * The seed's downgradeable_versions: every target version that at least one appliance of the
 * product would be `downgradeable` to by downgradeEligibility, oldest first (ties by
 * version_id). Only the versions each appliance ran before are tried.
 */
export function downgradeableVersions(
  productCode: ProductCode,
  appliances: readonly Appliance[],
  images: readonly AvailableImage[] | ImageIndex,
  previousVersions: PreviousVersions,
  inProgress: ReadonlySet<string> = new Set(),
): ProductVersion[] {
  const index = indexOf(images);
  const previous = lookup(previousVersions);
  const found = new Map<string, Version>();
  for (const a of appliances) {
    if (a.product_code !== productCode || downgradeFlags(a, inProgress) || !a.current_version || !a.arch) continue;
    for (const versionId of previous(a.serial) ?? []) {
      const target = index.targetVersion(productCode, versionId);
      if (!target || found.has(versionId)) continue;
      if (downgradeCategory(a, index, target, inProgress, previous) === undefined) found.set(versionId, target);
    }
  }
  return [...found.values()].sort(compareVersionsForListing).map((version) => ({ product_code: productCode, version }));
}

/** What an appliance reports of itself when its task starts (the device API's info). */
export interface ApplianceAtTaskStart {
  serial: string;
  product_code: ProductCode;
  connected: boolean;
  entitled: boolean;
  read_only: boolean;
  model_eol: boolean;
}

/**
 * Eligibility again when a task starts (the appliance may have changed since the operation was
 * created): why the task may not act on it, or undefined. The same checks, in the same order, as
 * the classifiers above, less `operation_in_progress` (its own task is in progress) and what the
 * image plan decides (versions, arch, path).
 */
export function taskStartRefusal(
  kind: 'upgrade' | 'downgrade' | 'reboot',
  appliance: ApplianceAtTaskStart,
  productCode?: ProductCode,
): string | undefined {
  const { serial } = appliance;
  if (productCode !== undefined && appliance.product_code !== productCode)
    return `appliance ${serial} is ${appliance.product_code}, the operation is for ${productCode}`;
  if (appliance.read_only) return `appliance ${serial} is read-only`;
  if (kind === 'upgrade' && !appliance.entitled) return `appliance ${serial} is not entitled to upgrades`;
  if (kind === 'upgrade' && appliance.model_eol) return `appliance ${serial} is an end-of-life model`;
  if (!appliance.connected) return `appliance ${serial} is disconnected`;
  return undefined;
}
