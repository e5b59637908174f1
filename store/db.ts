/**
 * One query layer, two backends. SQL is written once with `$1…$n` placeholders in the subset both
 * SQLite and PostgreSQL understand (TEXT, BIGINT, INTEGER 0/1 for booleans, ON CONFLICT, RETURNING).
 *   sqlite:<path>          embedded default: one file, WAL, shared safely by several processes
 *   postgres://…           production
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';

/** A failure of the store, the same on both backends. */
export class StoreError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** An insert that would repeat a primary or unique key: the record exists already. */
export class DuplicateKeyError extends StoreError {
  constructor(message: string) {
    super(message, 'duplicate_key');
    this.name = 'DuplicateKeyError';
  }
}

/** Backend errors become StoreError, so callers see one vocabulary whatever the backend. */
function translate(err: unknown): StoreError {
  const { code, message } = err as { code?: unknown; message?: string };
  const text = message ?? String(err);
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') return new DuplicateKeyError(text);
  return new StoreError(text, typeof code === 'string' ? code : 'unknown');
}

async function translated<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof StoreError ? err : translate(err);
  }
}
export type Row = Record<string, unknown>;

export interface Db {
  readonly dialect: Dialect;
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs `fn` in one transaction: all of it lands, or none of it. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Serializes access to the single SQLite connection, so a transaction never interleaves with other statements. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** `$n` placeholders become positional `?`, with the values in order of appearance (a `$n` may repeat). */
function toSqlite(sql: string, params: readonly unknown[]): [string, unknown[]] {
  const values: unknown[] = [];
  const text = sql.replace(/\$(\d+)/g, (_match, n: string) => {
    const value = params[Number(n) - 1];
    values.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return '?';
  });
  return [text, values];
}

class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  private readonly lock = new Mutex();

  constructor(private readonly conn: BetterSqlite3.Database) {}

  private queryNow<T extends Row>(sql: string, params: readonly unknown[]): T[] {
    const [text, values] = toSqlite(sql, params);
    return this.conn.prepare(text).all(...values) as T[];
  }
  private executeNow(sql: string, params: readonly unknown[]): number {
    const [text, values] = toSqlite(sql, params);
    return this.conn.prepare(text).run(...values).changes;
  }

  query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.lock.run(() => translated(() => this.queryNow<T>(sql, params)));
  }
  execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.lock.run(() => translated(() => this.executeNow(sql, params)));
  }
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock.
      this.conn.exec('BEGIN IMMEDIATE');
      const tx: Db = {
        dialect: 'sqlite',
        query: <R extends Row>(sql: string, params: readonly unknown[] = []) => translated(() => this.queryNow<R>(sql, params)),
        execute: (sql: string, params: readonly unknown[] = []) => translated(() => this.executeNow(sql, params)),
        transaction: (inner) => inner(tx),
        close: async () => undefined,
      };
      try {
        const result = await fn(tx);
        this.conn.exec('COMMIT');
        return result;
      } catch (err) {
        this.conn.exec('ROLLBACK');
        throw err;
      }
    });
  }
  async close(): Promise<void> {
    await this.lock.run(async () => this.conn.close());
  }
}

// BIGINT columns hold epoch milliseconds and ids, all far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  constructor(private readonly runner: pg.Pool | pg.PoolClient) {}

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return translated(async () => (await this.runner.query(sql, params as unknown[])).rows as T[]);
  }
  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return translated(async () => (await this.runner.query(sql, params as unknown[])).rowCount ?? 0);
  }
  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (!(this.runner instanceof pg.Pool)) return fn(this);
    const client = await this.runner.connect();
    // A connection lost between the transaction's queries fails the next one (and the pool drops
    // the client at release); unheard, the client's 'error' event would end the process.
    let lost: Error | undefined;
    const onLost = (err: Error): void => void (lost = err);
    client.on('error', onLost);
    try {
      await client.query('BEGIN');
      const result = await fn(new PostgresDb(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.removeListener('error', onLost);
      client.release(lost);
    }
  }
  async close(): Promise<void> {
    if (this.runner instanceof pg.Pool) await this.runner.end();
  }
}

/** Opens `sqlite:<path>` (`sqlite::memory:` for a private in-memory database) or `postgres://…`. */
export function openDb(url: string): Db {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle connection the server closed (a restart, a failover) is dropped by the pool and a new
    // one opened on the next query; unheard, its 'error' event would end the process.
    pool.on('error', () => undefined);
    return new PostgresDb(pool);
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const conn = new BetterSqlite3(path);
    conn.pragma('journal_mode = WAL');
    conn.pragma('synchronous = NORMAL');
    conn.pragma('busy_timeout = 5000');
    conn.pragma('foreign_keys = ON');
    return new SqliteDb(conn);
  }
  throw new Error(`FLEET_STORE_URL must start with sqlite: or postgres:// (got '${url.replace(/\/\/[^@]*@/, '//***@')}')`);
}
