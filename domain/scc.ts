/**
 * Objects of the Riverbed SCC "Upgrades service definition v1.0" (cmc.upgrades), as zod schemas.
 * Names follow the seed. `<prop>: any` in the seed is modelled with loose objects, so extension
 * properties survive a round trip.
 */
import { z } from 'zod';

export const PRODUCT_CODES = ['SH', 'EX', 'IC', 'SMC', 'WW', 'GC'] as const;
export const productCode = z.enum(PRODUCT_CODES);
export type ProductCode = z.infer<typeof productCode>;

export const ARCHES = ['x86_64', 'i386'] as const;
export const arch = z.enum(ARCHES);
export type Arch = z.infer<typeof arch>;

export const SERIAL_PATTERN = /^[A-Za-z][0-9A-Fa-f]{2}[A-Za-z]{0,2}[0-9A-Fa-f]{8}$/;
export const serial = z.string().regex(SERIAL_PATTERN, 'must match the serial pattern ^[A-Za-z][0-9A-Fa-f]{2}[A-Za-z]{0,2}[0-9A-Fa-f]{8}$');
export type Serial = z.infer<typeof serial>;

/** Seconds since the Unix epoch (the seed's `timestamp` is a number). */
export const timestamp = z.number().finite().nonnegative();

export const version = z.looseObject({
  version_id: z.string().min(1),
  version_number: z.string().optional(),
  build_number: z.string().optional(),
  build_timestamp: z.number().optional(),
});
export type Version = z.infer<typeof version>;

export const TIME_TYPES = ['utc', 'local'] as const;
export const scheduledTime = z.looseObject({
  datetime: timestamp,
  time_type: z.enum(TIME_TYPES),
});
export type ScheduledTime = z.infer<typeof scheduledTime>;

export const OPERATION_STATUSES = ['scheduled', 'running', 'successful', 'partially_successful', 'failed', 'cancelled'] as const;
export const operationStatus = z.enum(OPERATION_STATUSES);
export type OperationStatus = z.infer<typeof operationStatus>;

export const APPLIANCE_TASK_STATUSES = ['scheduled', 'running', 'successful', 'failed', 'cancelled'] as const;
export const applianceTaskStatus = z.enum(APPLIANCE_TASK_STATUSES);
export type ApplianceTaskStatus = z.infer<typeof applianceTaskStatus>;

export const UPGRADE_TASK_STAGES = ['waiting', 'initiating', 'downloading', 'patching', 'installing', 'completed', 'failed', 'cancelled'] as const;
export const applianceUpgradeTaskStage = z.enum(UPGRADE_TASK_STAGES);
export type ApplianceUpgradeTaskStage = z.infer<typeof applianceUpgradeTaskStage>;

export const LOG_SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export const logEntry = z.looseObject({
  timestamp,
  log_entry: z.string(),
  severity: z.enum(LOG_SEVERITIES),
});
export type LogEntry = z.infer<typeof logEntry>;

/** The upgrade operation as a client submits it: read-only fields (id, username, create_time, status) are not accepted. */
export const upgradeOperationRequest = z.looseObject({
  id: z.never({ error: 'id is read-only' }).optional(),
  create_time: z.never({ error: 'create_time is read-only' }).optional(),
  status: z.never({ error: 'status is read-only' }).optional(),
  username: z.string().min(1).optional(),
  product_code: productCode,
  upgrade_time: scheduledTime.optional(),
  target_version: version,
  reboot: z.boolean(),
  reboot_time: scheduledTime.optional(),
  esxi_force: z.boolean().optional(),
  comment: z.string(),
  reboot_id: z.never({ error: 'reboot_id is read-only' }).optional(),
  appliances: z.array(serial).min(1, 'at least one appliance serial is required'),
});
export type UpgradeOperationRequest = z.infer<typeof upgradeOperationRequest>;

export const upgradeOperation = upgradeOperationRequest.extend({
  id: z.string(),
  username: z.string(),
  create_time: z.string(),
  status: operationStatus,
  reboot_id: z.number().optional(),
});
export type UpgradeOperation = z.infer<typeof upgradeOperation>;

export const applianceUpgradeTaskState = z.looseObject({
  operation_id: z.string().optional(),
  serial: serial.optional(),
  status: applianceTaskStatus,
  stage: applianceUpgradeTaskStage,
});
export type ApplianceUpgradeTaskState = z.infer<typeof applianceUpgradeTaskState>;

export const applianceUpgradeTask = z.looseObject({
  operation_id: z.string(),
  serial: serial.optional(),
  upgrade_time: scheduledTime.optional(),
  task_start_time: scheduledTime.optional(),
  target_version: version,
  reboot: z.boolean(),
  reboot_time: scheduledTime.optional(),
  esxi_force: z.boolean().optional(),
  current_version: version,
  hostname: z.string().optional(),
});
export type ApplianceUpgradeTask = z.infer<typeof applianceUpgradeTask>;

export const IMAGE_REPOSITORIES = ['customer', 'riverbed'] as const;
export const imageRepository = z.enum(IMAGE_REPOSITORIES);
export type ImageRepository = z.infer<typeof imageRepository>;

export const IMAGE_SOURCES = ['local', 'customer_url', 'riverbed'] as const;
export const imageSource = z.enum(IMAGE_SOURCES);
export type ImageSource = z.infer<typeof imageSource>;

/** Which repository each source belongs to (a source is in exactly one repository). */
export const REPOSITORY_OF_SOURCE: Record<ImageSource, ImageRepository> = { local: 'customer', customer_url: 'customer', riverbed: 'riverbed' };

/**
 * Properties that uniquely identify an image. `source_version` is required for a delta image.
 * Extension: a full image may list `source_versions`, the version ids it can be installed over
 * (absent: any older version).
 */
export const imageDefinition = z
  .looseObject({
    product_code: productCode,
    arch,
    target_version: version,
    delta: z.boolean(),
    source_version: version.optional(),
    source_versions: z.array(z.string().min(1)).optional(),
  })
  .refine((d) => !d.delta || d.source_version !== undefined, { message: 'a delta image needs a source_version', path: ['source_version'] });
export type ImageDefinition = z.infer<typeof imageDefinition>;

export const image = z.looseObject({
  id: z.string().min(1),
  image_definition: imageDefinition,
  image_sources: z.array(imageSource),
});
export type Image = z.infer<typeof image>;

export const appliance = z.looseObject({
  product_code: productCode,
  arch: arch.optional(),
  serial,
  model: z.string().optional(),
  hostname: z.string().optional(),
  ip_address: z.string().optional(),
  current_version: version.optional(),
  connected: z.boolean(),
  time_zone: z.string().optional(),
  entitled: z.boolean().optional(),
  read_only: z.boolean().optional(),
  groups: z.array(z.string()).optional(),
});
export type Appliance = z.infer<typeof appliance>;
