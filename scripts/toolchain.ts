/** Paths of the external tools (Temporal, schemathesis), found (or built) by the same shell scripts `npm run setup` runs. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

function ensure(script: string): string {
  try {
    return execFileSync('bash', [join(__dirname, script)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch {
    throw new Error(`scripts/${script} could not provide the tool (see the messages above); run 'npm run setup' first`);
  }
}

/** The `temporal` CLI (dev server). */
export const temporalCliPath = (): string => ensure('ensure-temporal-cli.sh');

/** Launcher of the Java time-skipping test server: `launcher <port> [--enable-time-skipping]`. */
export const testServerLauncherPath = (): string => ensure('ensure-test-server.sh');

/** The `st` CLI of schemathesis (PyPI, SCHEMATHESIS_VERSION), in a venv in the tools cache (`npm run setup` installs it). */
export const schemathesisPath = (): string => ensure('ensure-schemathesis.sh');

/** The folder of `temporal-server`, `temporal-sql-tool` and `temporal-ui-server` (the cluster profile). */
export const temporalServerBinDir = (): string => ensure('ensure-temporal-server.sh');
