/**
 * A PostgreSQL server from Debian's packages (`apt-get install postgresql`) as a plain process in a
 * data folder: no system service. initdb on first use, then `postgres` on a loopback port. As root it
 * runs as the `postgres` user (PostgreSQL refuses to run as root), spawned with that uid directly,
 * so signals reach PostgreSQL itself. Used by the cluster profile (scripts/cluster.ts) and the tests
 * (test/helpers/postgres.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';

export interface PostgresProcess {
  /** `postgres://<user>@127.0.0.1:<port>/postgres` (trust authentication on loopback). */
  url: string;
  port: number;
  proc: ChildProcess;
  /** Fast shutdown (SIGINT: clients disconnected, a clean checkpoint); resolves once it has exited. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Holds the cluster (`<dir>/data`) and its socket; created if missing, reused if initialised. */
  dir: string;
  port: number;
  /** The superuser initdb creates (default `fleet`). */
  user?: string;
  /** Test servers trade durability for speed (fsync off). */
  durable?: boolean;
  /** Each line PostgreSQL writes (its log); default: kept for the error message only. */
  onLine?: (line: string) => void;
}

export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
}

/** Why PostgreSQL cannot start here, or undefined when it can. */
export function postgresUnavailableReason(): string | undefined {
  return postgresBinDir()
    ? undefined
    : 'PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)';
}

/** As root: the postgres user's ids, for spawn and chown. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Answers once a connection succeeds; throws if the process exits first or after `timeoutMs`. */
export async function waitForPostgres(
  url: string,
  proc: ChildProcess,
  why: () => string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline)
        throw new Error(`PostgreSQL did not start: ${why()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function startPostgresProcess(options: PostgresOptions): Promise<PostgresProcess> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresUnavailableReason());
  const { dir, port, user = 'fleet', durable = true } = options;
  const owner = runAs();
  mkdirSync(dir, { recursive: true });
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
  if (!existsSync(join(data, 'PG_VERSION'))) {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', data, '-A', 'trust', '-U', user, '-E', 'UTF8', ...(durable ? [] : ['--no-sync'])],
      { stdio: 'pipe', cwd: dir, ...ids },
    );
  }
  const speed = durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const proc = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=300',
      ...speed,
    ],
    {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      ...ids,
    },
  );
  const tail: string[] = [];
  createInterface({ input: proc.stderr }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    options.onLine?.(line);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `postgres://${user}@127.0.0.1:${port}/postgres`;
  try {
    await waitForPostgres(url, proc, () => tail.join('\n'));
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    port,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      await exited;
    },
  };
}

/** A database of that name on the server, created if missing; answers its URL. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return serverUrl.replace(/\/[^/]*$/, `/${name}`);
}
