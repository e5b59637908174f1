/** What the device-time workflow tests share: upgrade operations over in-memory devices, started on a test's queue. */
import type { upgradeOperation } from '../../workflows';
import type { OperationInput } from '../../workflows/types';
import type { TimeSkippingFixture } from './time-skipping';
import { upgradeOperationDoc } from './operation-doc';

export const HOUR_MS = 3_600_000;

export const serials = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `S12${prefix}${String(i).padStart(8, '0')}`);

/** An SH upgrade over `appliances`, with a 12-hour task time limit (the device jobs take hours). */
export function operationInput(appliances: string[]): OperationInput {
  return { operation: upgradeOperationDoc(appliances, { reboot: false }), taskTimeoutMs: 12 * HOUR_MS };
}

export const startUpgrade = (wf: TimeSkippingFixture, taskQueue: string, input: OperationInput) =>
  wf.env.client.workflow.start<typeof upgradeOperation>('upgradeOperation', {
    taskQueue,
    workflowId: `upgrade-${input.operation.id}`,
    args: [input],
  });

/** Polls a condition of the store until it holds (the workflows get there without time passing; the deadline only ends a hung test). */
export async function until(check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
