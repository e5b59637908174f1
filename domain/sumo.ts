/**
 * Objects of the Sumo Logic collector upgrade API (v1), as zod schemas. Collectors keep every
 * field the service sends (loose objects); task status codes are the seed's numbers.
 */
import { z } from 'zod';

export const collectorLink = z.looseObject({ rel: z.string(), href: z.string() });

/** A collector as `GET /collectors/upgrades/collectors` lists it. */
export const collector = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  hostName: z.string().optional(),
  timeZone: z.string().optional(),
  links: z.array(collectorLink).optional(),
  ephemeral: z.boolean().optional(),
  sourceSyncMode: z.string().optional(),
  collectorType: z.enum(['Installable', 'Hosted']),
  collectorVersion: z.string().optional(),
  osVersion: z.string().optional(),
  osName: z.string().optional(),
  osArch: z.string().optional(),
  lastSeenAlive: z.number().optional(),
  alive: z.boolean(),
});
export type Collector = z.infer<typeof collector>;
export const upgradableCollectors = z.looseObject({ collectors: z.array(collector) });

/** Query of the upgradable collectors list: defaults and limits as the seed documents. */
export const upgradableCollectorsQuery = z.strictObject({
  toVersion: z.string().min(1).optional(),
  offset: z.coerce.number({ error: 'offset must be a non-negative integer' }).int('offset must be a non-negative integer').min(0, 'offset must be a non-negative integer').default(0),
  limit: z.coerce.number({ error: 'limit must be a positive integer' }).int('limit must be a positive integer').min(1, 'limit must be a positive integer').default(50),
});

/** A collector build one can upgrade (or downgrade) to. */
export const target = z.looseObject({ version: z.string().min(1), latest: z.boolean() });
export type Target = z.infer<typeof target>;
export const targets = z.looseObject({ targets: z.array(target) });

/** Upgrade task status codes (the seed's integers). */
export const UPGRADE_TASK_STATUS = { notStarted: 0, pending: 1, succeeded: 2, failed: 3, progressing: 6 } as const;
export const UPGRADE_TASK_STATUS_TEXT: Record<number, string> = {
  0: 'not started',
  1: 'pending, the upgrade is issued awaiting a response from the Collector',
  2: 'succeeded',
  3: 'failed',
  6: 'progressing, the upgrade is running on the Collector',
};
export const upgradeTaskStatusCode = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(6)]);

export const upgradeTask = z.looseObject({
  id: z.number().int().optional(),
  collectorId: z.number().int(),
  toVersion: z.string(),
  requestTime: z.number(),
  status: upgradeTaskStatusCode,
  message: z.string(),
});
export type UpgradeTask = z.infer<typeof upgradeTask>;
export const upgradeTaskResponse = z.looseObject({ upgrade: upgradeTask });

/** `POST /collectors/upgrades`: toVersion defaults to the latest build. */
export const createUpgradeTaskRequest = z.looseObject({
  collectorId: z.number({ error: 'collectorId is required (a collector id, a number)' }).int(),
  toVersion: z.string().min(1).optional(),
});
export const createUpgradeTaskResponse = z.looseObject({ id: z.string(), link: collectorLink });

/** The 400 error codes of task creation. */
export const UPGRADE_ERROR_CODES = ['collector.invalid', 'collector.type.invalid', 'collector.not.alive', 'collector.in.upgrading', 'collector.version.invalid'] as const;
export type UpgradeErrorCode = (typeof UPGRADE_ERROR_CODES)[number];

/** Sumo's error body. */
export const sumoError = z.looseObject({ status: z.number().int(), id: z.string(), code: z.string(), message: z.string() });
