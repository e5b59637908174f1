/** What bench/fleet-rollout.ts measures of each run, and how it prints it. */
import type { CounterCheck, SimulatorStats } from './simulator-admin';
import { count, mib, percent, table } from './report';
import type { WorkerReport } from './worker-process';

export interface RunFigures {
  outcome: string;
  tasks: number;
  successful: number;
  wallSeconds: number;
  /** The simulator's stats over the run (reset before it). */
  stats: SimulatorStats;
  /** The activity task queue's approximate backlog, polled every 2 s. */
  backlog: { peak: number; samples: number; failures: number };
  worker: WorkerReport;
  /** Every workflow started on the run's task queue during it, and their history events. */
  history: { workflows: number; events: number };
  /** Requests to the server's frontend (its service_requests counter) during the run, and the busiest operations. */
  rpcs: { total: number; top: string };
  counters: CounterCheck;
  /** CPU seconds by process during the run. */
  cpu: string;
}

export interface SizeFigures {
  /** The stack it ran on (bench/lib/temporal.ts StackName). */
  stack: string;
  size: number;
  ours: RunFigures;
  baseline?: RunFigures;
  baselineError?: string;
}

const MISMATCHES_SHOWN = 10;

export function printRun(size: number, name: string, r: RunFigures, limit: number): void {
  const perSecond = (n: number): string => (n / r.wallSeconds).toFixed(1);
  console.log(`[${count(size)}] ${name}: ${r.outcome}`);
  console.log(
    `    ${count(r.successful)} of ${count(r.tasks)} tasks successful in ${r.wallSeconds.toFixed(1)}s: ${perSecond(r.successful)} tasks/s; CPU during the run: ${r.cpu}`,
  );
  console.log(
    `    device jobs: ${count(r.stats.jobs_started)} started, peak ${count(r.stats.peak_jobs_running)} at once (${percent(r.stats.peak_jobs_running, limit)} of the limit ${count(limit)}); device-API requests ${count(r.stats.requests)} (${perSecond(r.stats.requests)}/s)`,
  );
  console.log(
    `    activity backlog: peak ${count(r.backlog.peak)} (${r.backlog.samples} samples${r.backlog.failures ? `, ${r.backlog.failures} failed` : ''})`,
  );
  console.log(
    `    Temporal RPCs (the server's frontend service_requests): ${count(r.rpcs.total)}, ${perSecond(r.rpcs.total)}/s; busiest: ${r.rpcs.top}`,
  );
  console.log(
    `    histories: ${count(r.history.events)} events in ${count(r.history.workflows)} workflows: ${(r.history.events / Math.max(1, r.tasks)).toFixed(1)} per task, ${perSecond(r.history.events)}/s`,
  );
  console.log(
    `    worker: peak RSS ${mib(r.worker.peakRssBytes)} (${mib(r.worker.startRssBytes)} when the run began); warnings: ${r.worker.warnings}`,
  );
  const c = r.counters;
  console.log(
    `    exactly once: ${count(c.matching)} of ${count(c.checked)} appliances' counters match their plan${c.mismatches.length ? `; ${count(c.mismatches.length)} do not:` : ''}`,
  );
  for (const line of c.mismatches.slice(0, MISMATCHES_SHOWN)) console.log(`      ${line}`);
  if (c.mismatches.length > MISMATCHES_SHOWN)
    console.log(`      … and ${count(c.mismatches.length - MISMATCHES_SHOWN)} more`);
}

const COLUMNS = [
  { title: 'appliances', width: 10 },
  { title: 'run', width: 18 },
  { title: 'wall s', width: 9 },
  { title: '÷ base', width: 8 },
  { title: 'tasks/s', width: 9 },
  { title: 'ok', width: 7 },
  { title: 'peak jobs', width: 11 },
  { title: 'of limit', width: 10 },
  { title: 'backlog', width: 9 },
  { title: 'worker RSS', width: 12 },
  { title: 'ev/task', width: 9 },
  { title: 'ev/s', width: 8 },
  { title: 'RPC/s', width: 8 },
  { title: 'dev req/s', width: 11 },
  { title: 'exactly once', width: 0, left: true },
];

function row(size: number, name: string, r: RunFigures, limit: number, baseline?: RunFigures): string[] {
  const ratio = baseline && baseline.wallSeconds > 0 ? (r.wallSeconds / baseline.wallSeconds).toFixed(2) : '';
  const exactly = r.counters.mismatches.length
    ? `${count(r.counters.mismatches.length)} mismatches`
    : `all ${count(r.counters.checked)} match`;
  return [
    count(size),
    name,
    r.wallSeconds.toFixed(1),
    ratio,
    (r.successful / r.wallSeconds).toFixed(1),
    count(r.successful),
    count(r.stats.peak_jobs_running),
    percent(r.stats.peak_jobs_running, limit),
    count(r.backlog.peak),
    mib(r.worker.peakRssBytes),
    (r.history.events / Math.max(1, r.tasks)).toFixed(1),
    (r.history.events / r.wallSeconds).toFixed(0),
    (r.rpcs.total / r.wallSeconds).toFixed(0),
    (r.stats.requests / r.wallSeconds).toFixed(0),
    exactly,
  ];
}

export function printSummary(all: SizeFigures[], limit: number, target: string): void {
  console.log(
    `\nfleet rollout: six concurrent upgrade operations (one per product code, to ${target}, reboot) with device time, limit ${count(limit)} tasks in flight, real worker in its own process, on each stack (dev: Temporal dev server, SQLite store; cluster: Temporal server with 8 history shards, the store on PostgreSQL);`,
  );
  console.log(
    'baseline: one child per appliance starting each device job of its plan and sleeping its expected time, batches of 500, the same limit',
  );
  const rows: string[][] = [];
  for (const s of all) {
    rows.push(row(s.size, `ours ${s.stack}`, s.ours, limit, s.baseline));
    if (s.baseline) rows.push(row(s.size, `baseline ${s.stack}`, s.baseline, limit));
    else rows.push([count(s.size), `baseline ${s.stack}`, ...Array<string>(12).fill(''), s.baselineError ?? 'not run']);
  }
  for (const line of table(COLUMNS, rows)) console.log(line);
  console.log(
    "÷ base: wall time ÷ the baseline's. peak jobs: device jobs running at once (simulator); backlog: peak approximate activity backlog; ev: history events; RPC/s: the server's frontend requests; dev req/s: device-API requests.",
  );
}
