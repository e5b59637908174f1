/** `fleet audit`: the audit trail, oldest first (what `GET /api/fleet/1.0/audit` answers). */
import type { Command } from 'commander';
import { auditView } from '../../api/audit';
import { config, leaf, print, table, UsageError, withStore } from './common';

/** `--since`: seconds since the epoch, or an ISO 8601 time → epoch seconds. */
function parseSince(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms))
    throw new UsageError(`--since: '${value}' is neither seconds since the epoch nor an ISO 8601 time`);
  return ms / 1000;
}

export function registerAudit(program: Command): void {
  leaf(
    program,
    'audit',
    'the audit trail, oldest first: every change made through the API or the CLI, and every refused attempt',
  )
    .option('--since <WHEN>', 'from this time on (inclusive): ISO 8601 or seconds since the epoch')
    .option('--id <ACTOR>', 'only this actor (an access id, or cli:<os user>)')
    .option('--limit <N>', 'at most N entries, 1-10000', '1000')
    .action(async (o: { since?: string; id?: string; limit: string; json: boolean }) => {
      const since = o.since !== undefined ? parseSince(o.since) : undefined;
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new UsageError('--limit must be a whole number from 1 to 10000');
      if (o.id === '') throw new UsageError('--id must name an actor');
      await withStore(config(), async (store) => {
        const entries = (
          await store.listAudit({
            ...(since !== undefined ? { sinceMs: Math.round(since * 1000) } : {}),
            ...(o.id !== undefined ? { actor: o.id } : {}),
            limit,
          })
        ).map(auditView);
        print(o.json, entries, () =>
          table([
            ['TIME', 'ACTOR', 'ACTION', 'OUTCOME', 'CLIENT', 'TARGET', 'DETAILS'],
            ...entries.map((e) => [
              new Date(e.time * 1000).toISOString(),
              e.actor || '-',
              e.action,
              e.outcome,
              e.client,
              e.target,
              Object.keys(e.details).length ? JSON.stringify(e.details) : '',
            ]),
          ]),
        );
      });
    });
}
