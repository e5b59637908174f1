/**
 * What eligibility and upgrade paths are computed from, read from the store: the inventory's
 * appliances, the images of every repository (indexed), the serials busy in another operation and
 * the versions each appliance ran before. The API's eligibility routes, the check when an
 * operation is created and the appliance tasks' image plans all read them here.
 */
import { downgradeEligibility, rebootEligibility, upgradeEligibility } from '../domain/eligibility';
import type { OperationKind } from '../domain/operation';
import type { Appliance, ProductCode } from '../domain/scc';
import { ImageIndex, type AvailableImage } from '../domain/upgrade-path';
import type { FleetStore } from './fleet-store';

/** Every image of a product code (all repositories), indexed for path searches. */
export async function imageIndex(store: FleetStore, productCode: ProductCode): Promise<ImageIndex> {
  const stored = await store.listImages({ product_code: productCode });
  return new ImageIndex(
    stored.map(({ repository, image }): AvailableImage => ({ repository, image: image as AvailableImage['image'] })),
  );
}

/** The appliances of a product code, its images and the serials busy in an operation, read at once. */
export async function fleetFacts(store: FleetStore, productCode: ProductCode) {
  const [appliances, index, inProgress] = await Promise.all([
    store.listAppliances({ product_code: productCode }),
    imageIndex(store, productCode),
    store.serialsWithTaskInProgress(),
  ]);
  return { appliances: appliances as unknown as Appliance[], index, inProgress };
}

/** An appliance an operation may not act on, with the seed's exception category (or `unknown`: not in the inventory). */
export interface IneligibleAppliance {
  serial: string;
  category: string;
}

/**
 * The appliances of an operation request that eligibility refuses, in request order. Upgrades
 * and downgrades are checked against their product code and target version; a reboot against
 * each appliance's own product code. An appliance the inventory does not know is `unknown`, one
 * of another product code `wrong_product_code`.
 */
export async function ineligibleAppliances(
  store: FleetStore,
  kind: OperationKind,
  request: { appliances: readonly string[]; product_code?: ProductCode; target_version?: { version_id: string } },
): Promise<IneligibleAppliance[]> {
  const known = new Map((await store.listAppliances({ serials: request.appliances })).map((a) => [a.serial, a]));
  const productCodes =
    kind === 'reboot' ? [...new Set([...known.values()].map((a) => a.product_code))] : [request.product_code!];
  const category = new Map<string, string>();
  const inProgress = await store.serialsWithTaskInProgress();
  for (const productCode of productCodes) {
    // Only the requested appliances: an operation's few out of a large fleet.
    const wanted = [...known.values()].filter((a) => a.product_code === productCode) as unknown as Appliance[];
    const index = await imageIndex(store, productCode);
    const targetVersionId = request.target_version?.version_id ?? '';
    const result =
      kind === 'upgrade'
        ? upgradeEligibility({ productCode, appliances: wanted, images: index, inProgress, targetVersionId }).exceptions
        : kind === 'downgrade'
          ? downgradeEligibility({
              productCode,
              appliances: wanted,
              images: index,
              inProgress,
              targetVersionId,
              previousVersions: await store.previousVersionIdsBySerial(wanted.map((a) => a.serial)),
            }).exceptions
          : rebootEligibility({ productCode, appliances: wanted, inProgress }).exceptions;
    for (const [name, list] of Object.entries(result)) for (const a of list) category.set(a.serial, name);
  }
  return request.appliances.flatMap((serial): IneligibleAppliance[] => {
    const appliance = known.get(serial);
    if (!appliance) return [{ serial, category: 'unknown' }];
    if (kind !== 'reboot' && appliance.product_code !== request.product_code)
      return [{ serial, category: 'wrong_product_code' }];
    const found = category.get(serial);
    return found ? [{ serial, category: found }] : [];
  });
}
