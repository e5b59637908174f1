/** `fleet logs OPERATION_ID [--serial S] [--follow]`: an operation's log and its tasks' logs, from the store. */
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import type { FleetConfig } from '../../domain/config';
import { OPERATION_KINDS, operationWorkflowId, type OperationKind } from '../../domain/operation';
import type { FleetStore } from '../../store/fleet-store';
import { findStoredOperation, readLogEntries, type StoredLogEntry } from '../operation-progress';
import {
  connectClient,
  isTerminal,
  OPERATION_ID_PATTERN,
  OperationNotFoundError,
  TaskNotFoundError,
} from '../operations';
import { config, leaf, parseKind, UsageError, withStore } from './common';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Resolves once the operation has ended and written its last line: its workflow has closed (the
 * last store write comes before that). An operation Temporal no longer holds (retention) or cannot
 * be asked about: once the store says it has finished.
 */
async function ended(
  cfg: FleetConfig,
  store: FleetStore,
  kind: OperationKind,
  id: string,
  pollMs: number,
): Promise<void> {
  try {
    await (await connectClient(cfg)).workflow.getHandle(operationWorkflowId(kind, id)).result();
    return;
  } catch (err) {
    if (err instanceof WorkflowFailedError) return;
  }
  for (;;) {
    const stored = await findStoredOperation(store, id, kind);
    if (stored && isTerminal(stored.operation.status)) return;
    await sleep(pollMs);
  }
}

/** The operation's kind: as stored, else (started, not yet recorded by a worker) as Temporal has it. */
async function operationKind(
  cfg: FleetConfig,
  store: FleetStore,
  id: string,
  kind: OperationKind | undefined,
): Promise<OperationKind> {
  const stored = await findStoredOperation(store, id, kind);
  if (stored) return stored.kind;
  if (!OPERATION_ID_PATTERN.test(id)) throw new OperationNotFoundError(id);
  const client = await connectClient(cfg);
  for (const k of kind ? [kind] : OPERATION_KINDS) {
    try {
      await client.workflow.getHandle(operationWorkflowId(k, id)).describe();
      return k;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  throw new OperationNotFoundError(id);
}

/** One log entry as a line of text: time, severity, (whose,) message. */
function formatLogEntry(e: StoredLogEntry, withSerial: boolean): string {
  const time = new Date(e.entry.timestamp * 1000).toISOString().replace(/\.000Z$/, 'Z');
  return [
    time,
    e.entry.severity.padEnd(7),
    ...(withSerial ? [(e.serial || 'operation').padEnd(14)] : []),
    e.entry.log_entry,
  ].join('  ');
}

export function registerLogs(program: Command): void {
  leaf(
    program,
    'logs',
    "an operation's log and its appliance tasks' logs, in the order written (--json: one object a line)",
  )
    .argument('<OPERATION_ID>')
    .option('--serial <SERIAL>', "only this appliance task's log")
    .option('--kind <KIND>', `the operation's kind (${OPERATION_KINDS.join(', ')}); default: the kind that has this id`)
    .option('--follow', 'keep printing new lines until the operation has finished', false)
    .option('--interval <SECONDS>', 'how often --follow reads the store', '0.5')
    .action(
      async (id: string, o: { serial?: string; kind?: string; follow: boolean; interval: string; json: boolean }) => {
        const kind = parseKind(o.kind);
        const pollMs = Number(o.interval) * 1000;
        if (!(pollMs >= 50)) throw new UsageError('--interval must be at least 0.05 seconds');
        const cfg = config();
        await withStore(cfg, async (store) => {
          const found = await operationKind(cfg, store, id, kind);
          if (
            o.serial !== undefined &&
            (await findStoredOperation(store, id, found)) &&
            !(await store.getTask(id, o.serial))
          )
            throw new TaskNotFoundError(id, o.serial);
          let afterId = 0;
          const drain = async (): Promise<void> => {
            for (;;) {
              const entries = await readLogEntries(store, id, {
                ...(o.serial !== undefined ? { serial: o.serial } : {}),
                afterId,
              });
              for (const e of entries)
                console.log(
                  o.json
                    ? JSON.stringify({ ...e.entry, ...(o.serial === undefined ? { serial: e.serial || null } : {}) })
                    : formatLogEntry(e, o.serial === undefined),
                );
              if (!entries.length) return;
              afterId = entries.at(-1)!.id;
            }
          };
          if (!o.follow) return drain();
          let done = false;
          const end = ended(cfg, store, found, id, pollMs).then(() => {
            done = true;
          });
          for (;;) {
            const last = done;
            await drain();
            if (last) return;
            await Promise.race([sleep(pollMs), end]);
          }
        });
      },
    );
}
