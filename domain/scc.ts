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

/** Properties that uniquely identify an image. `source_version` is required for a delta image. */
export const imageDefinition = z
  .looseObject({
    product_code: productCode,
    arch,
    target_version: version,
    delta: z.boolean(),
    source_version: version.optional(),
  })
  .refine((d) => !d.delta || d.source_version !== undefined, { message: 'a delta image needs a source_version', path: ['source_version'] });
export type ImageDefinition = z.infer<typeof imageDefinition>;

export const image = z.looseObject({
  id: z.string().min(1),
  image_definition: imageDefinition,
  image_sources: z.array(imageSource),
});
export type Image = z.infer<typeof image>;
export const images = z.array(image);

export const imageRepositories = z.array(imageRepository);

/** An image uploaded to (hosted on) this service. */
export const locallyHostedImage = z.looseObject({
  id: z.string().min(1),
  image_definition: imageDefinition,
  modification_time: timestamp,
});
export type LocallyHostedImage = z.infer<typeof locallyHostedImage>;
export const locallyHostedImages = z.array(locallyHostedImage);
/** Upload: a URL (a file URL when the file was put on this host) to fetch the image from. */
export const locallyHostedImageUpload = z.looseObject({ url: z.string().min(1).optional() });

/** An image the customer hosts at a URL of their own. */
export const customerUrlHostedImage = z.looseObject({
  id: z.string().min(1),
  image_definition: imageDefinition,
  url: z.string().min(1),
  registration_time: z.number(),
});
export type CustomerUrlHostedImage = z.infer<typeof customerUrlHostedImage>;
export const customerUrlHostedImages = z.array(customerUrlHostedImage);
export const customerUrlHostedImageRegister = z.looseObject({ url: z.string().min(1).optional() });

/** An image hosted by Riverbed Support, with the versions it supports upgrading from. */
export const riverbedHostedImage = z.looseObject({
  id: z.string().min(1).optional(),
  image_definition: imageDefinition,
  url: z.string().min(1),
  source_versions: z.array(version),
});
export type RiverbedHostedImage = z.infer<typeof riverbedHostedImage>;
export const riverbedHostedImages = z.array(riverbedHostedImage);

export const connectedProductCodes = z.array(productCode);

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
export const appliances = z.array(appliance);

export const UPGRADE_EXCEPTION_CATEGORIES = ['unentitled', 'model_eol', 'read_only', 'disconnected', 'not_supported', 'no_i386_image', 'no_x86_64_image', 'operation_in_progress', 'same_or_newer_version'] as const;
export const DOWNGRADE_EXCEPTION_CATEGORIES = ['read_only', 'disconnected', 'not_supported', 'not_previously_upgraded_to', 'no_i386_image', 'no_x86_64_image', 'operation_in_progress', 'same_or_older_version'] as const;
export const REBOOT_EXCEPTION_CATEGORIES = ['read_only', 'disconnected', 'not_supported', 'operation_in_progress'] as const;
export type UpgradeExceptionCategory = (typeof UPGRADE_EXCEPTION_CATEGORIES)[number];
export type DowngradeExceptionCategory = (typeof DOWNGRADE_EXCEPTION_CATEGORIES)[number];
export type RebootExceptionCategory = (typeof REBOOT_EXCEPTION_CATEGORIES)[number];

const exceptions = (categories: readonly string[]) => z.looseObject(Object.fromEntries(categories.map((c) => [c, z.array(appliance).optional()])));
export const upgradeableAppliances = z.looseObject({ upgradeable: z.array(appliance).optional(), exceptions: exceptions(UPGRADE_EXCEPTION_CATEGORIES).optional() });
export const downgradeableAppliances = z.looseObject({ downgradeable: z.array(appliance).optional(), exceptions: exceptions(DOWNGRADE_EXCEPTION_CATEGORIES).optional() });
export const rebootableAppliances = z.looseObject({ rebootable: z.array(appliance).optional(), exceptions: exceptions(REBOOT_EXCEPTION_CATEGORIES).optional() });
export type UpgradeableAppliances = { upgradeable: Appliance[]; exceptions: Record<UpgradeExceptionCategory, Appliance[]> };
export type DowngradeableAppliances = { downgradeable: Appliance[]; exceptions: Record<DowngradeExceptionCategory, Appliance[]> };
export type RebootableAppliances = { rebootable: Appliance[]; exceptions: Record<RebootExceptionCategory, Appliance[]> };

/** upgradeable_versions and downgradeable_versions items. */
export const productVersion = z.looseObject({ product_code: productCode, version });
export type ProductVersion = z.infer<typeof productVersion>;
export const productVersions = z.array(productVersion);

export const DOWNGRADE_TASK_STAGES = ['waiting', 'initiating', 'downloading', 'installing', 'completed', 'failed', 'cancelled'] as const;
export const applianceDowngradeTaskStage = z.enum(DOWNGRADE_TASK_STAGES);
export const REBOOT_TASK_STAGES = ['waiting', 'initiating', 'rebooting', 'reboot_wait', 'completed', 'failed', 'cancelled'] as const;
export const applianceRebootTaskStage = z.enum(REBOOT_TASK_STAGES);

const readOnly = (field: string) => z.never({ error: `${field} is read-only` }).optional();

/** The downgrade operation as a client submits it (read-only fields refused). */
export const downgradeOperationRequest = z.looseObject({
  id: readOnly('id'),
  create_time: readOnly('create_time'),
  status: readOnly('status'),
  username: z.string().min(1).optional(),
  product_code: productCode,
  downgrade_time: scheduledTime.optional(),
  target_version: version,
  reboot: z.boolean(),
  reboot_time: scheduledTime.optional(),
  esxi_force: z.boolean().optional(),
  comment: z.string(),
  reboot_id: readOnly('reboot_id'),
  appliances: z.array(serial).min(1, 'at least one appliance serial is required'),
});
export const downgradeOperation = downgradeOperationRequest.extend({
  id: z.string(),
  username: z.string(),
  create_time: z.string(),
  status: operationStatus,
  reboot_id: z.number().optional(),
});
export type DowngradeOperation = z.infer<typeof downgradeOperation>;

/** The reboot operation as a client submits it; `upgrade_id` / `downgrade_id` are set by the service. */
export const rebootOperationRequest = z.looseObject({
  id: readOnly('id'),
  create_time: readOnly('create_time'),
  status: readOnly('status'),
  username: z.string().min(1).optional(),
  switch_partition: z.boolean().optional(),
  reboot_time: scheduledTime.optional(),
  comment: z.string(),
  upgrade_id: readOnly('upgrade_id'),
  downgrade_id: readOnly('downgrade_id'),
  appliances: z.array(serial).min(1, 'at least one appliance serial is required'),
});
export const rebootOperation = rebootOperationRequest.extend({
  id: z.string(),
  username: z.string(),
  create_time: z.string(),
  status: operationStatus,
  upgrade_id: z.string().optional(),
  downgrade_id: z.string().optional(),
});
export type RebootOperation = z.infer<typeof rebootOperation>;

/** upgrade_operation_log, downgrade_operation_log, reboot_operation_log. */
export const operationLog = z.looseObject({ operation_id: z.string().optional(), log: z.array(logEntry) });
/** appliance_{upgrade,downgrade,reboot}_task_log. */
export const applianceTaskLog = z.looseObject({ operation_id: z.string().optional(), serial: serial.optional(), log: z.array(logEntry) });

export const applianceDowngradeTask = applianceUpgradeTask.omit({ upgrade_time: true }).extend({ serial, downgrade_time: scheduledTime.optional() });
export type ApplianceDowngradeTask = z.infer<typeof applianceDowngradeTask>;
export const applianceDowngradeTaskState = applianceUpgradeTaskState.extend({ stage: applianceDowngradeTaskStage });

export const applianceRebootTask = z.looseObject({
  operation_id: z.string(),
  serial,
  switch_partition: z.boolean().optional(),
  reboot_time: scheduledTime.optional(),
  task_start_time: scheduledTime.optional(),
  /**
   * The seed: "whether the reboot task should be enabled for execution … false if the reboot is
   * linked to an upgrade and the upgrade is not completed yet".
   */
  deferred: z.boolean().optional(),
  hostname: z.string().optional(),
});
export type ApplianceRebootTask = z.infer<typeof applianceRebootTask>;
export const applianceRebootTaskState = applianceUpgradeTaskState.extend({ stage: applianceRebootTaskStage });

export const LOGGING_LEVELS = ['crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export const loggingLevel = z.enum(LOGGING_LEVELS);
export type LoggingLevel = z.infer<typeof loggingLevel>;
export const logging = z.looseObject({ level: loggingLevel });

export const username = z.string();
