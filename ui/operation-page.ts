/**
 * One operation: what it is, its progress and counts by status and stage, the actions on it, its
 * log, and its appliance tasks a page at a time (filtered by status, stage and part of a serial
 * on the API, so 10,000 appliances read and draw one page), each with its own log on demand.
 */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { OPERATION_ACTIONS, TASK_ACTIONS } from './actions';
import { request, type Credentials } from './api';
import {
  ActionButtons,
  formatSeconds,
  formatTime,
  Notice,
  Pager,
  POLL_MS,
  problemText,
  ProgressBar,
  StatusBadge,
  usePoll,
  type NoticeText,
} from './components';
import { wavesText } from './operations-page';
import {
  isFinished,
  TASK_STATUSES,
  type Kind,
  type KindedOperation,
  type LogEntry,
  type Operation,
  type Task,
  type TaskPage,
} from './types';

const PAGE_SIZES = [25, 100, 500];

interface PageProps {
  kind: Kind;
  id: string;
  credentials: Credentials;
  onUnauthorized: () => void;
}

function Log({ entries }: { entries: LogEntry[] }) {
  if (!entries.length) return html`<p class="muted">No log lines yet.</p>`;
  return html`<ol class="log">
    ${entries.map((e) => html`<li class=${`severity-${e.severity}`}><time>${formatSeconds(e.timestamp)}</time> <span class="severity">${e.severity}</span> ${e.log_entry}</li>`)}
  </ol>`;
}

/** One task's log, read again while its task runs. */
function TaskLog({ kind, id, task, credentials, onUnauthorized }: PageProps & { task: Task }) {
  const log = usePoll(
    () => request<{ log: LogEntry[] }>(credentials, 'GET', `/operations/${kind}/${id}/appliances/${task.serial}/log`),
    `${task.serial}/${task.status}`,
    isFinished(task.status) ? 0 : POLL_MS,
    onUnauthorized,
  );
  if (log.problem) return html`<div class="notice refused" role="alert">${problemText(log.problem)}</div>`;
  return log.data ? html`<${Log} entries=${log.data.log} />` : html`<p class="muted">Loading…</p>`;
}

function Counts({
  title,
  counts,
  chosen,
  onChoose,
  name,
}: {
  title: string;
  counts: Record<string, number>;
  chosen: string;
  onChoose: (value: string) => void;
  name: string;
}) {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  return html`<div class="counts" data-counts=${name}>
    <span class="counts-title">${title}</span>
    ${entries.map(([value, n]) => html`<button type="button" class=${`chip ${value}${chosen === value ? ' chosen' : ''}`} data-count=${value} onClick=${() => onChoose(chosen === value ? '' : value)}>${value.replace('_', ' ')} <b>${n}</b></button>`)}
  </div>`;
}

function Facts({ op }: { op: KindedOperation }) {
  const facts: [string, string][] = [
    ['Kind', op.kind],
    ['Product', op.product_code ?? '—'],
    ['Target version', op.target_version?.version_id ?? '—'],
    ['Created by', op.username],
    ['Created', formatTime(op.create_time)],
    ['Waves', wavesText(op)],
    ['Appliances', op.appliances.length.toLocaleString('en')],
    ['Comment', op.comment ?? ''],
    ...(op.stop_reason ? ([['Stopped', op.stop_reason]] as [string, string][]) : []),
  ];
  return html`<dl class="facts">
    ${facts.map(
      ([k, v]) =>
        html`<div>
          <dt>${k}</dt>
          <dd>${v}</dd>
        </div>`,
    )}
  </dl>`;
}

/** Where the rollout's gates stand and its retry links (README "Rollout safety"), a line each. */
function rolloutNotes(op: KindedOperation): string[] {
  const approval = op.approval;
  return [
    ...(approval?.state === 'awaiting' && !isFinished(op.status)
      ? [
          `Awaiting approval after wave ${approval.after_wave}${approval.timeout_time ? ` (until ${new Date(approval.timeout_time * 1000).toISOString()})` : ''}`,
        ]
      : []),
    ...(approval && approval.state !== 'awaiting'
      ? [
          `Approval after wave ${approval.after_wave}: ${approval.state}${approval.decided_by ? ` by ${approval.decided_by}` : ''}`,
        ]
      : []),
    ...(op.paused && op.pause_reason ? [`Paused: ${op.pause_reason}`] : []),
    ...(op.retry_of ? [`Retry of operation ${op.retry_of}`] : []),
    ...(op.retried_by ? [`Retried by operation ${op.retried_by}`] : []),
  ];
}

export function OperationPage(props: PageProps) {
  const { kind, id, credentials, onUnauthorized } = props;
  const [status, setStatus] = useState('');
  const [stage, setStage] = useState('');
  const [serial, setSerial] = useState('');
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState(100);
  const [openLogs, setOpenLogs] = useState<Set<string>>(new Set());
  const [showLog, setShowLog] = useState(false);
  const [notice, setNotice] = useState<NoticeText | undefined>(undefined);

  const base = `/operations/${kind}/${id}`;
  const operation = usePoll(() => request<Operation>(credentials, 'GET', base), base, POLL_MS, onUnauthorized);
  const serialInvalid = serial !== '' && !/^[0-9A-Za-z]{1,13}$/.test(serial);
  const query = new URLSearchParams({
    offset: String(offset),
    limit: String(limit),
    ...(status ? { status } : {}),
    ...(stage ? { stage } : {}),
    ...(serial && !serialInvalid ? { serial } : {}),
  }).toString();
  const tasks = usePoll(
    () => request<TaskPage>(credentials, 'GET', `${base}/appliances?${query}`),
    query,
    POLL_MS,
    onUnauthorized,
  );
  const log = usePoll(
    () => request<{ log: LogEntry[] }>(credentials, 'GET', `${base}/log`),
    `${base}/log/${showLog}`,
    showLog ? POLL_MS : 0,
    onUnauthorized,
  );

  const filter = (set: (value: string) => void) => (value: string) => {
    set(value);
    setOffset(0);
  };
  const acted = (result: NoticeText): void => {
    setNotice(result);
    operation.refresh();
    tasks.refresh();
  };
  const toggleLog = (serialOfTask: string): void => {
    const next = new Set(openLogs);
    if (!next.delete(serialOfTask)) next.add(serialOfTask);
    setOpenLogs(next);
  };

  if (operation.problem && !operation.data)
    return html`<section>
      <p><a href="#/">‹ Operations</a></p>
      <div class="notice refused" role="alert">${problemText(operation.problem)}</div>
    </section>`;
  if (!operation.data) return html`<section><p class="muted">Loading…</p></section>`;
  const op: KindedOperation = { ...operation.data, kind };
  const page = tasks.data;

  return html`<section class="operation" data-operation=${op.id}>
    <p><a href="#/">‹ Operations</a></p>
    <h2>${kind} operation ${op.id} <${StatusBadge} status=${op.status} paused=${op.paused} /></h2>
    <${Facts} op=${op} />
    ${page ? html`<${ProgressBar} counts=${page.status_counts} total=${Object.values(page.status_counts).reduce((a, b) => a + (b ?? 0), 0)} />` : null}
    ${rolloutNotes(op).map((note) => html`<p class="rollout-note" data-note>${note}</p>`)}
    <div class="toolbar">
      <${ActionButtons} actions=${OPERATION_ACTIONS} target=${op} credentials=${credentials} onResult=${acted} />
    </div>
    <${Notice} notice=${notice} onClose=${() => setNotice(undefined)} />
    ${
      page
        ? html`<${Counts}
              title="Status"
              name="status"
              counts=${page.status_counts}
              chosen=${status}
              onChoose=${filter(setStatus)}
            />
            <${Counts}
              title="Stage"
              name="stage"
              counts=${page.stage_counts}
              chosen=${stage}
              onChoose=${filter(setStage)}
            />`
        : null
    }

    <details
      class="operation-log"
      open=${showLog}
      onToggle=${(e: Event) => setShowLog((e.currentTarget as HTMLDetailsElement).open)}
    >
      <summary>Operation log</summary>
      ${showLog && log.data ? html`<${Log} entries=${log.data.log} />` : null}
    </details>

    <h3>Appliances</h3>
    <div class="filters">
      <label
        >Status
        <select
          name="task-status"
          value=${status}
          onChange=${(e: Event) => filter(setStatus)((e.target as HTMLSelectElement).value)}
        >
          <option value="">all</option>
          ${TASK_STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label
      >
      <label
        >Stage
        <select
          name="task-stage"
          value=${stage}
          onChange=${(e: Event) => filter(setStage)((e.target as HTMLSelectElement).value)}
        >
          <option value="">all</option>
          ${Object.keys(page?.stage_counts ?? {})
            .sort()
            .map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label
      >
      <label
        >Serial
        <input
          name="serial"
          type="search"
          placeholder="part of a serial"
          maxlength="13"
          autocomplete="off"
          value=${serial}
          onInput=${(e: Event) => filter(setSerial)((e.target as HTMLInputElement).value.trim())}
      /></label>
      <label
        >Rows
        <select
          name="limit"
          value=${String(limit)}
          onChange=${(e: Event) => filter((v) => setLimit(Number(v)))((e.target as HTMLSelectElement).value)}
        >
          ${PAGE_SIZES.map((n) => html`<option value=${String(n)}>${n}</option>`)}
        </select></label
      >
    </div>
    ${serialInvalid ? html`<div class="notice refused" role="alert">A serial has only letters and digits.</div>` : tasks.problem ? html`<div class="notice refused" role="alert">${problemText(tasks.problem)}</div>` : null}
    ${
      page
        ? html` <${Pager} offset=${offset} limit=${limit} total=${page.total} onOffset=${setOffset} />
            <table class="tasks">
              <thead>
                <tr>
                  <th>Serial</th>
                  <th>Hostname</th>
                  <th>Status</th>
                  <th>Stage</th>
                  <th>Current version</th>
                  <th>Message</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                ${page.tasks.map(
                  (task) =>
                    html` <tr key=${task.serial} data-serial=${task.serial} data-task-status=${task.status}>
                        <td class="mono">${task.serial}</td>
                        <td>${task.hostname ?? ''}</td>
                        <td><${StatusBadge} status=${task.status} /></td>
                        <td data-stage=${task.stage}>${task.stage}</td>
                        <td class="mono">${(task.running_version ?? task.current_version)?.version_id ?? '—'}</td>
                        <td class="message">${task.message ?? ''}</td>
                        <td class="nowrap">
                          <button
                            type="button"
                            data-action="log"
                            aria-expanded=${openLogs.has(task.serial)}
                            onClick=${() => toggleLog(task.serial)}
                          >
                            Log
                          </button>
                          <${ActionButtons}
                            actions=${TASK_ACTIONS}
                            target=${{ operation: op, task }}
                            credentials=${credentials}
                            onResult=${acted}
                          />
                        </td>
                      </tr>
                      ${
                        openLogs.has(task.serial)
                          ? html`<tr key=${`${task.serial}-log`} class="task-log" data-log-of=${task.serial}>
                              <td colspan="7"><${TaskLog} ...${props} task=${task} /></td>
                            </tr>`
                          : null
                      }`,
                )}
              </tbody>
            </table>
            ${page.tasks.length === 0 ? html`<p class="muted" data-empty="tasks">No appliance matches.</p>` : null}`
        : html`<p class="muted">Loading…</p>`
    }
  </section>`;
}
