/**
 * The device API: the small HTTP protocol the orchestrator's activities speak to each device
 * (real appliance drivers or the simulator). Documented in docs/device-api.md.
 */
import { z } from 'zod';
import { arch, productCode, serial, version } from './scc';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

export const deviceInfo = z.object({
  serial,
  product_code: productCode,
  model: z.string(),
  arch,
  hostname: z.string(),
  ip_address: z.string(),
  time_zone: z.string(),
  /** The version running now (the active partition). */
  running_version: version,
  /** What the standby partition holds, activated by a reboot with switch_partition. */
  standby_version: version.nullable(),
  esxi_version: z.string().nullable(),
  connected: z.boolean(),
  entitled: z.boolean(),
  read_only: z.boolean(),
  model_eol: z.boolean(),
  groups: z.array(z.string()),
});
export type DeviceInfo = z.infer<typeof deviceInfo>;

export const JOB_KINDS = ['stage', 'patch', 'install', 'reboot'] as const;
export const JOB_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export const deviceJob = z.object({
  id: z.string(),
  serial,
  kind: z.enum(JOB_KINDS),
  state: z.enum(JOB_STATES),
  /** 0..1 */
  progress: z.number().min(0).max(1),
  /**
   * The device's estimate of the job's whole duration, in seconds, when it knows one (a download's
   * size over its link, a typical install or reboot). The orchestrator waits about that long before
   * it first reads the job again; without it, it extrapolates from `progress`.
   */
  expected_seconds: z.number().nonnegative().optional(),
  message: z.string().optional(),
});
export type DeviceJob = z.infer<typeof deviceJob>;

export const stageImageRequest = z.object({
  url: z.string().min(1),
  target_version: version,
  delta: z.boolean().default(false),
  source_version: version.optional(),
  size_bytes: z.number().int().positive().optional(),
  checksum: z.string().optional(),
});
export type StageImageRequest = z.input<typeof stageImageRequest>;

/** Applies a staged delta image to the running version, leaving a full image of its target staged. */
export const patchRequest = z.object({
  version_id: z.string().min(1),
});
export type PatchRequest = z.input<typeof patchRequest>;

export const installRequest = z.object({
  version_id: z.string().min(1),
  esxi_force: z.boolean().default(false),
});
export type InstallRequest = z.input<typeof installRequest>;

export const rebootRequest = z.object({
  switch_partition: z.boolean().default(false),
});
export type RebootRequest = z.input<typeof rebootRequest>;

/**
 * A device's health (`GET /devices/{serial}/health`): its services, error counters since boot and
 * uptime. The orchestrator judges it (domain/rollout-safety.ts healthProblem): healthy when every
 * service is up and no error has been counted since boot.
 */
export const SERVICE_STATES = ['up', 'starting', 'down'] as const;
export const deviceHealth = z.object({
  serial,
  uptime_seconds: z.number().nonnegative(),
  services: z.array(z.object({ name: z.string(), state: z.enum(SERVICE_STATES) })),
  error_counters: z.record(z.string(), z.number().int().nonnegative()),
});
export type DeviceHealth = z.infer<typeof deviceHealth>;

export const deviceCounters = z.object({
  stages: z.number().int(),
  patches: z.number().int(),
  installs: z.number().int(),
  reboots: z.number().int(),
  idempotent_replays: z.number().int(),
});
export type DeviceCounters = z.infer<typeof deviceCounters>;

/** Simulator only (`GET /admin/stats`): fleet-wide device-API requests and device jobs since the last reset. */
export const simulatorStats = z.object({
  /** HTTP requests to /devices/… and /collectors/…. */
  requests: z.number().int(),
  /** Appliance jobs running now. */
  jobs_running: z.number().int(),
  /** The most appliance jobs running at once. */
  peak_jobs_running: z.number().int(),
  /** Appliance jobs started. */
  jobs_started: z.number().int(),
});
export type SimulatorStats = z.infer<typeof simulatorStats>;

/** A Sumo collector as it reports itself (the seed's collector fields). */
export const collectorInfo = z.object({
  id: z.number().int(),
  name: z.string(),
  hostName: z.string(),
  timeZone: z.string(),
  ephemeral: z.boolean(),
  sourceSyncMode: z.string(),
  collectorType: z.enum(['Installable', 'Hosted']),
  collectorVersion: z.string(),
  osVersion: z.string(),
  osName: z.string(),
  osArch: z.string(),
  lastSeenAlive: z.number().int(),
  alive: z.boolean(),
});
export type CollectorInfo = z.infer<typeof collectorInfo>;

export const collectorJob = z.object({
  id: z.string(),
  collector_id: z.number().int(),
  kind: z.literal('upgrade'),
  to_version: z.string(),
  state: z.enum(JOB_STATES),
  progress: z.number().min(0).max(1),
  message: z.string().optional(),
});
export type CollectorJob = z.infer<typeof collectorJob>;

export const collectorUpgradeRequest = z.object({ toVersion: z.string().min(1) });

export const collectorCounters = z.object({
  upgrades: z.number().int(),
  idempotent_replays: z.number().int(),
});
export type CollectorCounters = z.infer<typeof collectorCounters>;

/** Error body of every non-2xx device API answer. */
export const deviceError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
  }),
});
export type DeviceErrorBody = z.infer<typeof deviceError>;

export const DEVICE_ERROR_CODES = {
  notFound: 'device.not_found',
  rebooting: 'device.rebooting',
  disconnected: 'device.disconnected',
  badRequest: 'request.invalid',
  idempotencyKeyRequired: 'request.idempotency_key_required',
  imageNotStaged: 'image.not_staged',
  imageNotPatched: 'image.not_patched',
  imageSourceMismatch: 'image.source_mismatch',
  esxiConflict: 'install.esxi_conflict',
  jobNotFound: 'job.not_found',
  busy: 'device.busy',
  unavailable: 'device.unavailable',
  collectorNotAlive: 'collector.not_alive',
  collectorHosted: 'collector.hosted',
} as const;
