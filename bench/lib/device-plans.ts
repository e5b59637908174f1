/**
 * The device jobs an upgrade of each appliance takes, computed up front with the rules the upgrade
 * tasks plan with (domain/upgrade-path.ts over the store's images, as activities/image-activities.ts
 * does): per image, stage it, patch it when a delta, install it, reboot onto it (every image but
 * the last is activated by a reboot; the last one too with `reboot: true`). The baseline runs
 * these jobs; the counters they must leave on each device prove exactly-once effects.
 */
import type { DeviceCounters } from '../../domain/device-api';
import type { Appliance, ProductCode } from '../../domain/scc';
import { imageIndex } from '../../store/fleet-facts';
import type { FleetStore } from '../../store/fleet-store';
import type { BaselineStep } from '../baseline-workflows';

export type ExpectedCounters = Pick<DeviceCounters, 'stages' | 'patches' | 'installs' | 'reboots'>;

export interface DevicePlan {
  steps: BaselineStep[];
  counters: ExpectedCounters;
}

export interface PlannedAppliance {
  serial: string;
  product_code: ProductCode;
  /** Appliances on the same version and arch share one plan (an index into FleetPlans.plans). */
  plan: number;
}

export interface FleetPlans {
  plans: DevicePlan[];
  appliances: PlannedAppliance[];
}

/** The jobs of one image path, with `reboot: true`. */
function stepsOf(hops: { delta: boolean; to: { version_id: string }; request: Record<string, unknown> }[]): DevicePlan {
  const steps: BaselineStep[] = [];
  for (const hop of hops) {
    steps.push({ kind: 'stage', body: hop.request });
    if (hop.delta) steps.push({ kind: 'patch', body: { version_id: hop.to.version_id } });
    steps.push({ kind: 'install', body: { version_id: hop.to.version_id } });
    steps.push({ kind: 'reboot', body: { switch_partition: true } });
  }
  const deltas = hops.filter((h) => h.delta).length;
  return { steps, counters: { stages: hops.length, patches: deltas, installs: hops.length, reboots: hops.length } };
}

/** Each appliance's plan to `targetVersionId`; throws when one has no path (the benchmark picks eligible ones). */
export async function planUpgrades(
  store: FleetStore,
  productCode: ProductCode,
  appliances: readonly Appliance[],
  targetVersionId: string,
  imageBaseUrl: string,
  into: FleetPlans = { plans: [], appliances: [] },
): Promise<FleetPlans> {
  const index = await imageIndex(store, productCode);
  const byKey = new Map<string, number>();
  for (const a of appliances) {
    if (!a.arch || !a.current_version) throw new Error(`${a.serial}: the inventory has no arch or version`);
    const key = `${productCode}/${a.arch}/${a.current_version.version_id}`;
    let plan = byKey.get(key);
    if (plan === undefined) {
      const path = index.path(
        { product_code: productCode, arch: a.arch, current_version: a.current_version },
        targetVersionId,
      );
      if (!path.ok) throw new Error(`${a.serial}: no image path to ${targetVersionId}: ${path.message}`);
      const hops = path.hops.map((hop) => {
        const image = index.images(productCode, a.arch!).find((i) => i.image.id === hop.image_id)!.image;
        const url =
          typeof image.url === 'string'
            ? image.url
            : `${imageBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(image.id)}`;
        const source = image.image_definition.source_version;
        const request = {
          url,
          target_version: hop.to,
          delta: hop.delta,
          ...(hop.delta && source ? { source_version: source } : {}),
          ...(typeof image.size_bytes === 'number' ? { size_bytes: image.size_bytes } : {}),
        };
        return { delta: hop.delta, to: hop.to, request };
      });
      plan = into.plans.push(stepsOf(hops)) - 1;
      byKey.set(key, plan);
    }
    into.appliances.push({ serial: a.serial, product_code: productCode, plan });
  }
  return into;
}

/** `stages 2, patches 1, …` */
export const countersText = (c: ExpectedCounters): string =>
  `stages ${c.stages}, patches ${c.patches}, installs ${c.installs}, reboots ${c.reboots}`;
