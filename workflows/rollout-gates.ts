/**
 * Rollout safety in an operation workflow (domain/rollout.ts): between waves, the success
 * threshold and the approval an operator gives or refuses; while tasks run, what a stalled
 * progress does. Each holds the rollout by the operation's own means: a pause (resume to go on)
 * or a stop (tasks not started end `cancelled` with the reason), and says why in the log.
 */
import { condition, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { formatDuration, secondsToMs } from '../domain/operation';
import {
  belowSuccessThreshold,
  needsApproval,
  onApprovalTimeout,
  onBelowThreshold,
  onProgressDeadline,
  waveOutcome,
  type RolloutHold,
  type RolloutPolicy,
} from '../domain/rollout';
import type { OperationStatus } from '../domain/scc';
import { SA } from '../domain/search-attributes';
import { logLine, storeWrites } from './task-lifecycle';
import { decideApprovalUpdate, type ApplianceTaskOutcome, type ApprovalDecision, type ApprovalInfo } from './types';

export interface RolloutGatesContext {
  operationId: string;
  policy: RolloutPolicy;
  status: () => OperationStatus;
  tasks: ReadonlyMap<string, ApplianceTaskOutcome>;
  /** The rollout's stop (TaskRunner.stop): running tasks finish, no new one starts. */
  stop: (reason: string) => Promise<void>;
  stopped: () => boolean;
  /** The operation's pause, with the reason for its log. */
  pause: (reason: string) => Promise<void>;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The search attribute FleetRolloutHold: why the rollout holds now. */
export function showHold(hold: RolloutHold): void {
  upsertSearchAttributes([{ key: SA.rolloutHold, value: hold }]);
}

export class RolloutGates {
  approval: ApprovalInfo | undefined;
  private decision: ApprovalDecision | undefined;

  constructor(private readonly ctx: RolloutGatesContext) {
    setHandler(decideApprovalUpdate, (decision) => this.decide(decision), {
      validator: (_decision) => {
        if (this.approval?.state !== 'awaiting')
          throw new Error(`operation ${ctx.operationId} is not awaiting approval`);
      },
    });
  }

  /** After wave `wave` of `waves` (another follows): the success threshold, then the approval. */
  async afterWave(wave: number, waves: number, serials: readonly string[]): Promise<void> {
    await this.checkSuccessThreshold(wave, serials);
    if (!this.ctx.stopped() && needsApproval(wave, waves, this.ctx.policy)) await this.awaitApproval(wave);
  }

  /** Tasks run and none finished within the progress deadline: pause or abort, by policy. */
  async onStalled(reason: string): Promise<void> {
    if (this.ctx.stopped()) return;
    if (onProgressDeadline(this.ctx.policy) === 'abort') await this.ctx.stop(`rollout aborted: ${reason}`);
    else await this.ctx.pause(reason);
  }

  private async checkSuccessThreshold(wave: number, serials: readonly string[]): Promise<void> {
    const outcome = waveOutcome(serials.map((serial) => this.ctx.tasks.get(serial)?.status ?? 'scheduled'));
    const reason = belowSuccessThreshold(wave, outcome, this.ctx.policy);
    if (!reason) return;
    if (onBelowThreshold(this.ctx.policy) === 'abort') await this.ctx.stop(`rollout aborted: ${reason}`);
    else await this.ctx.pause(reason);
  }

  /** Waits, visibly, for an approve or reject, or for the timeout to act. */
  private async awaitApproval(wave: number): Promise<void> {
    const timeoutSeconds = this.ctx.policy.approval?.timeout_seconds;
    const since = nowSeconds();
    this.decision = undefined;
    await this.record(
      {
        state: 'awaiting',
        after_wave: wave,
        since,
        ...(timeoutSeconds !== undefined ? { timeout_time: since + timeoutSeconds } : {}),
      },
      `awaiting approval after wave ${wave}${timeoutSeconds !== undefined ? ` (within ${formatDuration(secondsToMs(timeoutSeconds))}, then ${onApprovalTimeout(this.ctx.policy)})` : ''}: approve or reject to go on`,
    );
    const waiting = () => this.decision !== undefined || this.ctx.stopped();
    const answered =
      timeoutSeconds === undefined
        ? (await condition(waiting), true)
        : await condition(waiting, secondsToMs(timeoutSeconds));
    // Set by the update handler while this waited (TypeScript keeps the narrowing above).
    const decision = this.decision as ApprovalDecision | undefined;
    if (decision) {
      const decided = {
        ...this.approval!,
        state: decision.approve ? ('approved' as const) : ('rejected' as const),
        decided_by: decision.username,
        decided_time: nowSeconds(),
      };
      await this.record(
        decided,
        decision.approve
          ? `approved by ${decision.username}: wave ${wave + 1} starts`
          : `rejected by ${decision.username} after wave ${wave}`,
        decision.approve ? 'info' : 'warning',
      );
      if (!decision.approve) await this.ctx.stop(`rollout rejected by ${decision.username} after wave ${wave}`);
      return;
    }
    // Stopped otherwise while it waited: the stop has said why.
    if (answered) return;
    const limit = formatDuration(secondsToMs(timeoutSeconds!));
    if (onApprovalTimeout(this.ctx.policy) === 'continue') {
      await this.record(
        { ...this.approval!, state: 'timed_out' },
        `no approval or reject within ${limit} after wave ${wave}: the rollout continues (on_timeout: continue)`,
        'warning',
      );
      return;
    }
    await this.record(
      { ...this.approval!, state: 'timed_out' },
      `no approval or reject within ${limit} after wave ${wave}`,
      'warning',
    );
    await this.ctx.stop(`rollout aborted: no approval within ${limit} after wave ${wave}`);
  }

  /** The update's handler: answers once the decision is recorded. */
  private async decide(decision: ApprovalDecision): Promise<ApprovalInfo> {
    this.decision = decision;
    await condition(() => this.approval?.state !== 'awaiting');
    return this.approval!;
  }

  private async record(approval: ApprovalInfo, message: string, severity: 'info' | 'warning' = 'info'): Promise<void> {
    this.approval = approval;
    showHold(approval.state === 'awaiting' ? 'awaiting_approval' : 'none');
    await storeWrites.recordOperationStatus({
      operationId: this.ctx.operationId,
      status: this.ctx.status(),
      approval,
      log: logLine(message, severity),
    });
  }
}
