/** Pieces every page uses: polling, the progress bar, status badges, the pager, notices, action buttons. */
import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Action } from './actions';
import { ApiProblem, request, type Credentials } from './api';
import type { TaskStatus } from './types';

/** How often a page reads the API again (live updates without reloading). */
export const POLL_MS = 1500;

export interface Polled<T> {
  data?: T;
  problem?: ApiProblem;
  /** Read again now (after an action). */
  refresh: () => void;
}

/**
 * Reads `load` now and every `everyMs` while the page shows it (`everyMs` 0: once), restarting
 * when `key` changes. A 401 signs out (the key was revoked or has expired).
 */
export function usePoll<T>(
  load: () => Promise<T>,
  key: string,
  everyMs: number,
  onUnauthorized: () => void,
): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [problem, setProblem] = useState<ApiProblem | undefined>(undefined);
  const [round, setRound] = useState(0);
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      try {
        const value = await latest.current();
        if (stopped) return;
        setData(value);
        setProblem(undefined);
      } catch (err) {
        if (stopped) return;
        const answered = err instanceof ApiProblem ? err : new ApiProblem(0, 'ERROR', String(err));
        if (answered.status === 401) return onUnauthorized();
        setProblem(answered);
      }
      if (!stopped && everyMs > 0) timer = setTimeout(() => void tick(), everyMs);
    };
    void tick();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [key, everyMs, round]);
  const refresh = useCallback(() => setRound((r) => r + 1), []);
  return { data, problem, refresh };
}

const SEGMENTS: TaskStatus[] = ['successful', 'failed', 'cancelled', 'running'];

/** Finished tasks of all: successful, failed, cancelled and running as coloured parts. */
export function ProgressBar({ counts, total }: { counts: Partial<Record<TaskStatus, number>>; total: number }) {
  const finished = (counts.successful ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0);
  const percent = total ? Math.floor((finished / total) * 100) : 0;
  return html`<div
    class="progress"
    role="progressbar"
    aria-valuemin="0"
    aria-valuemax=${total}
    aria-valuenow=${finished}
    title=${SEGMENTS.map((s) => `${s} ${counts[s] ?? 0}`).join(', ')}
  >
    <div class="bar">
      ${SEGMENTS.map((s) => html`<span class=${`part ${s}`} style=${{ width: `${total ? ((counts[s] ?? 0) / total) * 100 : 0}%` }}></span>`)}
    </div>
    <span class="progress-text">${finished}/${total} (${percent}%)</span>
  </div>`;
}

export function StatusBadge({ status, paused }: { status: string; paused?: boolean }) {
  return html`<span class=${`badge ${status}`} data-status=${status}>${status.replace('_', ' ')}</span
    >${paused ? html` <span class="badge paused" data-paused="true">paused</span>` : null}`;
}

export function Pager({
  offset,
  limit,
  total,
  onOffset,
}: {
  offset: number;
  limit: number;
  total: number;
  onOffset: (offset: number) => void;
}) {
  const last = Math.max(0, Math.floor((total - 1) / limit) * limit);
  const shown = total === 0 ? '0' : `${offset + 1}–${Math.min(total, offset + limit)}`;
  return html`<nav class="pager" aria-label="pages">
    <button type="button" data-page="first" disabled=${offset === 0} onClick=${() => onOffset(0)}>« First</button>
    <button
      type="button"
      data-page="previous"
      disabled=${offset === 0}
      onClick=${() => onOffset(Math.max(0, offset - limit))}
    >
      ‹ Previous
    </button>
    <span class="pager-text">${shown} of ${total.toLocaleString('en')}</span>
    <button
      type="button"
      data-page="next"
      disabled=${offset + limit >= total}
      onClick=${() => onOffset(offset + limit)}
    >
      Next ›
    </button>
    <button type="button" data-page="last" disabled=${offset >= last} onClick=${() => onOffset(last)}>Last »</button>
  </nav>`;
}

export interface NoticeText {
  kind: 'done' | 'refused';
  text: string;
}

/** What the last action did: done, or refused with the API's status, code and words. */
export function Notice({ notice, onClose }: { notice?: NoticeText; onClose: () => void }) {
  if (!notice) return null;
  return html`<div
    class=${`notice ${notice.kind}`}
    role=${notice.kind === 'refused' ? 'alert' : 'status'}
    data-notice=${notice.kind}
  >
    <span>${notice.text}</span> <button type="button" class="link" onClick=${onClose} aria-label="dismiss">×</button>
  </div>`;
}

export const problemText = (problem: ApiProblem): string =>
  problem.status ? `${problem.status} ${problem.code}: ${problem.message}` : problem.message;

/** The offered actions of a target as buttons; each posts, then tells the page what came of it. */
export function ActionButtons<T>({
  actions,
  target,
  credentials,
  onResult,
}: {
  actions: Action<T>[];
  target: T;
  credentials: Credentials;
  onResult: (notice: NoticeText) => void;
}) {
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const run = async (action: Action<T>): Promise<void> => {
    if (action.confirm && !window.confirm(action.confirm(target))) return;
    setBusy(action.id);
    try {
      await request(credentials, 'POST', action.path(target));
      onResult({ kind: 'done', text: action.done(target) });
    } catch (err) {
      const problem = err instanceof ApiProblem ? err : new ApiProblem(0, 'ERROR', String(err));
      onResult({ kind: 'refused', text: `${action.label} refused — ${problemText(problem)}` });
    } finally {
      setBusy(undefined);
    }
  };
  return html`<span class="actions"
    >${actions
      .filter((a) => a.offered(target))
      .map(
        (a) =>
          html`<button
            type="button"
            class=${a.danger ? 'danger' : ''}
            data-action=${a.id}
            disabled=${busy !== undefined}
            onClick=${() => void run(a)}
          >
            ${a.label}
          </button>`,
      )}</span
  >`;
}

export const formatTime = (iso: string): string => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');
};

export const formatSeconds = (seconds: number): string =>
  new Date(seconds * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');
