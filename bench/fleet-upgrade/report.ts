/** What one fleet-upgrade run measured, and how it is printed: per run, then one summary table. */
import type { HistoryFacts, Largest } from '../lib/history-stats';
import { count, kib, mib, table } from '../lib/report';
import type { StackName } from '../lib/temporal';
import type { WorkerReport } from '../lib/worker-process';

/** Temporal's defaults: hard limits (the workflow is terminated) and warnings. */
const HISTORY_EVENTS_LIMIT = 51_200;
const HISTORY_EVENTS_WARN = 10_240;
const PAYLOAD_LIMIT = 2 * 1024 * 1024;
const PAYLOAD_WARN = 512 * 1024;

export interface LargestHistory {
  events: number;
  workflowId: string;
  type: string;
  bytes?: number | undefined;
}

/** One task's work, from its history; `completed: false`: no task had completed. */
export type TaskWork = Pick<HistoryFacts, 'events' | 'activities' | 'localActivities' | 'workflowTasks'> & {
  completed: boolean;
};

export interface RunFigures {
  /** What happened: `completed <status>`, or why it did not. */
  outcome: string;
  tasks: number;
  finished: number;
  successful: number;
  wallSeconds: number;
  tasksPerSecond: number;
  /** The root workflow's own history (events). */
  rootEvents: number;
  largestHistory: LargestHistory;
  workflows: number;
  largestPayload: Largest;
  inputBytes: number;
  resultBytes: number;
  /** Events in every workflow of the run (those of running tasks partly estimated: totalEventsEstimated). */
  totalEvents: number;
  totalEventsEstimated?: boolean;
  /** CPU seconds by process during the run (2 cores: at most twice the wall time). */
  cpu: string;
  /** The largest completed task's work (the baseline's first child's). */
  perTask?: TaskWork;
  worker: WorkerReport;
}

export interface SizeFigures {
  stack: StackName;
  size: number;
  eligible: number;
  ineligible: string;
  inventorySeconds: number;
  createSeconds: number;
  orchestrator: RunFigures;
  baseline?: RunFigures;
  baselineError?: string;
}

const eventLimits = (events: number): string =>
  events > HISTORY_EVENTS_LIMIT
    ? ' OVER THE 51,200 LIMIT'
    : events > HISTORY_EVENTS_WARN
      ? ' (over the 10,240 warning)'
      : '';
const payloadLimits = (bytes: number): string =>
  bytes > PAYLOAD_LIMIT ? ' OVER THE 2 MiB LIMIT' : bytes > PAYLOAD_WARN ? ' (over the 512 KiB warning)' : '';

/** For a run stopped early: how long the whole fleet would take at the rate seen so far. */
function unfinishedGuess(r: RunFigures, eventsPerSecond: number): string | undefined {
  if (r.finished >= r.tasks || !r.perTask?.completed || eventsPerSecond <= 0) return undefined;
  // Each task's own history, and the root's share, as it grew per finished task so far.
  const needed = Math.round(r.tasks * r.perTask.events + (r.rootEvents * r.tasks) / Math.max(1, r.finished));
  const minutes = (needed / eventsPerSecond / 60).toFixed(0);
  return (
    `    unfinished: the ${count(r.tasks)} tasks take ≈${count(needed)} events (${r.perTask.events} each, and the root's); ` +
    `at the ${eventsPerSecond.toFixed(0)} events/s seen so far that is ≈${minutes} minutes in all (a rough guess)`
  );
}

export function printRun(size: number, name: string, r: RunFigures): void {
  const eventsPerSecond = r.totalEvents / r.wallSeconds;
  const largest = r.largestHistory;
  const lines = [
    `[${count(size)}] ${name}: ${r.outcome}`,
    `    ${count(r.finished)} of ${count(r.tasks)} tasks finished (${count(r.successful)} successful) in ${r.wallSeconds.toFixed(1)}s: ` +
      `${r.tasksPerSecond.toFixed(1)} tasks/s`,
    `    ${r.totalEventsEstimated ? '≈' : ''}${count(r.totalEvents)} history events in all (${eventsPerSecond.toFixed(0)} events/s); ` +
      `CPU during the run: ${r.cpu}`,
    unfinishedGuess(r, eventsPerSecond),
    `    histories: root workflow ${count(r.rootEvents)} events; largest ${count(largest.events)} events` +
      `${largest.bytes ? ` (${kib(largest.bytes)})` : ''} in ${largest.type} ${largest.workflowId}${eventLimits(largest.events)}; ` +
      `${count(r.workflows)} workflows`,
    `    payloads: largest ${kib(r.largestPayload.bytes)} (${r.largestPayload.where})${payloadLimits(r.largestPayload.bytes)}; ` +
      `root input ${kib(r.inputBytes)}, result ${kib(r.resultBytes)}`,
    r.perTask
      ? `    one ${r.perTask.completed ? 'completed' : 'unfinished'} task: ${r.perTask.events} events, ${r.perTask.activities} activities, ` +
        `${r.perTask.localActivities} local activities, ${r.perTask.workflowTasks} workflow tasks`
      : undefined,
    `    worker process: peak RSS ${mib(r.worker.peakRssBytes)} during the run (${mib(r.worker.startRssBytes)} when it began; ` +
      `high-water mark ${mib(r.worker.hwmBytes)} with start-up and bundling), main-thread heap peak ${mib(r.worker.peakHeapBytes)}`,
    `    worker warnings: ${r.worker.warnings}`,
  ];
  for (const line of lines) if (line !== undefined) console.log(line);
}

const SUMMARY_COLUMNS = [
  { title: 'appliances', width: 10 },
  { title: 'run', width: 22 },
  { title: 'wall s', width: 9 },
  { title: 'tasks/s', width: 9 },
  { title: 'events/s', width: 10 },
  { title: 'root events', width: 13 },
  { title: 'max events', width: 12 },
  { title: 'max payload', width: 13 },
  { title: 'worker peak', width: 13 },
  { title: 'ratio', width: 8 },
  { title: 'outcome', width: 0, left: true },
];

function summaryRow(s: SizeFigures, run: 'orchestrator' | 'baseline', r: RunFigures | undefined): string[] {
  const name = `${run} ${s.stack}`;
  if (!r) return [count(s.eligible), name, '', '', '', '', '', '', '', '', s.baselineError ?? 'not run'];
  const baselineRate = s.baseline?.tasksPerSecond ?? 0;
  const ratio =
    run === 'orchestrator' && baselineRate > 0 ? (s.orchestrator.tasksPerSecond / baselineRate).toFixed(3) : '';
  return [
    count(s.eligible),
    name,
    r.wallSeconds.toFixed(1),
    r.tasksPerSecond.toFixed(1),
    (r.totalEvents / r.wallSeconds).toFixed(0),
    count(r.rootEvents),
    count(r.largestHistory.events),
    kib(r.largestPayload.bytes),
    mib(r.worker.peakRssBytes),
    ratio,
    r.outcome,
  ];
}

export function printSummary(all: SizeFigures[], product: string, target: string): void {
  console.log(
    `\nfleet upgrade: one upgrade operation (${product} to ${target}, two images each, reboot) per fleet size, real worker in its own ` +
      'process, on each stack (dev: Temporal dev server, SQLite store; cluster: Temporal server with 8 history shards and the store on ' +
      'PostgreSQL); baseline: one parent, one child per appliance at once, one no-op activity each',
  );
  const rows = all.flatMap((s) => [
    summaryRow(s, 'orchestrator', s.orchestrator),
    summaryRow(s, 'baseline', s.baseline),
  ]);
  for (const line of table(SUMMARY_COLUMNS, rows, 10)) console.log(line);
  console.log(
    'ratio: orchestrator tasks/s ÷ baseline tasks/s. Limits: 51,200 events and 2 MiB per payload (warnings at 10,240 events, 512 KiB).',
  );
}
