/** What the dashboard reads, as the API answers it (domain/scc.ts has the schemas). */
export const KINDS = ['upgrade', 'downgrade', 'reboot'] as const;
export type Kind = (typeof KINDS)[number];

export const OPERATION_STATUSES = [
  'scheduled',
  'running',
  'successful',
  'partially_successful',
  'failed',
  'cancelled',
] as const;
export const TASK_STATUSES = ['scheduled', 'running', 'successful', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface Version {
  version_id: string;
}

export interface Operation {
  id: string;
  status: string;
  username: string;
  create_time: string;
  product_code?: string;
  target_version?: Version;
  comment?: string;
  appliances: string[];
  paused?: boolean;
  pause_reason?: string;
  stop_reason?: string;
  /** Rollout safety (README "Rollout safety"): the approval a rollout waits for after a wave, retry links. */
  approval?: {
    state: 'awaiting' | 'approved' | 'rejected' | 'timed_out';
    after_wave: number;
    timeout_time?: number;
    decided_by?: string;
  };
  retry_of?: string;
  retried_by?: string;
  rollout?: { waves?: (number | string)[]; max_in_flight?: number };
  reboot?: boolean;
}

/** An operation with the kind it was listed under. */
export type KindedOperation = Operation & { kind: Kind };

export interface Task {
  operation_id: string;
  serial: string;
  status: TaskStatus;
  stage: string;
  hostname?: string;
  message?: string;
  current_version?: Version;
  running_version?: Version;
}

export interface TaskPage {
  total: number;
  offset: number;
  limit: number;
  status_counts: Partial<Record<TaskStatus, number>>;
  stage_counts: Record<string, number>;
  tasks: Task[];
}

export interface LogEntry {
  timestamp: number;
  severity: string;
  log_entry: string;
}

export const isFinished = (status: string): boolean => !['scheduled', 'running'].includes(status);
