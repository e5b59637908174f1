/** `fleet operations [--status S] [--kind K]`: the operations in the store. */
import type { Command } from 'commander';
import { OPERATION_KINDS } from '../../domain/operation';
import { OPERATION_STATUSES, type OperationStatus } from '../../domain/scc';
import { listStoredOperations } from '../operation-progress';
import { config, leaf, parseCount, parseKind, print, table, UsageError, withStore } from './common';

export function registerOperations(program: Command): void {
  leaf(
    program,
    'operations',
    'list operations (upgrades, downgrades, reboots), oldest first: status, progress, target, who created them',
  )
    .option('--status <STATUS>', `only this status: ${OPERATION_STATUSES.join(', ')}`)
    .option('--kind <KIND>', `only this kind: ${OPERATION_KINDS.join(', ')}`)
    .option('--limit <N>', 'the newest N', '50')
    .action(async (o: { status?: string; kind?: string; limit: string; json: boolean }) => {
      const kind = parseKind(o.kind);
      if (o.status !== undefined && !(OPERATION_STATUSES as readonly string[]).includes(o.status))
        throw new UsageError(`--status must be one of ${OPERATION_STATUSES.join(', ')}`);
      const limit = parseCount('--limit', o.limit, 1);
      await withStore(config(), async (store) => {
        const listed = await listStoredOperations(store, {
          ...(kind ? { kind } : {}),
          ...(o.status ? { status: o.status as OperationStatus } : {}),
          limit,
        });
        print(o.json, listed, () =>
          table([
            ['ID', 'KIND', 'STATUS', 'PRODUCT', 'TARGET', 'APPLIANCES', 'FINISHED', 'FAILED', 'CREATED', 'BY'],
            ...listed.map(({ kind: k, operation: op, task_counts: c }) => {
              const total = Object.values(c).reduce((n, v) => n + (v ?? 0), 0);
              const finished = total - (c.scheduled ?? 0) - (c.running ?? 0);
              return [
                op.id,
                k,
                `${op.status}${op.paused === true ? ' (paused)' : ''}`,
                op.product_code ?? '-',
                (op.target_version as { version_id?: string } | undefined)?.version_id ?? '-',
                String(total),
                String(finished),
                String(c.failed ?? 0),
                op.create_time.replace(/\.\d{3}Z$/, 'Z'),
                op.username,
              ];
            }),
          ]),
        );
      });
    });
}
