/**
 * bench/fleet-worker.ts as a child process, driven over its JSON-lines protocol (described there):
 * `ready` once it polls, `reset` restarts its memory peaks, `stop` drains it and answers its
 * memory. Its stderr is filtered: the SDK's overload warnings are counted, not printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import type { MemoryReport } from './proc-sampling';

const root = join(__dirname, '..', '..');

export interface WorkerReport extends MemoryReport {
  /** The SDK's warnings of an overloaded worker, counted (they would flood the output). */
  warnings: string;
}

/**
 * Counts the SDK core's overload warnings on a worker's stderr instead of printing each:
 * TMPRL1104 (a workflow task took over 5 s; by workflow type, with the highest attempt number: an
 * attempt above 1 means the task timed out and was retried) and "Task not found when completing"
 * (a workflow task finished after the server had timed it out). Other lines pass through.
 */
export class WarningTally {
  private readonly slow = new Map<string, { n: number; maxAttempt: number; maxMs: number }>();
  private lateCompletions = 0;
  constructor(private readonly label: string) {}
  line(raw: string): void {
    const line = stripVTControlCharacters(raw);
    if (line.includes('TMPRL1104')) {
      const type = /workflow_type=(\S+)/.exec(line)?.[1] ?? '?';
      const entry = this.slow.get(type) ?? { n: 0, maxAttempt: 0, maxMs: 0 };
      entry.n++;
      entry.maxAttempt = Math.max(entry.maxAttempt, Number(/ attempt=(\d+)/.exec(line)?.[1] ?? 0));
      entry.maxMs = Math.max(entry.maxMs, Number(/workflow_task_duration=(\d+)/.exec(line)?.[1] ?? 0));
      this.slow.set(type, entry);
    } else if (line.includes('Task not found when completing')) this.lateCompletions++;
    else if (line.trim()) console.error(`${this.label}: ${line}`);
  }
  summary(): string {
    const slow = [...this.slow.entries()].map(
      ([type, e]) => `${e.n} ${type} (longest ${(e.maxMs / 1000).toFixed(1)}s, attempt up to ${e.maxAttempt})`,
    );
    const parts = [
      ...(slow.length ? [`workflow tasks over 5 s: ${slow.join(', ')}`] : []),
      ...(this.lateCompletions
        ? [`${this.lateCompletions} workflow tasks completed after the server had timed them out`]
        : []),
    ];
    return parts.join('; ') || 'none';
  }
}

export interface WorkerProcess {
  /** The peak restarts from the RSS now. */
  reset(): Promise<void>;
  /** Shuts the worker down (draining) and answers its memory. */
  stop(): Promise<WorkerReport>;
  /** Stops it however it can (teardown). */
  kill(): Promise<void>;
}

type Message = Record<string, number>;

/** Waits for the worker's protocol events by name; every wait fails once the process has exited. */
function protocol(proc: ChildProcess, label: string, tally: WarningTally) {
  const waiting = new Map<string, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  let exited: Error | undefined;
  proc.once('exit', (code, signal) => {
    exited = new Error(`${label} exited with ${code ?? signal}`);
    for (const w of waiting.values()) w.reject(exited);
    waiting.clear();
  });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let message: Record<string, unknown> | undefined;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // The SDK core logs as text on stdout.
    }
    const event = message?.fleetWorker;
    if (typeof event !== 'string') return tally.line(line);
    waiting.get(event)?.resolve(message as Message);
    waiting.delete(event);
  });
  return (event: string, timeoutMs: number): Promise<Message> =>
    exited
      ? Promise.reject(exited)
      : new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`${label}: no '${event}' within ${timeoutMs / 1000}s`)),
            timeoutMs,
          );
          waiting.set(event, {
            resolve: (m) => (clearTimeout(timer), resolve(m)),
            reject: (e) => (clearTimeout(timer), reject(e)),
          });
        });
}

/** bench/fleet-worker.ts as a process (`args`: e.g. `--baseline`); resolves once its worker polls. */
export async function startWorker(
  label: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<WorkerProcess> {
  const proc: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'bench', 'fleet-worker.ts'), ...args],
    {
      cwd: root,
      env: { ...process.env, FLEET_LOG_LEVEL: 'warn', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const tally = new WarningTally(label);
  createInterface({ input: proc.stderr! }).on('line', (line) => tally.line(line));
  const exit = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const next = protocol(proc, label, tally);
  const kill = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(timer);
  };
  try {
    await next('ready', 180_000);
  } catch (err) {
    await kill();
    throw err;
  }
  return {
    async reset() {
      const reset = next('reset', 10_000);
      proc.stdin!.write('reset\n');
      await reset;
    },
    async stop() {
      const stopped = next('stopped', 60_000);
      proc.stdin!.end('stop\n');
      try {
        const m = await stopped;
        return {
          peakRssBytes: m.peakRssBytes ?? 0,
          startRssBytes: m.startRssBytes ?? 0,
          peakHeapBytes: m.peakHeapBytes ?? 0,
          hwmBytes: m.hwmBytes ?? 0,
          rssBytes: m.rssBytes ?? 0,
          warnings: tally.summary(),
        };
      } finally {
        await kill();
      }
    },
    kill,
  };
}
