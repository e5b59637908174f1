/**
 * The activities of the baselines (bench/baseline-workflows.ts): a no-op, and one short call that
 * starts a device job on the device API (docs/device-api.md) with an idempotency key and answers
 * how long the device expects it to take. Nothing else: no store, no reads, no heartbeats.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { BaselineJobStart, BaselineJobStarted } from '../baseline-workflows';

const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

export function createBaselineActivities(deviceApiUrl: string) {
  const base = deviceApiUrl.replace(/\/+$/, '');
  return {
    async baselineNoop(): Promise<void> {
      return undefined;
    },
    /** Busy devices, 5xx and network errors are thrown for Temporal to retry; other refusals are final. */
    async baselineStartJob(input: BaselineJobStart): Promise<BaselineJobStarted> {
      const response = await fetch(`${base}/devices/${encodeURIComponent(input.serial)}/${input.kind}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IDEMPOTENCY_KEY_HEADER]: input.idempotencyKey },
        body: JSON.stringify(input.body),
        signal: AbortSignal.timeout(10_000),
      });
      const answer = (await response.json().catch(() => ({}))) as {
        id?: string;
        expected_seconds?: number;
        error?: { code?: string; message?: string };
      };
      if (!response.ok) {
        const what = `${input.kind} on ${input.serial}: HTTP ${response.status} ${answer.error?.code ?? ''} ${answer.error?.message ?? ''}`;
        const retryable = response.status >= 500 || response.status === 429 || answer.error?.code === 'device.busy';
        throw retryable ? new Error(what) : ApplicationFailure.nonRetryable(what, 'DeviceRefused');
      }
      if (typeof answer.id !== 'string')
        throw ApplicationFailure.nonRetryable(`${input.kind} on ${input.serial}: no job id in the answer`, 'BadAnswer');
      return { jobId: answer.id, expectedSeconds: answer.expected_seconds ?? 0 };
    },
  };
}
