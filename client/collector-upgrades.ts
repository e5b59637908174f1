/**
 * Sumo collector upgrade tasks through the Temporal client and the store: the available builds
 * (targets), and creating a task with the seed's rules. Shared by the REST API (`/api/v1`) and
 * the fleet CLI.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { DeviceClient } from '../activities/device-client';
import { UPGRADE_TASK_STATUS, type UpgradeErrorCode } from '../domain/sumo';
import { compareCollectorVersions, VersionFormatError } from '../domain/version';
import type { CollectorUpgradeTask, FleetStore } from '../store/fleet-store';
import type { CollectorUpgradeTaskInput } from '../workflows/collector-upgrade';
import { workflowName, type Workflows } from './workflows';

/** Store setting holding the available collector builds: a JSON array of version strings. */
export const COLLECTOR_TARGETS_SETTING = 'collector_targets';

/**
 * The builds offered when the setting is absent: those the simulated collectors know
 * (`COLLECTOR_BUILDS` in simulator/fleet.ts), oldest first.
 */
export const DEFAULT_COLLECTOR_TARGETS: readonly string[] = [
  '19.115-37',
  '19.152-1',
  '19.182-25',
  '19.216-22',
  '20.1-2749',
];

/** Each task's workflow (one per task, so the Web UI finds it by the task id). */
export const collectorUpgradeWorkflowId = (taskId: number | string): string => `collector-upgrade-${taskId}`;

export interface CollectorTarget {
  version: string;
  latest: boolean;
}

/** A request the seed refuses with 400 and this code (its error table). Nothing was created. */
export class CollectorUpgradeError extends Error {
  constructor(
    readonly code: UpgradeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CollectorUpgradeError';
  }
}

/** Sorted oldest → newest, duplicates dropped; every entry must be a collector build (`19.115-37`). */
export function normalizeTargets(versions: readonly unknown[]): string[] {
  if (versions.length === 0) throw new Error('the collector targets list is empty');
  for (const v of versions) {
    if (typeof v !== 'string') throw new Error(`collector target ${JSON.stringify(v)} is not a string`);
    compareCollectorVersions(v, v); // throws VersionFormatError naming a bad one
  }
  return [...new Set(versions as string[])].sort(compareCollectorVersions);
}

/** The available builds, oldest first, exactly one (the newest) `latest`. */
export async function collectorTargets(store: FleetStore): Promise<CollectorTarget[]> {
  const raw = await store.getSetting(COLLECTOR_TARGETS_SETTING);
  let versions: string[] = [...DEFAULT_COLLECTOR_TARGETS];
  if (raw !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new Error(`store setting ${COLLECTOR_TARGETS_SETTING} is not JSON`);
    }
    if (!Array.isArray(parsed))
      throw new Error(`store setting ${COLLECTOR_TARGETS_SETTING} must be a JSON array of versions`);
    versions = normalizeTargets(parsed);
  }
  return versions.map((version, i) => ({ version, latest: i === versions.length - 1 }));
}

/** Replaces the available builds (validated first). Returns them as stored. */
export async function setCollectorTargets(store: FleetStore, versions: readonly string[]): Promise<string[]> {
  let normalized: string[];
  try {
    normalized = normalizeTargets(versions);
  } catch (err) {
    if (err instanceof VersionFormatError) throw new Error(`${err.message}; a collector build looks like 19.115-37`);
    throw err;
  }
  await store.setSetting(COLLECTOR_TARGETS_SETTING, JSON.stringify(normalized));
  return normalized;
}

export interface CreateCollectorUpgradeOptions {
  taskQueue: string;
  /** Extension: the task's time limit (default 30 minutes, the seed's). */
  timeoutMs?: number;
  nowMs?: number;
}

/** The build a request asks for (absent: the latest), refused in the seed's terms when the collector cannot take it. */
async function targetBuild(store: FleetStore, request: { collectorId: number; toVersion?: string }): Promise<string> {
  const { collectorId } = request;
  const collector = await store.getCollector(collectorId);
  if (!collector) throw new CollectorUpgradeError('collector.invalid', `collector ${collectorId} does not exist`);
  if (collector.collectorType !== 'Installable')
    throw new CollectorUpgradeError(
      'collector.type.invalid',
      `collector ${collectorId} is not an Installed Collector (it is ${collector.collectorType})`,
    );
  if (!collector.alive)
    throw new CollectorUpgradeError('collector.not.alive', `collector ${collectorId} is not running`);
  const targets = await collectorTargets(store);
  const toVersion = request.toVersion ?? targets.find((t) => t.latest)!.version;
  if (!targets.some((t) => t.version === toVersion)) {
    throw new CollectorUpgradeError(
      'collector.version.invalid',
      `${toVersion} is not an available collector build (${targets.map((t) => t.version).join(', ')})`,
    );
  }
  if (collector.collectorVersion === toVersion)
    throw new CollectorUpgradeError('collector.version.invalid', `collector ${collectorId} already runs ${toVersion}`);
  return toVersion;
}

/** Starts the task's workflow; a task whose workflow cannot start is failed, so it does not keep its collector "in upgrading". */
async function startCollectorUpgradeWorkflow(
  client: Client,
  store: FleetStore,
  input: CollectorUpgradeTaskInput,
  taskQueue: string,
): Promise<void> {
  const workflowId = collectorUpgradeWorkflowId(input.taskId);
  try {
    await client.workflow.start<Workflows['collectorUpgradeTask']>(workflowName('collectorUpgradeTask'), {
      taskQueue,
      workflowId,
      args: [input],
      memo: { collectorId: input.collectorId, toVersion: input.toVersion },
    });
  } catch (err) {
    const reason =
      err instanceof WorkflowExecutionAlreadyStartedError
        ? `workflow ${workflowId} already exists`
        : (err as Error).message;
    await store.updateCollectorUpgradeTask(input.taskId, {
      status: UPGRADE_TASK_STATUS.failed,
      message: `the upgrade task could not be started: ${reason}`,
    });
    throw err;
  }
}

/**
 * Checks a request against the seed's rules, in the order of its error table, records the task
 * (status 0, not started) and starts its workflow. `toVersion` absent means the latest build; a downgrade (an
 * older build) is allowed, the collector's current build is not (nothing would change).
 */
export async function createCollectorUpgrade(
  client: Client,
  store: FleetStore,
  request: { collectorId: number; toVersion?: string },
  options: CreateCollectorUpgradeOptions,
): Promise<CollectorUpgradeTask> {
  const { collectorId } = request;
  const toVersion = await targetBuild(store, request);
  const task = await store.insertCollectorUpgradeTaskUnlessUpgrading({
    collectorId,
    toVersion,
    requestTime: options.nowMs ?? Date.now(),
    status: UPGRADE_TASK_STATUS.notStarted,
    message: '',
  });
  if (!task) {
    const running = await store.unfinishedCollectorUpgradeTask(collectorId);
    throw new CollectorUpgradeError(
      'collector.in.upgrading',
      `collector ${collectorId} is currently being upgraded${running ? ` (task ${running.id} to ${running.toVersion})` : ''}`,
    );
  }
  const input: CollectorUpgradeTaskInput = {
    taskId: task.id,
    collectorId,
    toVersion,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
  await startCollectorUpgradeWorkflow(client, store, input, options.taskQueue);
  return task;
}

/**
 * Reads every collector the device API serves into the store (new ones added, known ones
 * updated: version, alive, last seen). The appliance inventory refresh does not read collectors.
 */
export async function syncCollectors(
  devices: DeviceClient,
  store: FleetStore,
): Promise<{ collectors: number; alive: number }> {
  let alive = 0;
  const ids = await devices.listCollectorIds();
  for (const id of ids) {
    const info = await devices.collector(id);
    await store.upsertCollector({ ...(await store.getCollector(id)), ...info });
    if (info.alive) alive++;
  }
  return { collectors: ids.length, alive };
}
