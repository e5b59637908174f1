/** The operations of every kind, newest first: status, kind, product, target, who created it, waves and a progress bar each. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { request, type Credentials } from './api';
import { formatTime, Pager, POLL_MS, problemText, ProgressBar, StatusBadge, usePoll } from './components';
import { isFinished, KINDS, OPERATION_STATUSES, type KindedOperation, type Operation, type TaskPage } from './types';

const PAGE = 25;

async function allOperations(credentials: Credentials): Promise<KindedOperation[]> {
  const lists = await Promise.all(
    KINDS.map(async (kind) =>
      (await request<Operation[]>(credentials, 'GET', `/operations/${kind}`)).map((op) => ({ ...op, kind })),
    ),
  );
  return lists.flat().sort((a, b) => b.create_time.localeCompare(a.create_time) || b.id.localeCompare(a.id));
}

export const wavesText = (op: Operation): string => {
  const waves = op.rollout?.waves;
  const inFlight = op.rollout?.max_in_flight;
  return [waves ? `waves ${waves.join(', ')}` : 'all at once', ...(inFlight ? [`≤ ${inFlight} at once`] : [])].join(
    '; ',
  );
};

/** One operation's counts, read until it has finished (then once more, no longer). */
function Progress({
  op,
  credentials,
  onUnauthorized,
}: {
  op: KindedOperation;
  credentials: Credentials;
  onUnauthorized: () => void;
}) {
  const finished = isFinished(op.status);
  const counts = usePoll(
    () => request<TaskPage>(credentials, 'GET', `/operations/${op.kind}/${op.id}/appliances?limit=0`),
    `${op.kind}/${op.id}/${finished}`,
    finished ? 0 : POLL_MS,
    onUnauthorized,
  );
  if (!counts.data) return html`<span class="muted">…</span>`;
  return html`<${ProgressBar} counts=${counts.data.status_counts} total=${counts.data.total} />`;
}

export function OperationsPage({
  credentials,
  onUnauthorized,
}: {
  credentials: Credentials;
  onUnauthorized: () => void;
}) {
  const [kind, setKind] = useState('');
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const operations = usePoll(() => allOperations(credentials), 'operations', POLL_MS, onUnauthorized);
  const shown = (operations.data ?? []).filter(
    (op) => (!kind || op.kind === kind) && (!status || op.status === status),
  );
  const visible = shown.slice(offset, offset + PAGE);
  const select = (set: (v: string) => void) => (event: Event) => {
    set((event.target as HTMLSelectElement).value);
    setOffset(0);
  };
  return html`<section>
    <h2>Operations</h2>
    <div class="filters">
      <label
        >Kind
        <select name="kind" onChange=${select(setKind)}>
          <option value="">all</option>
          ${KINDS.map((k) => html`<option value=${k}>${k}</option>`)}
        </select></label
      >
      <label
        >Status
        <select name="status" onChange=${select(setStatus)}>
          <option value="">all</option>
          ${OPERATION_STATUSES.map((s) => html`<option value=${s}>${s.replace('_', ' ')}</option>`)}
        </select></label
      >
    </div>
    ${operations.problem ? html`<div class="notice refused" role="alert">${problemText(operations.problem)}</div>` : null}
    ${
      !operations.data
        ? html`<p class="muted">Loading…</p>`
        : shown.length === 0
          ? html`<p class="muted" data-empty="operations">No operations.</p>`
          : html` <table class="operations">
                <thead>
                  <tr>
                    <th>Operation</th>
                    <th>Status</th>
                    <th>Kind</th>
                    <th>Product</th>
                    <th>Target version</th>
                    <th>Created by</th>
                    <th>Created</th>
                    <th>Waves</th>
                    <th>Progress</th>
                  </tr>
                </thead>
                <tbody>
                  ${visible.map(
                    (op) =>
                      html`<tr key=${`${op.kind}/${op.id}`} data-operation=${op.id}>
                        <td><a href=${`#/operations/${op.kind}/${op.id}`}>${op.id}</a></td>
                        <td><${StatusBadge} status=${op.status} paused=${op.paused} /></td>
                        <td>${op.kind}</td>
                        <td>${op.product_code ?? '—'}</td>
                        <td>${op.target_version?.version_id ?? '—'}</td>
                        <td>${op.username}</td>
                        <td class="nowrap">${formatTime(op.create_time)}</td>
                        <td>${wavesText(op)}</td>
                        <td class="progress-cell">
                          <${Progress} op=${op} credentials=${credentials} onUnauthorized=${onUnauthorized} />
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>
              <${Pager} offset=${offset} limit=${PAGE} total=${shown.length} onOffset=${setOffset} />`
    }
  </section>`;
}
