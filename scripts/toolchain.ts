/** Paths of the external Temporal tools, found (or built) by the same shell scripts `npm install` runs. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

function ensure(script: string): string {
  try {
    return execFileSync('bash', [join(__dirname, script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  } catch {
    throw new Error(`scripts/${script} could not provide the tool (see the messages above); run 'npm install' first`);
  }
}

/** The `temporal` CLI (dev server). */
export const temporalCliPath = (): string => ensure('ensure-temporal-cli.sh');

/** Launcher of the Java time-skipping test server: `launcher <port> [--enable-time-skipping]`. */
export const testServerLauncherPath = (): string => ensure('ensure-test-server.sh');
