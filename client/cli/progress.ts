/**
 * What `fleet status` shows of an operation, as pure functions of a snapshot and the time: the
 * summary (counts by status and stage, waves, elapsed time, an estimate of the rest, the failed
 * appliances), the frame a terminal redraws in place, and the lines a pipe gets, one per change.
 * Never one row per appliance unless asked (`all`): an operation may have 10,000.
 */
import { planWaves } from '../../domain/rollout';
import { safetySummary } from '../../domain/rollout-safety';
import { APPLIANCE_TASK_STATUSES, type ApplianceTaskStatus } from '../../domain/scc';
import type { OperationView, TaskView } from '../operations';

const FINAL: readonly string[] = ['successful', 'partially_successful', 'failed', 'cancelled'];
const isFinished = (status: string): boolean => status !== 'scheduled' && status !== 'running';

export interface WaveSummary {
  /** 1-based. */
  n: number;
  total: number;
  finished: number;
  failed: number;
  running: number;
  state: 'waiting' | 'running' | 'done';
}

export interface FailedTask {
  serial: string;
  message: string;
}

export interface Summary {
  id: string;
  kind: string;
  status: string;
  paused: boolean;
  stop_reason?: string;
  /** `SH to 9.18.0-100`, `reboot (switch partition)`. */
  what: string;
  username: string;
  comment?: string;
  total: number;
  finished: number;
  counts: Record<ApplianceTaskStatus, number>;
  /** Stages of the tasks running now. */
  stages: Record<string, number>;
  /** With a rollout of more than one wave. */
  waves?: WaveSummary[];
  elapsed_ms?: number;
  /** An estimate of the time the rest takes, at the rate so far. */
  remaining_ms?: number;
  /** Every failed task, by serial. */
  failed: FailedTask[];
  /** The rollout-safety policy and where its gates stand (README "Rollout safety"). */
  notes: string[];
}

function describe(snapshot: OperationView): string {
  const op = snapshot.operation;
  const target = op.target_version?.version_id;
  if (target) return `${op.product_code ?? ''} to ${target}${op.reboot ? ', reboot' : ''}`.trim();
  return op.switch_partition ? 'reboot (switch partition)' : 'reboot';
}

function waveSummaries(snapshot: OperationView, bySerial: Map<string, TaskView>): WaveSummary[] | undefined {
  const rollout = snapshot.operation.rollout as { waves?: (number | string)[] } | undefined;
  if (!rollout?.waves) return undefined;
  const waves = planWaves(snapshot.operation.appliances, rollout as Parameters<typeof planWaves>[1]);
  if (waves.length < 2) return undefined;
  return waves.map((serials, i) => {
    const tasks = serials.map((s) => bySerial.get(s));
    const finished = tasks.filter((t) => t && isFinished(t.status)).length;
    const running = tasks.filter((t) => t?.status === 'running').length;
    const failed = tasks.filter((t) => t?.status === 'failed').length;
    const state = finished === serials.length ? 'done' : running > 0 || finished > 0 ? 'running' : 'waiting';
    return { n: i + 1, total: serials.length, finished, failed, running, state };
  });
}

/** What the rollout's safety policy is and where its gates and retry links stand. */
function safetyNotes(operation: OperationView['operation']): string[] {
  const approval = operation.approval as
    { state: string; after_wave: number; timeout_time?: number; decided_by?: string } | undefined;
  const finished = FINAL.includes(operation.status);
  const policy = safetySummary(operation);
  return [
    ...(policy ? [`safety: ${policy}`] : []),
    ...(!finished && approval?.state === 'awaiting'
      ? [
          `rollout: awaiting approval after wave ${approval.after_wave}${approval.timeout_time ? ` (until ${new Date(approval.timeout_time * 1000).toISOString()})` : ''}: fleet approve|reject ${operation.id}`,
        ]
      : []),
    ...(approval && approval.state !== 'awaiting'
      ? [
          `approval after wave ${approval.after_wave}: ${approval.state}${approval.decided_by ? ` by ${approval.decided_by}` : ''}`,
        ]
      : []),
    ...(!finished && operation.paused === true && operation.pause_reason
      ? [`rollout: paused: ${operation.pause_reason}`]
      : []),
    ...(operation.retry_of ? [`retry of operation ${operation.retry_of}`] : []),
    ...(operation.retried_by ? [`retried by operation ${operation.retried_by}`] : []),
  ];
}

export function summarize(snapshot: OperationView, nowMs: number): Summary {
  const { operation } = snapshot;
  const bySerial = new Map(snapshot.tasks.map((t) => [t.serial, t]));
  const counts = Object.fromEntries(APPLIANCE_TASK_STATUSES.map((s) => [s, 0])) as Record<ApplianceTaskStatus, number>;
  const stages: Record<string, number> = {};
  const failed: FailedTask[] = [];
  let firstStart: number | undefined;
  for (const serial of operation.appliances) {
    const task = bySerial.get(serial) ?? { serial, status: 'scheduled' as const, stage: 'waiting' };
    counts[task.status] = (counts[task.status] ?? 0) + 1;
    if (task.status === 'running') stages[task.stage] = (stages[task.stage] ?? 0) + 1;
    if (task.status === 'failed') failed.push({ serial, message: task.message ?? '' });
    if (task.startedMs !== undefined && (firstStart === undefined || task.startedMs < firstStart))
      firstStart = task.startedMs;
  }
  failed.sort((a, b) => a.serial.localeCompare(b.serial));
  const total = operation.appliances.length;
  const finished = total - counts.scheduled - counts.running;
  const done = FINAL.includes(operation.status);
  const start = firstStart ?? (operation.status === 'scheduled' ? undefined : Date.parse(operation.create_time));
  const end = done && snapshot.updatedMs !== undefined ? snapshot.updatedMs : nowMs;
  const elapsed = start !== undefined && Number.isFinite(start) ? Math.max(0, end - start) : undefined;
  const paused = operation.paused === true;
  const remaining =
    !done && !paused && elapsed !== undefined && finished > 0 && finished < total
      ? Math.round((elapsed / finished) * (total - finished))
      : undefined;
  const waves = waveSummaries(snapshot, bySerial);
  return {
    id: operation.id,
    kind: snapshot.kind,
    status: operation.status,
    paused,
    ...(typeof operation.stop_reason === 'string' ? { stop_reason: operation.stop_reason } : {}),
    what: describe(snapshot),
    username: operation.username,
    ...(typeof operation.comment === 'string' && operation.comment ? { comment: operation.comment } : {}),
    total,
    finished,
    counts,
    stages,
    ...(waves ? { waves } : {}),
    ...(elapsed !== undefined ? { elapsed_ms: elapsed } : {}),
    ...(remaining !== undefined ? { remaining_ms: remaining } : {}),
    failed,
    notes: safetyNotes(operation),
  };
}

// Text -------------------------------------------------------------------------------------------

const number = (n: number): string => n.toLocaleString('en-US');

/** `3h04m`, `12m05s`, `42s`. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** `████████░░░░` of `width` cells, `done` of `total` filled. */
export function bar(done: number, total: number, width: number): string {
  const filled = total === 0 ? width : Math.min(width, Math.floor((done / total) * width));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

const percent = (done: number, total: number): string =>
  `${total === 0 ? 100 : Math.floor((done / total) * 100)}%`.padStart(4);

const list = (entries: [string, number][]): string => entries.map(([name, n]) => `${number(n)} ${name}`).join(' · ');

function timing(s: Summary, separator = '  '): string {
  const parts = [];
  if (s.elapsed_ms !== undefined) parts.push(`elapsed ${duration(s.elapsed_ms)}`);
  if (s.remaining_ms !== undefined) parts.push(`about ${duration(s.remaining_ms)} left`);
  else if (!FINAL.includes(s.status) && s.finished === 0 && s.status === 'running')
    parts.push('estimate after the first task finishes');
  return parts.join(separator);
}

function header(s: Summary): string {
  const state = [s.status, ...(s.paused ? ['(paused: no new task starts)'] : [])].join(' ');
  return `${s.kind} operation ${s.id}  ${s.what}  ${state}  by ${s.username}${s.comment ? `  "${s.comment}"` : ''}`;
}

/** At most this many wave rows; the others are summed up. */
const WAVE_ROWS = 5;

function waveLines(waves: WaveSummary[], width: number): string[] {
  const row = (w: WaveSummary) =>
    `  wave ${String(w.n).padEnd(4)}${bar(w.finished, w.total, width)} ${percent(w.finished, w.total)}  ${number(w.finished)}/${number(w.total)}${w.running ? `  running ${number(w.running)}` : ''}${w.failed ? `  failed ${number(w.failed)}` : ''}`;
  if (waves.length <= WAVE_ROWS) return waves.map(row);
  const done = waves.filter((w) => w.state === 'done');
  const active = waves.filter((w) => w.state === 'running');
  const waiting = waves.filter((w) => w.state === 'waiting');
  const span = (ws: WaveSummary[]) => (ws.length === 1 ? `wave ${ws[0]!.n}` : `waves ${ws[0]!.n}–${ws.at(-1)!.n}`);
  const sum = (ws: WaveSummary[], key: 'total' | 'failed') => ws.reduce((n, w) => n + w[key], 0);
  const shownActive = active.slice(0, WAVE_ROWS - 2);
  return [
    ...(done.length
      ? [`  ${span(done)} done (${number(sum(done, 'total'))} appliances, ${number(sum(done, 'failed'))} failed)`]
      : []),
    ...shownActive.map(row),
    ...(active.length > shownActive.length ? [`  ${active.length - shownActive.length} more waves running`] : []),
    ...(waiting.length ? [`  ${span(waiting)} waiting (${number(sum(waiting, 'total'))} appliances)`] : []),
  ];
}

export interface FrameOptions {
  /** Failed appliances listed (default 10). */
  failures?: number;
  /** Every appliance's row, and every failed one. */
  all?: boolean;
  /** The terminal's width: longer lines are cut. */
  columns?: number;
  /** The tasks, for `all`. */
  tasks?: readonly TaskView[];
}

const BAR_WIDTH = 30;

const cut = (line: string, columns: number | undefined): string =>
  columns && line.length > columns ? `${line.slice(0, Math.max(1, columns - 1))}…` : line;

/** The frame a terminal shows (and redraws in place). */
export function renderFrame(s: Summary, options: FrameOptions = {}): string {
  const firstN = options.all ? s.failed.length : (options.failures ?? 10);
  const lines = [
    header(s),
    `${bar(s.finished, s.total, BAR_WIDTH)} ${percent(s.finished, s.total)}  ${number(s.finished)}/${number(s.total)} finished  ${timing(s)}`.trimEnd(),
    `tasks   ${list(APPLIANCE_TASK_STATUSES.map((st) => [st, s.counts[st]]))}`,
    ...(Object.keys(s.stages).length
      ? [`stages  ${list(Object.entries(s.stages).sort(([a], [b]) => a.localeCompare(b)))}`]
      : []),
    ...(s.waves
      ? [
          `waves   ${s.waves.filter((w) => w.state === 'done').length}/${s.waves.length} done`,
          ...waveLines(s.waves, BAR_WIDTH),
        ]
      : []),
    ...(s.stop_reason ? [`stopped ${s.stop_reason}`] : []),
    ...s.notes,
  ];
  if (s.failed.length) {
    const shown = s.failed.slice(0, firstN);
    const more = s.failed.length - shown.length;
    lines.push(
      `failed  ${number(s.failed.length)}${more > 0 ? ` (first ${number(shown.length)}; --all for every one)` : ''}`,
    );
    const width = Math.max(...shown.map((f) => f.serial.length), 6);
    lines.push(...shown.map((f) => `  ${f.serial.padEnd(width)}  ${f.message}`));
  }
  if (options.all && options.tasks) {
    lines.push(
      '',
      `${'SERIAL'.padEnd(16)}${'STATUS'.padEnd(12)}${'STAGE'.padEnd(14)}MESSAGE`,
      ...options.tasks.map(
        (t) => `${t.serial.padEnd(16)}${t.status.padEnd(12)}${t.stage.padEnd(14)}${t.message ?? ''}`,
      ),
    );
  }
  return lines.map((l) => cut(l, options.columns)).join('\n');
}

// Lines, one per change (stdout not a terminal) ---------------------------------------------------

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

function countsLine(s: Summary): string {
  const stages = Object.entries(s.stages).sort(([a], [b]) => a.localeCompare(b));
  return `${percent(s.finished, s.total).trim()} ${number(s.finished)}/${number(s.total)} finished · ${list(APPLIANCE_TASK_STATUSES.map((st) => [st, s.counts[st]]))}${stages.length ? ` | ${list(stages)}` : ''}${timing(s) ? ` · ${timing(s, ' · ')}` : ''}`;
}

/**
 * What changed from `before` to `now`, a line each: the operation's status, pause and stop,
 * waves starting and ending, newly failed appliances (at most `failures` a time unless `all`) and
 * the counts. Nothing when nothing changed (the time alone is no change).
 */
export function changeLines(
  before: Summary | undefined,
  now: Summary,
  nowMs: number,
  options: { failures?: number; all?: boolean } = {},
): string[] {
  const at = clock(nowMs);
  const lines: string[] = [];
  const ended = FINAL.includes(now.status) && before?.status !== now.status;
  if (!before) lines.push(`${at}  ${header(now)}`);
  else if (before.status !== now.status && !ended) lines.push(`${at}  operation ${now.status}`);
  if (before && before.paused !== now.paused)
    lines.push(`${at}  ${now.paused ? 'paused: no new task starts' : 'resumed'}`);
  if (now.stop_reason && now.stop_reason !== before?.stop_reason) lines.push(`${at}  stopped: ${now.stop_reason}`);
  lines.push(...now.notes.filter((note) => !before?.notes.includes(note)).map((note) => `${at}  ${note}`));
  for (const wave of now.waves ?? []) {
    const was = before?.waves?.[wave.n - 1]?.state ?? 'waiting';
    const of = `wave ${wave.n}/${now.waves!.length}`;
    if (was === 'waiting' && wave.state !== 'waiting')
      lines.push(`${at}  ${of} started (${number(wave.total)} appliance${wave.total === 1 ? '' : 's'})`);
    if (was !== 'done' && wave.state === 'done')
      lines.push(`${at}  ${of} done: ${number(wave.total - wave.failed)} ok, ${number(wave.failed)} failed`);
  }
  const known = new Set(before?.failed.map((f) => f.serial));
  const fresh = now.failed.filter((f) => !known.has(f.serial));
  const firstN = options.all ? fresh.length : (options.failures ?? 10);
  lines.push(...fresh.slice(0, firstN).map((f) => `${at}  ${f.serial} failed: ${f.message}`));
  if (fresh.length > firstN)
    lines.push(`${at}  … and ${number(fresh.length - firstN)} more failed (--all for every one)`);
  const counted = (s: Summary) => JSON.stringify([s.counts, s.stages]);
  if (!before || counted(before) !== counted(now)) lines.push(`${at}  ${countsLine(now)}`);
  // Its end comes last, with the time it took.
  if (ended)
    lines.push(
      `${at}  operation ${now.status}${now.elapsed_ms !== undefined ? ` (elapsed ${duration(now.elapsed_ms)})` : ''}`,
    );
  return lines;
}
