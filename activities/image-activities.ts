/**
 * The images an appliance task installs: its upgrade path through the images of every repository
 * (domain/upgrade-path.ts), each hop as the device's stage request. Read from the store when the
 * task starts, so an image registered or deleted meanwhile counts.
 */
import type { StageImageRequest } from '../domain/device-api';
import { DOWNGRADE_REPOSITORIES } from '../domain/eligibility';
import type { Logger } from '../domain/logging';
import type { Arch, ImageRepository, ProductCode, Version } from '../domain/scc';
import { imageIndex } from '../store/fleet-facts';
import type { FleetStore } from '../store/fleet-store';
import type { DeviceCallInput } from './device-activities';

export interface PlanImagesInput extends DeviceCallInput {
  kind: 'upgrade' | 'downgrade';
  product_code: ProductCode;
  arch: Arch;
  current_version: Version;
  target_version: Version;
  /** A rollback to the version the appliance ran before: any repository's image of it will do (downgrades otherwise take customer images only). */
  rollback?: boolean;
}

/** One image to stage (and patch, when a delta) and install. */
export interface ImageHop {
  image_id: string;
  repository: ImageRepository;
  delta: boolean;
  from_version_id: string;
  request: StageImageRequest;
}

export type ImagePlan = { ok: true; hops: ImageHop[] } | { ok: false; message: string };

export interface ImageActivityOptions {
  store: FleetStore;
  /** Where images this service hosts (uploaded without a URL of their own) are downloaded from. */
  imageBaseUrl: string;
  logger: Logger;
}

export function createImageActivities({ store, imageBaseUrl, logger }: ImageActivityOptions) {
  return {
    /** The hops from the appliance's running version to the target, or why there is none. */
    async planImages(input: PlanImagesInput): Promise<ImagePlan> {
      const index = await imageIndex(store, input.product_code);
      const path = index.path(
        { product_code: input.product_code, arch: input.arch, current_version: input.current_version },
        input.target_version.version_id,
        input.kind === 'downgrade'
          ? { direction: 'downgrade', ...(input.rollback ? {} : { repositories: DOWNGRADE_REPOSITORIES }) }
          : {},
      );
      const log = logger.child({ operationId: input.operationId, serial: input.serial });
      if (!path.ok) {
        log.warn({ reason: path.reason }, `no image plan: ${path.message}`);
        return { ok: false, message: path.message };
      }
      const hops = path.hops.map((hop): ImageHop => {
        const image = index.images(input.product_code, input.arch).find((i) => i.image.id === hop.image_id)!.image;
        const url =
          typeof image.url === 'string'
            ? image.url
            : `${imageBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(image.id)}`;
        const source = image.image_definition.source_version;
        return {
          image_id: hop.image_id,
          repository: hop.repository,
          delta: hop.delta,
          from_version_id: hop.from_version_id,
          request: {
            url,
            target_version: hop.to,
            delta: hop.delta,
            ...(hop.delta && source ? { source_version: source } : {}),
            ...(typeof image.size_bytes === 'number' ? { size_bytes: image.size_bytes } : {}),
          },
        };
      });
      log.info({ hops: hops.map((h) => h.image_id) }, 'image plan');
      return { ok: true, hops };
    },
  };
}

export type ImageActivities = ReturnType<typeof createImageActivities>;
