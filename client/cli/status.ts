/**
 * `fleet status OPERATION_ID [--watch]`: a progress bar (and one per wave), counts by status and
 * stage, elapsed time and an estimate of the rest, the failed appliances with their reasons. On a
 * terminal `--watch` redraws the frame in place (log-update); into a pipe it prints a line per
 * change. It ends when the operation has finished.
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { OPERATION_KINDS, type OperationKind } from '../../domain/operation';
import type { FleetStore } from '../../store/fleet-store';
import { readStoredView } from '../operation-progress';
import { connectClient, getOperation, isTerminal, OperationNotFoundError, type OperationView } from '../operations';
import { changeLines, renderFrame, summarize, type Summary } from './progress';
import { config, leaf, parseCount, parseKind, UsageError, withStore } from './common';

interface StatusOptions {
  kind?: string;
  watch: boolean;
  all: boolean;
  failures: string;
  interval: string;
  json: boolean;
}

/**
 * The operation as the store has it; one started but not yet recorded by a worker as Temporal has
 * it (search attributes and memo: no worker needed).
 */
async function snapshot(
  store: FleetStore,
  client: () => Promise<Client>,
  id: string,
  kind: OperationKind | undefined,
): Promise<OperationView> {
  const stored = await readStoredView(store, id, kind);
  if (stored) return stored;
  for (const k of kind ? [kind] : OPERATION_KINDS) {
    try {
      return await getOperation(await client(), id, k);
    } catch (err) {
      if (!(err instanceof OperationNotFoundError)) throw err;
    }
  }
  throw new OperationNotFoundError(id);
}

/** `--json`: the operation, every task, and the summary. */
const jsonView = (snap: OperationView, summary: Summary) => ({
  operation: snap.operation,
  tasks: snap.tasks.map(({ startedMs: _s, ...t }) => t),
  progress: summary,
});

export function registerStatus(program: Command): void {
  leaf(
    program,
    'status',
    "an operation's progress: counts by status and stage, waves, elapsed time and an estimate, the failed appliances and why",
  )
    .argument('<OPERATION_ID>')
    .option('--kind <KIND>', `the operation's kind (${OPERATION_KINDS.join(', ')}); default: the kind that has this id`)
    .option(
      '--watch',
      'follow it until it has finished: redrawn in place on a terminal, a line per change otherwise',
      false,
    )
    .option('--failures <N>', 'failed appliances listed', '10')
    .option('--all', 'every failed appliance, and a row for every appliance', false)
    .option('--interval <SECONDS>', 'how often --watch reads the store', '1')
    .action(async (id: string, o: StatusOptions) => {
      const kind = parseKind(o.kind);
      const failures = parseCount('--failures', o.failures, 0);
      const intervalMs = Number(o.interval) * 1000;
      if (!(intervalMs >= 50)) throw new UsageError('--interval must be at least 0.05 seconds');
      const cfg = config();
      let client: Promise<Client> | undefined;
      const lazyClient = () => (client ??= connectClient(cfg));
      await withStore(cfg, async (store) => {
        const terminal = o.watch && !o.json && process.stdout.isTTY === true;
        const frame = terminal ? (await import('log-update')).default : undefined;
        let before: Summary | undefined;
        let lastJson = '';
        for (;;) {
          const snap = await snapshot(store, lazyClient, id, kind);
          const nowMs = Date.now();
          const summary = summarize(snap, nowMs);
          const frameOptions = { failures, all: o.all, tasks: snap.tasks };
          if (o.json) {
            // A line per change: the time alone is none.
            const text = JSON.stringify(jsonView(snap, summary));
            const changed = JSON.stringify([snap.operation, snap.tasks]);
            if (changed !== lastJson) console.log(text);
            lastJson = changed;
          } else if (frame) frame(renderFrame(summary, { ...frameOptions, columns: process.stdout.columns }));
          else if (o.watch) for (const line of changeLines(before, summary, nowMs, frameOptions)) console.log(line);
          else console.log(renderFrame(summary, frameOptions));
          before = summary;
          if (!o.watch || isTerminal(snap.operation.status)) break;
          await new Promise((r) => setTimeout(r, intervalMs));
        }
        frame?.done();
      });
    });
}
