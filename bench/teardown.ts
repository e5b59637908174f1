/** What the benchmarks that start processes share: cleanups that always run, in reverse order. */
import type { ChildProcess } from 'node:child_process';

/** Cleanups run last-in first-out, each whatever the others do. */
export class Teardown {
  private readonly steps: { name: string; fn: () => Promise<void> | void }[] = [];
  add(name: string, fn: () => Promise<void> | void): void {
    this.steps.push({ name, fn });
  }
  async run(): Promise<void> {
    while (this.steps.length) {
      const { name, fn } = this.steps.pop()!;
      try {
        await fn();
      } catch (err) {
        console.error(`teardown: ${name}: ${(err as Error).message}`);
      }
    }
  }
}

/** SIGTERM, resolved once the process has exited (at once if it already has). */
export function stopProcess(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}
