/**
 * Versioned schema migrations, applied in order at start (`migrate`). One text per migration for
 * both backends; `{{id}}` becomes each backend's auto-increment key. Never edit an applied
 * migration: add the next one.
 */
import { sql } from 'kysely';
import { dialectOf, type Db } from './db';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'inventory, images, operations, tasks, logs, settings',
    sql: `
      CREATE TABLE appliances (
        serial TEXT PRIMARY KEY,
        product_code TEXT NOT NULL,
        arch TEXT,
        connected INTEGER NOT NULL,
        last_seen_ms BIGINT,
        doc TEXT NOT NULL,
        -- how to reach the device and its credentials: never part of API output
        connection TEXT,
        updated_ms BIGINT NOT NULL
      );
      CREATE INDEX appliances_product ON appliances (product_code);

      CREATE TABLE collectors (
        id BIGINT PRIMARY KEY,
        collector_type TEXT NOT NULL,
        alive INTEGER NOT NULL,
        collector_version TEXT,
        doc TEXT NOT NULL,
        updated_ms BIGINT NOT NULL
      );

      CREATE TABLE version_history (
        id {{id}},
        serial TEXT NOT NULL,
        from_version_id TEXT,
        to_version_id TEXT NOT NULL,
        operation_id TEXT,
        at_ms BIGINT NOT NULL
      );
      CREATE INDEX version_history_serial ON version_history (serial, at_ms);

      CREATE TABLE images (
        id TEXT PRIMARY KEY,
        repository TEXT NOT NULL,
        source TEXT NOT NULL,
        product_code TEXT NOT NULL,
        arch TEXT NOT NULL,
        target_version_id TEXT NOT NULL,
        delta INTEGER NOT NULL,
        doc TEXT NOT NULL,
        created_ms BIGINT NOT NULL
      );
      CREATE INDEX images_product ON images (product_code, arch);

      CREATE TABLE operations (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        username TEXT NOT NULL,
        product_code TEXT,
        create_time_ms BIGINT NOT NULL,
        doc TEXT NOT NULL,
        updated_ms BIGINT NOT NULL
      );
      CREATE INDEX operations_kind_time ON operations (kind, create_time_ms);

      CREATE TABLE appliance_tasks (
        operation_id TEXT NOT NULL REFERENCES operations (id),
        serial TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        stage TEXT NOT NULL,
        doc TEXT NOT NULL,
        updated_ms BIGINT NOT NULL,
        PRIMARY KEY (operation_id, serial)
      );
      CREATE INDEX appliance_tasks_serial ON appliance_tasks (serial, status);

      CREATE TABLE log_entries (
        id {{id}},
        operation_id TEXT NOT NULL,
        -- empty for the operation's own log
        serial TEXT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        severity TEXT NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE INDEX log_entries_owner ON log_entries (operation_id, serial, id);

      CREATE TABLE collector_upgrade_tasks (
        id {{id}},
        collector_id BIGINT NOT NULL,
        to_version TEXT NOT NULL,
        request_time_ms BIGINT NOT NULL,
        status INTEGER NOT NULL,
        message TEXT NOT NULL,
        updated_ms BIGINT NOT NULL
      );
      CREATE INDEX collector_upgrade_tasks_collector ON collector_upgrade_tasks (collector_id, status);

      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'API access keys',
    sql: `
      CREATE TABLE access_keys (
        access_id TEXT PRIMARY KEY,
        -- scrypt$<salt>$<hash>: the key itself is never stored
        key_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        created_ms BIGINT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'at most one unfinished upgrade task per collector',
    // Sumo's collector.in.upgrading, enforced by the store itself: two API processes creating a task
    // for the same collector at once cannot both succeed (0 not started, 1 pending, 6 progressing).
    sql: `
      CREATE UNIQUE INDEX collector_upgrade_tasks_unfinished ON collector_upgrade_tasks (collector_id) WHERE status IN (0, 1, 6);
    `,
  },
  {
    version: 4,
    name: 'a repository holds each image definition once',
    // The seed: a repository's images are distinct by image definition. definition_id is the
    // image's id (domain/image-identity.ts), set by the store on insert; rows stored before this
    // migration keep NULL (which a unique index never compares), and the store checks those by
    // their document instead.
    sql: `
      ALTER TABLE images ADD COLUMN definition_id TEXT;
      CREATE UNIQUE INDEX images_repository_definition ON images (repository, definition_id);
    `,
  },
  {
    version: 5,
    name: 'access keys that expire, are revoked and record their last use',
    sql: `
      ALTER TABLE access_keys ADD COLUMN expires_ms BIGINT;
      ALTER TABLE access_keys ADD COLUMN revoked_ms BIGINT;
      ALTER TABLE access_keys ADD COLUMN last_used_ms BIGINT;
    `,
  },
  {
    version: 6,
    name: 'audit trail',
    sql: `
      CREATE TABLE audit_log (
        id {{id}},
        at_ms BIGINT NOT NULL,
        -- the access id that acted (or tried to), 'cli:<user>' for the fleet CLI, '' when none was given
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        -- 'ok' or the refusal (HTTP status and error code)
        outcome TEXT NOT NULL,
        client TEXT NOT NULL,
        details TEXT NOT NULL
      );
      CREATE INDEX audit_log_at ON audit_log (at_ms);
      CREATE INDEX audit_log_actor ON audit_log (actor, at_ms);
    `,
  },
];

const AUTO_ID = {
  sqlite: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  postgres: 'BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY',
} as const;

/** Splits a migration into statements (no statement of ours contains a semicolon inside it). */
const statements = (sql: string): string[] =>
  sql
    .split(';')
    .map((s) => s.replace(/--[^\n]*/g, '').trim())
    .filter(Boolean);

/** Applies one migration unless the history says it is applied; true when it applied it. */
async function apply(tx: Db, migration: Migration, autoId: string): Promise<boolean> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)`.execute(
    tx,
  );
  const existing = await tx
    .selectFrom('schema_migrations')
    .select('version')
    .where('version', '=', migration.version)
    .executeTakeFirst();
  if (existing) return false;
  for (const statement of statements(migration.sql.replaceAll('{{id}}', autoId))) await sql.raw(statement).execute(tx);
  await tx
    .insertInto('schema_migrations')
    .values({ version: migration.version, name: migration.name, applied_ms: Date.now() })
    .execute();
  return true;
}

/**
 * Applies every migration not yet applied, each in its own transaction. Safe when several
 * processes start at once: PostgreSQL takes an advisory lock, SQLite's BEGIN IMMEDIATE serializes.
 * Returns the versions it applied.
 */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const dialect = dialectOf(db);
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    const done = await db.transaction().execute(async (tx) => {
      if (dialect === 'postgres') await sql`SELECT pg_advisory_xact_lock(7349001)`.execute(tx);
      return apply(tx, migration, AUTO_ID[dialect]);
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}
