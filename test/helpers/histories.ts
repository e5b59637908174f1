/**
 * Replaying the histories an integration test produced against the current workflow code, and
 * recording some of them as the fixtures test/workflow/replay.test.ts replays.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { SA } from '../../domain/search-attributes';
import { workflowCode } from './workflow-bundle';

/** Replays every workflow the query finds; answers how many replayed, failing on the first that does not. */
export async function replayAll(client: Client, query: string): Promise<number> {
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(
    workflowCode(),
    client.workflow.list({ query }).intoHistories(),
  )) {
    expect([result.workflowId, result.error?.message]).toEqual([result.workflowId, undefined]);
    replayed++;
  }
  return replayed;
}

/**
 * With FLEET_RECORD_HISTORIES=test/fixtures/histories, writes one history per workflow type and
 * final status the query finds into that folder's `name` subfolder (after an intended, versioned
 * workflow change: before the first release, delete the old ones and record anew).
 */
export async function recordHistories(client: Client, query: string, name: string): Promise<void> {
  const target = process.env.FLEET_RECORD_HISTORIES;
  if (!target) return;
  const dir = join(target, name);
  mkdirSync(dir, { recursive: true });
  const kinds = new Map<string, string>();
  for await (const execution of client.workflow.list({ query })) {
    const status =
      execution.typedSearchAttributes.get(SA.taskStatus) ?? execution.typedSearchAttributes.get(SA.operationStatus);
    const key = status ? `${execution.type}-${status}` : execution.type;
    if (!kinds.has(key)) kinds.set(key, execution.workflowId);
  }
  for (const [key, workflowId] of kinds) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    writeFileSync(join(dir, `${key}.history.pb`), temporal.api.history.v1.History.encode(history).finish());
  }
}
