/**
 * Objects of the Riverbed SCC "Upgrades service definition v1.0" (cmc.upgrades), as zod schemas
 * with their inferred types. Names follow the seed (camelCase of its snake_case names).
 *
 * Rules used throughout (where the seed leaves room, the choice is said next to the schema):
 * - `<prop>: any` in the seed is a loose object (`z.looseObject`): extension properties survive a
 *   parse and a round trip through the store.
 * - Required vs optional follows each object's "Required properties" note. Objects without such a
 *   note (the logs, the eligibility objects, the versions items) follow the "Optional;" marks:
 *   unmarked properties are required, except the exception categories (see `exceptionsOf`).
 * - Read-only properties (the seed's "Read-only", and fields only this service assigns) may be
 *   sent in a request body, so a client can send back what it read (the seed even lists the
 *   Read-only `username` among an operation's Required properties); if sent they must have their
 *   documented type, and the service ignores their values (`readOnly`, `withoutReadOnly`).
 * - Every string, array and number has a bound (`MAX`), so out-of-range input is a 400 naming the
 *   field, and the OpenAPI document states the same bounds.
 */
import { z } from 'zod';
import { approvalInfo, healthCheck, rollback, rolloutPolicy, taskRetries, taskTimeout } from './operation-schemas';

/** The bounds of request values (documented in the OpenAPI document through the schemas). */
export const MAX = {
  /** Names, ids, version strings, hostnames. */
  name: 256,
  /** Comments and log lines. */
  text: 16_384,
  /** Appliances in one operation. */
  appliances: 100_000,
  /** Items of a small list (groups). */
  items: 1_000,
  /** Seconds since the epoch: 9999-12-31T23:59:59Z. */
  timestamp: 253_402_300_799,
} as const;

/** A string of at most `max` characters (a name by default). */
export const text = (max: number = MAX.name) => z.string().max(max, `must be at most ${max} characters`);

/** A request-body property only the service sets: may be sent (with its type), and is ignored. */
const readOnly = <T extends z.ZodType>(schema: T) => schema.optional().meta({ readOnly: true });

/** A parsed request without the read-only properties a client sent: the service sets those. */
export function withoutReadOnly<T extends Record<string, unknown>>(request: T, fields: readonly string[]): T {
  const copy: Record<string, unknown> = { ...request };
  for (const field of fields) delete copy[field];
  return copy as T;
}

// Types: product_code, arch, serial, timestamp, username, version, scheduled_time -------------

export const PRODUCT_CODES = ['SH', 'EX', 'IC', 'SMC', 'WW', 'GC'] as const;
export const productCode = z.enum(PRODUCT_CODES);
export type ProductCode = z.infer<typeof productCode>;

export const ARCHES = ['x86_64', 'i386'] as const;
export const arch = z.enum(ARCHES);
export type Arch = z.infer<typeof arch>;

export const SERIAL_PATTERN = /^[A-Za-z][0-9A-Fa-f]{2}[A-Za-z]{0,2}[0-9A-Fa-f]{8}$/;
export const serial = z
  .string()
  .max(13)
  .regex(SERIAL_PATTERN, 'must match the serial pattern ^[A-Za-z][0-9A-Fa-f]{2}[A-Za-z]{0,2}[0-9A-Fa-f]{8}$');
export type Serial = z.infer<typeof serial>;

/** Seconds since the Unix epoch (the seed's `timestamp` is a number). */
export const timestamp = z
  .number()
  .nonnegative('must be a timestamp (seconds since the epoch, not negative)')
  .max(MAX.timestamp, 'must be a timestamp before the year 10000 (at most 253402300799)');
export type Timestamp = z.infer<typeof timestamp>;

/** The seed's `username`: the name of the user that scheduled the operation or task. */
export const username = text();
export type Username = z.infer<typeof username>;

/** The version of a software image. Only `version_id` is required (`build_timestamp` is not in the Required list either). */
export const version = z.looseObject({
  version_id: text().min(1),
  version_number: text().optional(),
  build_number: text().optional(),
  build_timestamp: timestamp.optional(),
});
export type Version = z.infer<typeof version>;

export const TIME_TYPES = ['utc', 'local'] as const;
export const timeType = z.enum(TIME_TYPES);
export type TimeType = z.infer<typeof timeType>;
/** The seed's `scheduled_time`: `utc` is one instant; `local` is that wall-clock time on each appliance. */
export const scheduledTime = z.looseObject({
  datetime: timestamp,
  time_type: timeType,
});
export type ScheduledTime = z.infer<typeof scheduledTime>;

// Statuses and stages -------------------------------------------------------------------------

export const OPERATION_STATUSES = [
  'scheduled',
  'running',
  'successful',
  'partially_successful',
  'failed',
  'cancelled',
] as const;
export const operationStatus = z.enum(OPERATION_STATUSES);
export type OperationStatus = z.infer<typeof operationStatus>;

export const APPLIANCE_TASK_STATUSES = ['scheduled', 'running', 'successful', 'failed', 'cancelled'] as const;
export const applianceTaskStatus = z.enum(APPLIANCE_TASK_STATUSES);
export type ApplianceTaskStatus = z.infer<typeof applianceTaskStatus>;

/**
 * Extension stages of upgrade and downgrade tasks (domain/rollout-safety.ts): `health_check` after
 * the final reboot, while the task waits for the appliance to report healthy; `rolling_back` while
 * it returns the appliance to the version it ran before.
 */
export const SAFETY_TASK_STAGES = ['health_check', 'rolling_back'] as const;

/** appliance_upgrade_task_stage (`patching` is for delta images), with the extension stages. */
export const UPGRADE_TASK_STAGES = [
  'waiting',
  'initiating',
  'downloading',
  'patching',
  'installing',
  ...SAFETY_TASK_STAGES,
  'completed',
  'failed',
  'cancelled',
] as const;
export const applianceUpgradeTaskStage = z.enum(UPGRADE_TASK_STAGES);
export type ApplianceUpgradeTaskStage = z.infer<typeof applianceUpgradeTaskStage>;

/** appliance_downgrade_task_stage: the upgrade stages without `patching`. */
export const DOWNGRADE_TASK_STAGES = [
  'waiting',
  'initiating',
  'downloading',
  'installing',
  ...SAFETY_TASK_STAGES,
  'completed',
  'failed',
  'cancelled',
] as const;
export const applianceDowngradeTaskStage = z.enum(DOWNGRADE_TASK_STAGES);
export type ApplianceDowngradeTaskStage = z.infer<typeof applianceDowngradeTaskStage>;

/** appliance_reboot_task_stage. */
export const REBOOT_TASK_STAGES = [
  'waiting',
  'initiating',
  'rebooting',
  'reboot_wait',
  'completed',
  'failed',
  'cancelled',
] as const;
export const applianceRebootTaskStage = z.enum(REBOOT_TASK_STAGES);
export type ApplianceRebootTaskStage = z.infer<typeof applianceRebootTaskStage>;

// Logs: log_entry, log, the operation logs and the appliance task logs ------------------------

export const LOG_SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export const logSeverity = z.enum(LOG_SEVERITIES);
export type LogSeverity = z.infer<typeof logSeverity>;
/** A timestamped log line; also the request body of the task logs' `append`. */
export const logEntry = z.looseObject({
  timestamp,
  log_entry: text(MAX.text),
  severity: logSeverity,
});
export type LogEntry = z.infer<typeof logEntry>;

/** The seed's `log`: a series of timestamped log entries. */
export const log = z.array(logEntry);
export type Log = z.infer<typeof log>;

/**
 * upgrade_operation_log, downgrade_operation_log, reboot_operation_log: the same object in the
 * seed. It has no Required list; `operation_id` is marked Optional and `log` is not, so `log` is
 * required.
 */
export const operationLog = z.looseObject({ operation_id: z.string().optional(), log });
export type OperationLog = z.infer<typeof operationLog>;
export const upgradeOperationLog = operationLog;
export type UpgradeOperationLog = OperationLog;
export const downgradeOperationLog = operationLog;
export type DowngradeOperationLog = OperationLog;
export const rebootOperationLog = operationLog;
export type RebootOperationLog = OperationLog;

/**
 * appliance_upgrade_task_log, appliance_downgrade_task_log, appliance_reboot_task_log: the same
 * object in the seed. `operation_id` and `serial` are Read-only (set from the path) and optional;
 * `log` is required (see operationLog).
 */
export const applianceTaskLog = z.looseObject({ operation_id: z.string().optional(), serial: serial.optional(), log });
export type ApplianceTaskLog = z.infer<typeof applianceTaskLog>;
export const applianceUpgradeTaskLog = applianceTaskLog;
export type ApplianceUpgradeTaskLog = ApplianceTaskLog;
export const applianceDowngradeTaskLog = applianceTaskLog;
export type ApplianceDowngradeTaskLog = ApplianceTaskLog;
export const applianceRebootTaskLog = applianceTaskLog;
export type ApplianceRebootTaskLog = ApplianceTaskLog;

// Operations: upgrade_operation, downgrade_operation, reboot_operation -------------------------

/**
 * Each operation comes as a pair: the request a client submits (`create`) and the resource the
 * service answers. Deviations from the seed, and why:
 * - `username` is both Read-only and Required in the seed; `id`, `create_time` and `status` are
 *   Read-only. Like every read-only property, requests may carry them and they are ignored (the
 *   service sets them: `username` from the caller); the resource requires all four, because this
 *   service assigns them when it creates an operation.
 * - `appliances` must name at least one serial (an operation on nothing has no meaning).
 * - Extension properties of every kind: `rollout` (domain/rollout.ts) and `task_timeout`; of
 *   upgrades and downgrades: `health_check`, `rollback`, `task_retries` (domain/rollout-safety.ts);
 *   set by the service: `approval`, `paused`, `pause_reason`, `stop_reason`, `retry_of`, `retried_by`.
 *
 * `operationSchemas` builds the pair of every kind from the kind's own request fields (`fields`)
 * and what the service assigns besides the common four (`assigned`). Keep the property order
 * (common head, the kind's fields, `appliances` last): the OpenAPI document (api/openapi.ts) lists
 * properties, and a parse reports issues, in that order.
 */
function operationSchemas<Fields extends z.core.$ZodLooseShape, Assigned extends z.core.$ZodLooseShape>(
  fields: Fields,
  assigned: Assigned,
) {
  const request = z.looseObject({
    id: readOnly(text()),
    create_time: readOnly(text()),
    status: readOnly(operationStatus),
    username: readOnly(username),
    ...fields,
    rollout: rolloutPolicy.optional(),
    task_timeout: taskTimeout.optional(),
    // Rollout safety, set by the service (README "Rollout safety").
    approval: readOnly(approvalInfo),
    paused: readOnly(z.boolean()),
    pause_reason: readOnly(text(MAX.text)),
    stop_reason: readOnly(text(MAX.text)),
    retry_of: readOnly(text()).meta({
      readOnly: true,
      description: 'the operation this one retries (POST …/{id}/retry)',
    }),
    retried_by: readOnly(text()).meta({ readOnly: true, description: 'the operation that retries this one' }),
    appliances: z
      .array(serial)
      .min(1, 'at least one appliance serial is required')
      .max(MAX.appliances, `at most ${MAX.appliances} appliances in one operation`),
  });
  // `extend` replaces the read-only fields in place, so the answer keeps the request's order.
  const answer = request.extend({
    id: z.string(),
    username: z.string(),
    create_time: z.string(),
    status: operationStatus,
    ...assigned,
  });
  return { request, answer };
}

/** The read-only properties of operation requests (see operationSchemas): ignored when sent. */
export const OPERATION_READ_ONLY = [
  'id',
  'create_time',
  'status',
  'username',
  'reboot_id',
  'upgrade_id',
  'downgrade_id',
  'approval',
  'paused',
  'pause_reason',
  'stop_reason',
  'retry_of',
  'retried_by',
] as const;
/** The read-only properties of a task state `set`: the path names the task. */
export const TASK_STATE_READ_ONLY = ['operation_id', 'serial'] as const;

/**
 * Upgrade and downgrade operations are the same object but for the name of their start time
 * (`upgrade_time`, `downgrade_time`). The seed's downgrade_operation has no `reboot_id`; this
 * service adds it (an extension property, as on the upgrade) when `reboot` with a `reboot_time`
 * creates a linked reboot operation (whose `upgrade_id` / `downgrade_id` points back). Requests
 * refuse it on both.
 */
const imageOperationSchemas = <TimeField extends 'upgrade_time' | 'downgrade_time'>(timeField: TimeField) =>
  operationSchemas(
    {
      product_code: productCode,
      // A computed key widens to `string` in TypeScript; the cast names it again.
      ...({ [timeField]: scheduledTime.optional() } as Record<TimeField, z.ZodOptional<typeof scheduledTime>>),
      target_version: version,
      reboot: z.boolean(),
      reboot_time: scheduledTime.optional(),
      esxi_force: z.boolean().optional(),
      comment: text(MAX.text),
      // The seed does not mark reboot_id Read-only, but only the service links a reboot operation.
      reboot_id: readOnly(z.number()),
      health_check: healthCheck.optional(),
      rollback: rollback.optional(),
      task_retries: taskRetries.optional(),
    },
    { reboot_id: z.number().optional() },
  );

const upgradeSchemas = imageOperationSchemas('upgrade_time');
export const upgradeOperationRequest = upgradeSchemas.request;
export type UpgradeOperationRequest = z.infer<typeof upgradeOperationRequest>;
export const upgradeOperation = upgradeSchemas.answer;
export type UpgradeOperation = z.infer<typeof upgradeOperation>;
/** upgrade_operations: the list answer. */
export const upgradeOperations = z.array(upgradeOperation);
export type UpgradeOperations = z.infer<typeof upgradeOperations>;

const downgradeSchemas = imageOperationSchemas('downgrade_time');
export const downgradeOperationRequest = downgradeSchemas.request;
export type DowngradeOperationRequest = z.infer<typeof downgradeOperationRequest>;
export const downgradeOperation = downgradeSchemas.answer;
export type DowngradeOperation = z.infer<typeof downgradeOperation>;
/** downgrade_operations: the list answer. */
export const downgradeOperations = z.array(downgradeOperation);
export type DowngradeOperations = z.infer<typeof downgradeOperations>;

/**
 * The reboot operation. Required: username (see above), comment, appliances. `switch_partition`
 * stays absent when not given (the seed: "treated as false if not specified"), so a stored
 * request reads back as it was sent. `upgrade_id` / `downgrade_id` are not marked Read-only in the
 * seed, but they name "the operation that triggered this reboot operation": only the service
 * creates such links, so requests refuse them.
 */
const rebootSchemas = operationSchemas(
  {
    switch_partition: z.boolean().optional(),
    reboot_time: scheduledTime.optional(),
    comment: text(MAX.text),
    upgrade_id: readOnly(text()),
    downgrade_id: readOnly(text()),
  },
  { upgrade_id: z.string().optional(), downgrade_id: z.string().optional() },
);
export const rebootOperationRequest = rebootSchemas.request;
export type RebootOperationRequest = z.infer<typeof rebootOperationRequest>;
export const rebootOperation = rebootSchemas.answer;
export type RebootOperation = z.infer<typeof rebootOperation>;
/** reboot_operations: the list answer. */
export const rebootOperations = z.array(rebootOperation);
export type RebootOperations = z.infer<typeof rebootOperations>;

/** Numbers from a query string, written as JSON writes them (`''`, `'0x10'`, `'5abc'`, `'Infinity'` are refused). */
export const queryNumber = (name: string) =>
  z.preprocess(
    (value) =>
      typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(value) ? Number(value) : value,
    z
      .number({ error: `${name} must be a timestamp (seconds since the epoch, a non-negative number)` })
      .nonnegative(`${name} must be a timestamp (seconds since the epoch, a non-negative number)`)
      .max(MAX.timestamp, `${name} must be a timestamp before the year 10000 (at most ${MAX.timestamp})`),
  );

/**
 * The query of the three operation lists: `{?username,time_lower_bound,time_upper_bound,status}`.
 * The seed gives no types; the bounds are taken as the seed's `timestamp` (seconds), inclusive,
 * on the operation's creation time. Unknown parameters are refused.
 */
export const operationsQuery = z.strictObject({
  username: username.optional(),
  time_lower_bound: queryNumber('time_lower_bound').optional(),
  time_upper_bound: queryNumber('time_upper_bound').optional(),
  status: operationStatus.optional(),
});
export type OperationsQuery = z.infer<typeof operationsQuery>;

/** A whole number from a query string, within bounds (`'01'`, `'1.5'`, `'-1'` are refused). */
const queryInteger = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value),
    z
      .number({ error: `must be a whole number from ${min} to ${max}` })
      .int()
      .min(min)
      .max(max),
  );

/**
 * Extension: the query of an operation's appliance tasks, one page at a time (the dashboard reads
 * an operation of 10,000 appliances this way). `serial`: the serials containing it (any case);
 * `limit` 0 answers the counts alone. Ordered by serial.
 */
export const applianceTasksQuery = z.strictObject({
  status: applianceTaskStatus.optional(),
  stage: text(32)
    .regex(/^[a-z_]+$/, 'must be a stage name')
    .optional(),
  serial: text(13)
    .regex(/^[0-9A-Za-z]+$/, 'must be letters and digits (part of a serial)')
    .optional(),
  offset: queryInteger(0, MAX.appliances).default(0),
  limit: queryInteger(0, 1_000).default(100),
});
export type ApplianceTasksQuery = z.infer<typeof applianceTasksQuery>;

/** A task as listed: the seed's task of its kind, and (extension) the version the appliance runs now, as the inventory knows it. */
export const applianceTaskListed = z.looseObject({
  operation_id: z.string(),
  serial,
  status: applianceTaskStatus,
  stage: z.string(),
  current_version: version.optional(),
  running_version: version.optional(),
  hostname: z.string().optional(),
  message: z.string().optional(),
});
export type ApplianceTaskListed = z.infer<typeof applianceTaskListed>;

/**
 * Extension: one page of an operation's appliance tasks. `total`: the tasks the filter matches;
 * `status_counts` and `stage_counts`: every task of the operation, whatever the filter.
 */
export const applianceTaskPage = z.object({
  operation_id: z.string(),
  total: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  limit: z.number().int().nonnegative(),
  status_counts: z.partialRecord(applianceTaskStatus, z.number().int().nonnegative()),
  stage_counts: z.record(z.string(), z.number().int().nonnegative()),
  tasks: z.array(applianceTaskListed),
});
export type ApplianceTaskPage = z.infer<typeof applianceTaskPage>;

// Appliance tasks: the task, its state (get and set) ------------------------------------------

/**
 * appliance_upgrade_task. Required: operation_id, target_version, reboot, current_version (the
 * seed does not require `serial` here, unlike the downgrade and reboot tasks).
 */
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

/** appliance_downgrade_task: as the upgrade task with `downgrade_time`; `serial` required. */
export const applianceDowngradeTask = applianceUpgradeTask
  .omit({ upgrade_time: true })
  .extend({ serial, downgrade_time: scheduledTime.optional() });
export type ApplianceDowngradeTask = z.infer<typeof applianceDowngradeTask>;

/** appliance_reboot_task. Required: operation_id, serial. */
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

/**
 * appliance_{upgrade,downgrade,reboot}_task_state as answered: required status and stage (each
 * kind its own stages); `operation_id` and `serial` are Read-only and optional.
 */
export const applianceUpgradeTaskState = z.looseObject({
  operation_id: z.string().optional(),
  serial: serial.optional(),
  status: applianceTaskStatus,
  stage: applianceUpgradeTaskStage,
});
export type ApplianceUpgradeTaskState = z.infer<typeof applianceUpgradeTaskState>;
export const applianceDowngradeTaskState = applianceUpgradeTaskState.extend({ stage: applianceDowngradeTaskStage });
export type ApplianceDowngradeTaskState = z.infer<typeof applianceDowngradeTaskState>;
export const applianceRebootTaskState = applianceUpgradeTaskState.extend({ stage: applianceRebootTaskStage });
export type ApplianceRebootTaskState = z.infer<typeof applianceRebootTaskState>;

/**
 * The body of a task state `set` (PUT): status and stage, and any extension properties (kept on
 * the state, answered by its GET). The Read-only operation_id and serial are ignored: the path
 * names the task.
 */
export const applianceUpgradeTaskStateSetRequest = applianceUpgradeTaskState.extend({
  operation_id: readOnly(text()),
  serial: readOnly(serial),
});
export type ApplianceUpgradeTaskStateSetRequest = z.infer<typeof applianceUpgradeTaskStateSetRequest>;
export const applianceDowngradeTaskStateSetRequest = applianceDowngradeTaskState.extend({
  operation_id: readOnly(text()),
  serial: readOnly(serial),
});
export type ApplianceDowngradeTaskStateSetRequest = z.infer<typeof applianceDowngradeTaskStateSetRequest>;
export const applianceRebootTaskStateSetRequest = applianceRebootTaskState.extend({
  operation_id: readOnly(text()),
  serial: readOnly(serial),
});
export type ApplianceRebootTaskStateSetRequest = z.infer<typeof applianceRebootTaskStateSetRequest>;

// Images and image repositories ----------------------------------------------------------------

export const IMAGE_REPOSITORIES = ['customer', 'riverbed'] as const;
export const imageRepository = z.enum(IMAGE_REPOSITORIES);
export type ImageRepository = z.infer<typeof imageRepository>;
/** image_repositories: the unmodifiable list of repositories. */
export const imageRepositories = z.array(imageRepository);
export type ImageRepositories = z.infer<typeof imageRepositories>;

export const IMAGE_SOURCES = ['local', 'customer_url', 'riverbed'] as const;
export const imageSource = z.enum(IMAGE_SOURCES);
export type ImageSource = z.infer<typeof imageSource>;

/** Which repository each source belongs to (a source is in exactly one repository). */
export const REPOSITORY_OF_SOURCE: Record<ImageSource, ImageRepository> = {
  local: 'customer',
  customer_url: 'customer',
  riverbed: 'riverbed',
};

/**
 * Properties that uniquely identify an image. Required: product_code, arch, target_version, delta.
 * The seed's source_version is "the source version (if delta image is true)": a delta image
 * without one is refused (a full image may carry one; it is kept).
 */
export const imageDefinition = z
  .looseObject({
    product_code: productCode,
    arch,
    target_version: version,
    delta: z.boolean(),
    source_version: version.optional(),
  })
  .refine((d) => !d.delta || d.source_version !== undefined, {
    error: 'a delta image needs a source_version',
    path: ['source_version'],
  });
export type ImageDefinition = z.infer<typeof imageDefinition>;

/**
 * A Riverbed software image (`id` is Read-only; the object is only ever answered): one per distinct
 * image definition, with every source it is available from. Its id is derived from the definition
 * (domain/image-identity.ts). Extension: `source_image_ids`, each source's own id of its copy
 * (the id under image_repositories/…, to read or delete that copy).
 */
export const image = z.looseObject({
  id: z.string().min(1),
  image_definition: imageDefinition,
  image_sources: z.array(imageSource),
  source_image_ids: z.partialRecord(imageSource, z.string()).optional(),
});
export type Image = z.infer<typeof image>;
/** images: every available image. */
export const images = z.array(image);
export type Images = z.infer<typeof images>;
/** The query of `images{?product_code}`. */
export const imagesQuery = z.strictObject({ product_code: productCode.optional() });
export type ImagesQuery = z.infer<typeof imagesQuery>;

/** An image uploaded to (hosted on) this service. Required: id (Read-only), image_definition, modification_time. */
export const locallyHostedImage = z.looseObject({
  id: z.string().min(1),
  image_definition: imageDefinition,
  modification_time: timestamp,
});
export type LocallyHostedImage = z.infer<typeof locallyHostedImage>;
export const locallyHostedImages = z.array(locallyHostedImage);
export type LocallyHostedImages = z.infer<typeof locallyHostedImages>;
/** The longest image URL taken (what browsers, proxies and servers reliably carry). */
export const IMAGE_URL_MAX = 2048;
/** An image's URL in a request: http(s) or file (which schemes a route takes, it says). */
export const imageUrl = z.url({ error: 'not a URL' }).max(IMAGE_URL_MAX, `must be at most ${IMAGE_URL_MAX} characters`);

/**
 * locally_hosted_images `upload` request: `{ url, <prop> }`, url optional (http(s), or a file URL
 * when the file was put on this host). The image's definition is read from the image's manifest
 * (domain/image-manifest.ts); `image_definition` (an extension property) may be sent too: it must
 * agree with the manifest, and it is what is taken when there is no url or the image has no
 * readable manifest. The resulting image's `id` is Read-only (ignored when sent).
 */
export const locallyHostedImageUpload = z.looseObject({
  id: readOnly(text()),
  url: imageUrl.optional(),
  image_definition: imageDefinition.optional(),
});
export type LocallyHostedImageUpload = z.infer<typeof locallyHostedImageUpload>;

/** An image the customer hosts at a URL of their own. Required: id, image_definition, url, registration_time (a number, as the seed types it). */
export const customerUrlHostedImage = z.looseObject({
  id: z.string().min(1),
  image_definition: imageDefinition,
  url: z.string().min(1),
  registration_time: z.number(),
});
export type CustomerUrlHostedImage = z.infer<typeof customerUrlHostedImage>;
export const customerUrlHostedImages = z.array(customerUrlHostedImage);
export type CustomerUrlHostedImages = z.infer<typeof customerUrlHostedImages>;
/**
 * customer_url_hosted_images `register` request: `{ url, <prop> }`. url is optional in the seed,
 * but a customer URL hosted image has one (Required), so the route refuses a request without it;
 * it must be http(s): appliances download from it. The definition comes from the image's
 * manifest, or from `image_definition` as for an upload (see locallyHostedImageUpload).
 */
export const customerUrlHostedImageRegister = z.looseObject({
  url: imageUrl.optional(),
  image_definition: imageDefinition.optional(),
});
export type CustomerUrlHostedImageRegister = z.infer<typeof customerUrlHostedImageRegister>;

/** An image hosted by Riverbed Support, with the versions it supports upgrading from. Required: image_definition, url, source_versions (`id` is optional here). */
export const riverbedHostedImage = z.looseObject({
  id: z.string().min(1).optional(),
  image_definition: imageDefinition,
  url: z.string().min(1),
  source_versions: z.array(version),
});
export type RiverbedHostedImage = z.infer<typeof riverbedHostedImage>;
export const riverbedHostedImages = z.array(riverbedHostedImage);
export type RiverbedHostedImages = z.infer<typeof riverbedHostedImages>;

// Appliances, connected product codes, versions ------------------------------------------------

/** The product codes currently connected: "a collection of unique product codes", so a repeat is refused. */
export const connectedProductCodes = z
  .array(productCode)
  .refine((codes) => new Set(codes).size === codes.length, { error: 'product codes must be unique' });
export type ConnectedProductCodes = z.infer<typeof connectedProductCodes>;

/** Information about an appliance. Required: product_code, serial, connected. */
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
export type Appliances = z.infer<typeof appliances>;
/** The query of `appliances/{product_code}`: the seed's "optionally filtered by … group" (one group name). */
export const appliancesQuery = z.strictObject({ group: text().min(1).optional() });
export type AppliancesQuery = z.infer<typeof appliancesQuery>;

/** upgradeable_versions and downgradeable_versions items: product_code and version (both required). */
export const productVersion = z.looseObject({ product_code: productCode, version });
export type ProductVersion = z.infer<typeof productVersion>;
export const productVersions = z.array(productVersion);
export type ProductVersions = z.infer<typeof productVersions>;
export const upgradeableVersions = productVersions;
export type UpgradeableVersions = ProductVersions;
export const downgradeableVersions = productVersions;
export type DowngradeableVersions = ProductVersions;

// Eligibility: upgradeable / downgradeable / rebootable appliances -----------------------------

export const UPGRADE_EXCEPTION_CATEGORIES = [
  'unentitled',
  'model_eol',
  'read_only',
  'disconnected',
  'not_supported',
  'no_i386_image',
  'no_x86_64_image',
  'operation_in_progress',
  'same_or_newer_version',
] as const;
export const DOWNGRADE_EXCEPTION_CATEGORIES = [
  'read_only',
  'disconnected',
  'not_supported',
  'not_previously_upgraded_to',
  'no_i386_image',
  'no_x86_64_image',
  'operation_in_progress',
  'same_or_older_version',
] as const;
export const REBOOT_EXCEPTION_CATEGORIES = [
  'read_only',
  'disconnected',
  'not_supported',
  'operation_in_progress',
] as const;
export type UpgradeExceptionCategory = (typeof UPGRADE_EXCEPTION_CATEGORIES)[number];
export type DowngradeExceptionCategory = (typeof DOWNGRADE_EXCEPTION_CATEGORIES)[number];
export type RebootExceptionCategory = (typeof REBOOT_EXCEPTION_CATEGORIES)[number];

type ExceptionsShape<C extends string> = { [K in C]: z.ZodOptional<z.ZodArray<typeof appliance>> };
/**
 * An `exceptions` object: one optional list of appliances per category, plus `<prop>`. The seed
 * marks every category Optional except `not_supported` (and the downgrade's
 * `not_previously_upgraded_to`), whose rows come after `<prop>` without any note; all are treated
 * alike (optional), so a sparse answer that leaves out empty categories stays valid.
 */
function exceptionsOf<const C extends readonly string[]>(categories: C) {
  const shape = Object.fromEntries(categories.map((c) => [c, z.array(appliance).optional()])) as ExceptionsShape<
    C[number]
  >;
  return z.looseObject(shape);
}
export const upgradeExceptions = exceptionsOf(UPGRADE_EXCEPTION_CATEGORIES);
export const downgradeExceptions = exceptionsOf(DOWNGRADE_EXCEPTION_CATEGORIES);
export const rebootExceptions = exceptionsOf(REBOOT_EXCEPTION_CATEGORIES);

/** upgradeable_appliances, downgradeable_appliances, rebootable_appliances: every property optional, as the seed marks them. */
export const upgradeableAppliances = z.looseObject({
  upgradeable: z.array(appliance).optional(),
  exceptions: upgradeExceptions.optional(),
});
export const downgradeableAppliances = z.looseObject({
  downgradeable: z.array(appliance).optional(),
  exceptions: downgradeExceptions.optional(),
});
export const rebootableAppliances = z.looseObject({
  rebootable: z.array(appliance).optional(),
  exceptions: rebootExceptions.optional(),
});
/** What the schemas accept (every part optional). */
export type UpgradeableAppliancesResource = z.infer<typeof upgradeableAppliances>;
export type DowngradeableAppliancesResource = z.infer<typeof downgradeableAppliances>;
export type RebootableAppliancesResource = z.infer<typeof rebootableAppliances>;
/** What this service answers (domain/eligibility.ts): the list and every category always present. */
export type UpgradeableAppliances = {
  upgradeable: Appliance[];
  exceptions: Record<UpgradeExceptionCategory, Appliance[]>;
};
export type DowngradeableAppliances = {
  downgradeable: Appliance[];
  exceptions: Record<DowngradeExceptionCategory, Appliance[]>;
};
export type RebootableAppliances = {
  rebootable: Appliance[];
  exceptions: Record<RebootExceptionCategory, Appliance[]>;
};

// Service logging ------------------------------------------------------------------------------

/** logging_level: the severities of the service's own logs (no emerg or alert, unlike log_entry). */
export const LOGGING_LEVELS = ['crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export const loggingLevel = z.enum(LOGGING_LEVELS);
export type LoggingLevel = z.infer<typeof loggingLevel>;
/** logging: get answers it, set (PUT) takes and answers it. Required: level. */
export const logging = z.looseObject({ level: loggingLevel });
export type Logging = z.infer<typeof logging>;
