/** Pure rules about operations and their appliance tasks (deterministic: safe inside workflows). */
import type { ApplianceTaskStatus, OperationStatus, UpgradeOperation } from './scc';

/**
 * The operation's final status from its tasks' final statuses, as the seed defines it:
 * all successful → successful; some successful → partially_successful; none successful →
 * cancelled when every task was cancelled, otherwise failed.
 */
export function finalOperationStatus(taskStatuses: readonly ApplianceTaskStatus[]): OperationStatus {
  if (taskStatuses.length === 0) return 'failed';
  const successful = taskStatuses.filter((s) => s === 'successful').length;
  if (successful === taskStatuses.length) return 'successful';
  if (successful > 0) return 'partially_successful';
  if (taskStatuses.every((s) => s === 'cancelled')) return 'cancelled';
  return 'failed';
}

/** Workflow ids readable in the Temporal Web UI. */
export const operationWorkflowId = (kind: OperationKind, operationId: string): string => `${kind}-${operationId}`;
export const applianceTaskWorkflowId = (kind: OperationKind, operationId: string, serial: string): string =>
  `${kind}-${operationId}-${serial}`;

export const OPERATION_KINDS = ['upgrade', 'downgrade', 'reboot'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** Seconds-since-epoch (the seed's timestamp) to epoch milliseconds, and back. */
export const secondsToMs = (seconds: number): number => Math.round(seconds * 1000);
export const msToSeconds = (ms: number): number => Math.floor(ms / 1000);

/** `30 minutes`, `1 minute`, `45 seconds`: for messages operators read. */
export function formatDuration(ms: number): string {
  const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return plural(ms / 3_600_000, 'hour');
  if (ms >= 60_000 && ms % 60_000 === 0) return plural(ms / 60_000, 'minute');
  return plural(Math.round(ms / 1000), 'second');
}

/** The fields every appliance task of an upgrade starts with (the seed's appliance_upgrade_task). */
export function upgradeTaskFields(operation: UpgradeOperation): Record<string, unknown> {
  const { target_version, reboot, upgrade_time, reboot_time, esxi_force } = operation;
  return { target_version, reboot, ...(upgrade_time ? { upgrade_time } : {}), ...(reboot_time ? { reboot_time } : {}), ...(esxi_force !== undefined ? { esxi_force } : {}) };
}

/** The first line of an upgrade operation's log. */
export const upgradeCreatedMessage = (operation: UpgradeOperation): string =>
  `upgrade of ${operation.appliances.length} appliance(s) to ${operation.target_version.version_id} created by ${operation.username}`;
