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

/**
 * Runs `fn` with a teardown that runs after it, and also on Ctrl-C or a kill (then the process
 * exits 130), so the servers and child processes a benchmark started stop whatever happens.
 */
export async function withTeardown(fn: (teardown: Teardown) => Promise<void>): Promise<void> {
  const teardown = new Teardown();
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: tearing down`);
    void teardown.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await fn(teardown);
  } finally {
    await teardown.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
