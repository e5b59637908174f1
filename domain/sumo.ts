/**
 * Objects of the Sumo Logic collector upgrade API (v1, "Upgrade or Downgrade Collectors Using the
 * API"), as zod schemas with their inferred types. Field names are the seed's.
 *
 * The seed documents these objects by sample and field table only (no `<prop>`, no required
 * lists). Rules chosen:
 * - Every object is loose (`z.looseObject`): Sumo answers carry more fields than documented, and
 *   this service's extensions (e.g. a task time limit) use that room.
 * - Fields in a field table are required; fields only in a sample are optional, except where the
 *   service cannot work without them (the collector's id, name, collectorType, alive).
 * - Where the field table and the sample disagree, the sample wins (it is what goes on the wire)
 *   and the table's spelling is accepted too (`requestTime` / `requestedTime`).
 */
import { z } from 'zod';

/** A link (`rel`, `href`), as in a collector's `links` and the create answer's `link`. */
export const collectorLink = z.looseObject({ rel: z.string(), href: z.string() });
export type CollectorLink = z.infer<typeof collectorLink>;

/** Collector types: an upgrade is only for Installed (`Installable`) collectors, not `Hosted` ones. */
export const COLLECTOR_TYPES = ['Installable', 'Hosted'] as const;
export const collectorType = z.enum(COLLECTOR_TYPES);
export type CollectorType = z.infer<typeof collectorType>;

/**
 * A collector as `GET /collectors/upgrades/collectors` lists it (the seed's sample). Unknown
 * fields are kept. Required: id, name, collectorType and alive (what upgrade decisions use).
 */
export const collector = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  hostName: z.string().optional(),
  timeZone: z.string().optional(),
  links: z.array(collectorLink).optional(),
  ephemeral: z.boolean().optional(),
  sourceSyncMode: z.string().optional(),
  collectorType,
  collectorVersion: z.string().optional(),
  osVersion: z.string().optional(),
  osName: z.string().optional(),
  osArch: z.string().optional(),
  /** Epoch milliseconds (the sample's 1465848876035). */
  lastSeenAlive: z.number().optional(),
  alive: z.boolean(),
});
export type Collector = z.infer<typeof collector>;
/** The answer of `GET /collectors/upgrades/collectors`. */
export const upgradableCollectors = z.looseObject({ collectors: z.array(collector) });
export type UpgradableCollectors = z.infer<typeof upgradableCollectors>;

/**
 * A query-string integer: numbers pass, strings must be plain decimal digits (`''`, `'1.5'`,
 * `'-1'`, `'0x10'`, `'1e3'` are refused), and every refusal names the parameter.
 */
const queryInteger = (name: string, min: number) => {
  const message = min === 0 ? `${name} must be a non-negative integer` : `${name} must be a positive integer`;
  return z.preprocess(
    (value) => (typeof value === 'string' && /^\s*[+-]?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value),
    z.number({ error: message }).int(message).min(min, message),
  );
};

/**
 * Query of `GET /collectors/upgrades/collectors`: toVersion (default: the latest build, resolved by
 * the service), offset (default 0), limit (default 50). Values come from the query string as
 * strings and are converted. Unknown parameters are refused (the seed: 400 "A parameter wasn't
 * valid"); limit 0 is refused (a page of nothing), so limit is at least 1.
 */
export const upgradableCollectorsQuery = z.strictObject({
  toVersion: z
    .string({ error: 'toVersion must be given once, as a collector build' })
    .min(1, 'toVersion must be a collector build')
    .optional(),
  offset: queryInteger('offset', 0).default(0),
  limit: queryInteger('limit', 1).default(50),
});
export type UpgradableCollectorsQuery = z.infer<typeof upgradableCollectorsQuery>;

/** A collector build one can upgrade (or downgrade) to: version and whether it is the latest (both in the field table). */
export const target = z.looseObject({ version: z.string().min(1), latest: z.boolean() });
export type Target = z.infer<typeof target>;
/** The answer of `GET /collectors/upgrades/targets`. */
export const targets = z.looseObject({ targets: z.array(target) });
export type Targets = z.infer<typeof targets>;

/** Upgrade task status codes (the seed's integers), by name. */
export const UPGRADE_TASK_STATUS = { notStarted: 0, pending: 1, succeeded: 2, failed: 3, progressing: 6 } as const;
export const UPGRADE_TASK_STATUS_CODES = [0, 1, 2, 3, 6] as const;
export type UpgradeTaskStatusCode = (typeof UPGRADE_TASK_STATUS_CODES)[number];
/** Each status code in the seed's words. */
export const UPGRADE_TASK_STATUS_TEXT: Record<number, string> = {
  0: 'not started',
  1: 'pending, the upgrade is issued awaiting a response from the Collector',
  2: 'succeeded',
  3: 'failed',
  6: 'progressing, the upgrade is running on the Collector',
} satisfies Record<UpgradeTaskStatusCode, string>;
export const upgradeTaskStatusCode = z.literal(UPGRADE_TASK_STATUS_CODES, {
  error: 'status must be one of the upgrade task status codes 0, 1, 2, 3, 6',
});
/** Not finished yet: 0, 1 and 6 (a collector has at most one such task: `collector.in.upgrading`). */
export const UNFINISHED_UPGRADE_TASK_STATUSES = [
  UPGRADE_TASK_STATUS.notStarted,
  UPGRADE_TASK_STATUS.pending,
  UPGRADE_TASK_STATUS.progressing,
] as const;

/**
 * An upgrade task's status (`upgrade` in the answer of `GET /collectors/upgrades/{upgradeTaskID}`).
 * The field table lists collectorId, toVersion, requestedTime, status, message; the sample has
 * `requestTime` (required here) and `id` (optional: not in the table). `requestedTime` is accepted
 * as the table's spelling of the same instant. Times are epoch milliseconds, as in the sample.
 */
export const upgradeTask = z.looseObject({
  id: z.number().int().optional(),
  collectorId: z.number().int(),
  toVersion: z.string(),
  requestTime: z.number(),
  requestedTime: z.number().optional(),
  status: upgradeTaskStatusCode,
  message: z.string(),
});
export type UpgradeTask = z.infer<typeof upgradeTask>;
export const upgradeTaskResponse = z.looseObject({ upgrade: upgradeTask });
export type UpgradeTaskResponse = z.infer<typeof upgradeTaskResponse>;

/** The path parameter `upgradeTaskID`, a Long: plain digits only. */
export const upgradeTaskIdParam = z
  .string()
  .regex(/^\d{1,15}$/, 'upgradeTaskID must be a task id (digits)')
  .transform(Number);

/**
 * `POST /collectors/upgrades` body: collectorId (Long, required), toVersion (optional: defaults to
 * the latest build). Other fields are kept for the service's extensions.
 */
export const createUpgradeTaskRequest = z.looseObject({
  collectorId: z
    .number({ error: 'collectorId is required (a collector id, a number)' })
    .int('collectorId must be an integer'),
  toVersion: z
    .string({ error: 'toVersion must be a collector build (a string)' })
    .min(1, 'toVersion must be a collector build')
    .optional(),
});
export type CreateUpgradeTaskRequest = z.infer<typeof createUpgradeTaskRequest>;
/** 202 answer: the new task's id (an opaque string) and its `self` link. */
export const createUpgradeTaskResponse = z.looseObject({ id: z.string(), link: collectorLink });
export type CreateUpgradeTaskResponse = z.infer<typeof createUpgradeTaskResponse>;

/** The 400 error codes of task creation. */
export const UPGRADE_ERROR_CODES = [
  'collector.invalid',
  'collector.type.invalid',
  'collector.not.alive',
  'collector.in.upgrading',
  'collector.version.invalid',
] as const;
export type UpgradeErrorCode = (typeof UPGRADE_ERROR_CODES)[number];
export const upgradeErrorCode = z.enum(UPGRADE_ERROR_CODES);
/** Each error code in the seed's words. */
export const UPGRADE_ERROR_DESCRIPTIONS: Record<UpgradeErrorCode, string> = {
  'collector.invalid':
    "The Collector ID was not provided, doesn't exist, or the user doesn't have permission to use it.",
  'collector.type.invalid': 'The Collector is not an Installed Collector (it is a Hosted Collector).',
  'collector.not.alive': 'The Collector is not running.',
  'collector.in.upgrading': 'The Collector is currently being upgraded.',
  'collector.version.invalid': 'The upgrade version was not provided, or the version is not valid.',
};

/** The HTTP statuses the seed documents, with its text: 200/202 success, the rest errors. */
export const SUMO_STATUS_TEXT = {
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  404: 'Not found',
  415: 'Unsupported Media Type',
} as const;

/**
 * Sumo's error body. The seed names the error codes but shows no error body; this is the shape
 * Sumo's collector management API answers with: HTTP status, a request id, the code, a message.
 * `code` is any string: the seed's codes above for task creation, others (e.g. for 404 and 415)
 * where the seed gives none.
 */
export const sumoError = z.looseObject({
  status: z.number().int(),
  id: z.string(),
  code: z.string(),
  message: z.string(),
});
export type SumoError = z.infer<typeof sumoError>;
