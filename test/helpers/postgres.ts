/**
 * A private PostgreSQL server for the tests (scripts/postgres.ts: Debian's packages, a plain
 * process): initdb into a temp folder, started on a free loopback port without fsync, removed
 * afterwards. As root it runs as the `postgres` user (PostgreSQL refuses to run as root).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { postgresUnavailableReason, startPostgresProcess } from '../../scripts/postgres';
import { freePort } from './servers';

export { postgresUnavailableReason };

export interface PostgresServer {
  url: string;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-pg-'));
  const server = await startPostgresProcess({ dir, port: await freePort(), durable: false });
  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a fresh database on the server, so each test file starts empty. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return serverUrl.replace(/\/[^/]*$/, `/${name}`);
}
