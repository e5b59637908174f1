/**
 * The store's two backends for tests: SQLite files and a real PostgreSQL server. Without
 * PostgreSQL binaries the PostgreSQL half is skipped with the reason printed, except under CI,
 * where it runs (and fails if it cannot start: CI must be able to start it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, postgresUnavailableReason, startPostgres, type PostgresServer } from './postgres';

export interface Backend {
  /** A URL to a new, empty database. */
  freshUrl(): Promise<string>;
  stop(): Promise<void>;
}

let seq = 0;

async function sqliteBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-store-'));
  return {
    freshUrl: async () => `sqlite:${join(dir, `fleet-${++seq}.db`)}`,
    stop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgresBackend(): Promise<Backend> {
  const server: PostgresServer = await startPostgres();
  return { freshUrl: () => createDatabase(server.url, `fleet_${process.pid}_${++seq}`), stop: () => server.stop() };
}

const pgReason = postgresUnavailableReason();
if (pgReason && !process.env.CI) console.warn(`PostgreSQL store tests skipped: ${pgReason}`);

export const BACKENDS: [string, () => Promise<Backend>][] = [['sqlite', sqliteBackend]];
if (!pgReason || process.env.CI) BACKENDS.push(['postgres', postgresBackend]);
