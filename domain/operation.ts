/**
 * Operations and their appliance tasks: the one type of an operation, and pure rules about them
 * (deterministic: safe inside workflows).
 *
 * An operation's types, from the request to what a reader sees (one chain; each type's home):
 *  1. the request: the body an operator sends, validated by the seed's schemas (domain/scc.ts
 *     `upgradeOperationRequest`, `downgradeOperationRequest`, `rebootOperationRequest`);
 *  2. `Operation` (here): the seed's operation object as the service created it from the request
 *     (client/operations.ts `createOperation`, whose answer `Created` adds each appliance's start
 *     instant in local time). The workflow's memo and input hold it; the store keeps it;
 *  3. `OperationInput` (workflows/types.ts): what the operation workflow starts with: the
 *     `Operation`, its start instants, the task time limit and the rollout policy;
 *  4. `OperationState` (workflows/types.ts): the workflow's state query and result: the
 *     `Operation` at its current status, each task's outcome, pause, stop and approval;
 *  5. `OperationRecord` (store/fleet-store.ts): the `Operation` as the store reads it back, with
 *     what the workflow recorded as it ran (status, approval, paused, stop_reason, retried_by);
 *  6. `OperationView` (client/operations.ts): what the CLI and the API show of an operation and
 *     its tasks, read from Temporal (no worker needed) or from the store (client/operation-progress.ts).
 */
import type { ApplianceTaskStatus, OperationStatus, ProductCode, Version } from './scc';

/** An upgrade, downgrade or reboot operation as the seed defines it (the fields the service reads). */
export interface Operation {
  id: string;
  username: string;
  create_time: string;
  status: OperationStatus;
  appliances: string[];
  product_code?: ProductCode;
  target_version?: Version;
  reboot?: boolean;
  esxi_force?: boolean;
  switch_partition?: boolean;
  /** The reboot operation that follows an upgrade with a reboot_time. */
  reboot_id?: number;
  upgrade_id?: string;
  downgrade_id?: string;
  /** Set by the service as the rollout's gates act (domain/scc.ts lists them with the read-only fields). */
  paused?: boolean;
  pause_reason?: string;
  stop_reason?: string;
  retry_of?: string;
  retried_by?: string;
  [property: string]: unknown;
}

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

const STATUS_STEP: Record<OperationStatus, number> = {
  scheduled: 0,
  running: 1,
  successful: 2,
  partially_successful: 2,
  failed: 2,
  cancelled: 2,
};

/** An operation's status only moves forward: scheduled → running → a final status (seed: operation_status). */
export const statusMovesForward = (from: OperationStatus, to: OperationStatus): boolean =>
  STATUS_STEP[to] >= STATUS_STEP[from];

/** Workflow ids readable in the Temporal Web UI. */
export const operationWorkflowId = (kind: OperationKind, operationId: string): string => `${kind}-${operationId}`;
export const applianceTaskWorkflowId = (kind: OperationKind, operationId: string, serial: string): string =>
  `${kind}-${operationId}-${serial}`;
/** The rollback of one appliance's task after the rollout stopped (`rollback: "all"`), beside the task. */
export const applianceRollbackWorkflowId = (kind: OperationKind, operationId: string, serial: string): string =>
  `${applianceTaskWorkflowId(kind, operationId, serial)}-rollback`;

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

/** The field of each kind of operation that says when its tasks start. */
export const OPERATION_TIME_FIELD = {
  upgrade: 'upgrade_time',
  downgrade: 'downgrade_time',
  reboot: 'reboot_time',
} as const satisfies Record<OperationKind, string>;

/** The fields of an `Operation` that its tasks' fields and its first log line are made of. */
type OperationFields = Pick<Operation, 'appliances' | 'username' | 'target_version'> & { [property: string]: unknown };

const copy = (from: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(fields.filter((f) => from[f] !== undefined).map((f) => [f, from[f]]));

/**
 * The fields an appliance task starts with: the seed's appliance_upgrade_task /
 * appliance_downgrade_task / appliance_reboot_task, from their operation's fields. An operation
 * scheduled in local time gives each task the instant it was scheduled for on its appliance
 * (`startAtMs`), as `utc` (seed line 1352: "adjusted for the local time of the device").
 */
export function taskFields(
  kind: OperationKind,
  operation: OperationFields,
  startAtMs?: number,
): Record<string, unknown> {
  const fields = operationTaskFields(kind, operation);
  const timeField = OPERATION_TIME_FIELD[kind];
  const scheduled = operation[timeField] as { datetime: number; time_type: string } | undefined;
  if (scheduled?.time_type === 'local' && startAtMs !== undefined)
    fields[timeField] = { ...scheduled, datetime: startAtMs / 1000, time_type: 'utc' };
  return fields;
}

function operationTaskFields(kind: OperationKind, operation: OperationFields): Record<string, unknown> {
  switch (kind) {
    case 'upgrade':
      return copy(operation, ['target_version', 'reboot', 'upgrade_time', 'reboot_time', 'esxi_force']);
    case 'downgrade':
      return copy(operation, ['target_version', 'reboot', 'downgrade_time', 'reboot_time', 'esxi_force']);
    case 'reboot': {
      // The seed's `deferred`: whether the task is enabled to run; false while a linked upgrade or
      // downgrade has not completed.
      const linked = operation.upgrade_id !== undefined || operation.downgrade_id !== undefined;
      return {
        switch_partition: operation.switch_partition === true,
        ...copy(operation, ['reboot_time']),
        deferred: !linked,
      };
    }
  }
}

/** The first line of an operation's log. */
export function createdMessage(kind: OperationKind, operation: OperationFields): string {
  const target = kind === 'reboot' ? '' : ` to ${operation.target_version?.version_id ?? '?'}`;
  return `${kind} of ${operation.appliances.length} appliance(s)${target} created by ${operation.username}`;
}
