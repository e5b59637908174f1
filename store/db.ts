/**
 * One query layer, two backends: Kysely's typed queries (schema.ts) over SQLite or PostgreSQL.
 *   sqlite:<path>          embedded default: one file, WAL, shared safely by several processes
 *   postgres://…           production
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  PostgresDriver,
  PostgresIntrospector,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type LogConfig,
  type SqliteDatabase,
} from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

export type Dialect = 'sqlite' | 'postgres';
/** The store's database, or a transaction of it (a Kysely Transaction is a Kysely too). */
export type Db = Kysely<Database>;

/** A failure of the store, the same on both backends. */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
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

const DUPLICATE_KEY = new Set(['23505', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);

/** Backend errors become StoreError, so callers see one vocabulary whatever the backend. */
function translate(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const { code, message } = err as { code?: unknown; message?: string };
  const text = message ?? String(err);
  if (typeof code === 'string' && DUPLICATE_KEY.has(code)) return new DuplicateKeyError(text);
  return new StoreError(text, typeof code === 'string' ? code : 'unknown');
}

const translating = new WeakSet<DatabaseConnection>();

/** Makes every statement on `connection` fail with a StoreError (patched once per connection, as Kysely's logging is). */
function translateErrors(connection: DatabaseConnection): DatabaseConnection {
  if (translating.has(connection)) return connection;
  const execute = connection.executeQuery.bind(connection);
  connection.executeQuery = async <R>(query: CompiledQuery) => {
    try {
      return await execute<R>(query);
    } catch (err) {
      throw translate(err);
    }
  };
  translating.add(connection);
  return connection;
}

class StoreSqliteDriver extends SqliteDriver {
  override async acquireConnection(): Promise<DatabaseConnection> {
    return translateErrors(await super.acquireConnection());
  }
  /** IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock. */
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('BEGIN IMMEDIATE'));
  }
}

class StoreSqliteDialect extends SqliteDialect {
  constructor(private readonly database: SqliteDatabase) {
    super({ database });
  }
  override createDriver(): SqliteDriver {
    return new StoreSqliteDriver({ database: this.database });
  }
}

class StorePostgresDriver extends PostgresDriver {
  override async acquireConnection(): Promise<DatabaseConnection> {
    try {
      return translateErrors(await super.acquireConnection());
    } catch (err) {
      throw translate(err);
    }
  }
}

class StorePostgresDialect extends PostgresDialect {
  constructor(private readonly pool: pg.Pool) {
    super({ pool });
  }
  override createDriver(): PostgresDriver {
    return new StorePostgresDriver({ pool: this.pool });
  }
}

// BIGINT columns (and COUNT(*)) hold epoch milliseconds, ids and counts, all far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

function postgresPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection the server closed (a restart, a failover) is dropped by the pool and a new
  // one opened on the next query; unheard, its 'error' event would end the process.
  pool.on('error', () => undefined);
  // The same for a connection lost while a query or transaction holds it: its next statement fails
  // (so does the transaction), and the pool drops it at release as it is no longer queryable.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Statements kept prepared, the most recently used: Kysely prepares each statement anew, and most repeat exactly. */
function keepingStatements(conn: BetterSqlite3.Database, size = 200): SqliteDatabase {
  const kept = new Map<string, BetterSqlite3.Statement>();
  const prepare = (text: string): BetterSqlite3.Statement => {
    const statement = kept.get(text) ?? conn.prepare(text);
    kept.delete(text);
    kept.set(text, statement);
    if (kept.size > size) kept.delete(kept.keys().next().value!);
    return statement;
  };
  return { prepare, close: () => conn.close() };
}

function sqliteConnection(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const conn = new BetterSqlite3(path);
  conn.pragma('journal_mode = WAL');
  conn.pragma('synchronous = NORMAL');
  // Another process holding the write lock is waited for, up to 5 s, instead of failing at once.
  conn.pragma('busy_timeout = 5000');
  conn.pragma('foreign_keys = ON');
  return keepingStatements(conn);
}

/**
 * Opens `sqlite:<path>` (`sqlite::memory:` for a private in-memory database) or `postgres://…`.
 * `log` sees every statement (Kysely's log option: for debugging and tests).
 */
export function openDb(url: string, options: { log?: LogConfig } = {}): Db {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return new Kysely<Database>({ dialect: new StorePostgresDialect(postgresPool(url)), ...options });
  }
  if (url.startsWith('sqlite:')) {
    return new Kysely<Database>({
      dialect: new StoreSqliteDialect(sqliteConnection(url.slice('sqlite:'.length))),
      ...options,
    });
  }
  throw new Error(
    `FLEET_STORE_URL must start with sqlite: or postgres:// (got '${url.replace(/\/\/[^@]*@/, '//***@')}')`,
  );
}

export const dialectOf = (db: Db): Dialect =>
  db.introspection instanceof PostgresIntrospector ? 'postgres' : 'sqlite';

/** Runs `fn` in one transaction (all of it lands, or none of it); inside a transaction already, in that one. */
export function inTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
