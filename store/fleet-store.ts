/**
 * The durable record: inventory, version history, images, operations, appliance tasks, logs,
 * collector upgrade tasks and settings. Seed objects are kept whole as JSON documents (so
 * extension properties survive); the columns beside them are what queries filter on.
 */
import type { ApplianceTaskStatus, LogEntry, OperationStatus, ProductCode, Version } from '../domain/scc';
import { statusMovesForward, type OperationKind } from '../domain/operation';
import { imageIdOf } from '../domain/image-identity';
import { DuplicateKeyError, openDb, type Db, type Row } from './db';
import { migrate } from './migrations';

export interface ApplianceRecord {
  serial: string;
  product_code: ProductCode;
  arch?: string;
  connected: boolean;
  current_version?: Version;
  [property: string]: unknown;
}

/** How to reach a device: kept in the store, never part of an API answer or a log line. */
export interface DeviceConnection {
  address?: string;
  username?: string;
  password?: string;
  [property: string]: unknown;
}

export interface CollectorRecord {
  id: number;
  collectorType: string;
  alive: boolean;
  collectorVersion?: string;
  [property: string]: unknown;
}

/** Serials bound in one `IN (…)` query (well under SQLite's and PostgreSQL's parameter limits). */
const SERIALS_PER_QUERY = 500;

/** The distinct serials in chunks of SERIALS_PER_QUERY, each with its `IN (…)` list `$1, …, $n` (n ≤ 500). */
function serialChunks(serials: readonly string[]): { serials: string[]; placeholders: string }[] {
  const distinct = [...new Set(serials)];
  const chunks: { serials: string[]; placeholders: string }[] = [];
  for (let i = 0; i < distinct.length; i += SERIALS_PER_QUERY) {
    const chunk = distinct.slice(i, i + SERIALS_PER_QUERY);
    chunks.push({ serials: chunk, placeholders: chunk.map((_, j) => `$${j + 1}`).join(', ') });
  }
  return chunks;
}

export interface ImageRecord {
  id: string;
  image_definition: { product_code: ProductCode; arch: string; target_version: Version; delta: boolean; source_version?: Version; [p: string]: unknown };
  [property: string]: unknown;
}
export type ImageRepository = 'customer' | 'riverbed';
export type ImageSource = 'local' | 'customer_url' | 'riverbed';
export interface StoredImage {
  repository: ImageRepository;
  source: ImageSource;
  image: ImageRecord;
}

const storedImage = (row: { repository: ImageRepository; source: ImageSource; doc: string }): StoredImage => ({ repository: row.repository, source: row.source, image: JSON.parse(row.doc) as ImageRecord });

/** The repository already holds an image of this definition (`existing`): a repository's images are distinct by definition. */
export class ImageExistsError extends DuplicateKeyError {
  constructor(
    readonly existing: StoredImage,
    /** The image's id (domain/image-identity.ts), the same for every copy of the definition. */
    readonly imageId: string,
  ) {
    super(`the ${existing.repository} repository already holds image ${imageId} as ${existing.source} image ${existing.image.id}`);
    this.name = 'ImageExistsError';
  }
}

export interface OperationRecord {
  id: string;
  username: string;
  status: OperationStatus;
  create_time: string;
  product_code?: ProductCode;
  [property: string]: unknown;
}

export interface OperationFilter {
  username?: string;
  status?: OperationStatus;
  /** Inclusive bounds on create_time, epoch ms. */
  timeLowerBoundMs?: number;
  timeUpperBoundMs?: number;
}

export interface TaskRecord {
  operation_id: string;
  serial: string;
  status: string;
  stage: string;
  [property: string]: unknown;
}

export interface VersionChange {
  serial: string;
  from_version_id: string | null;
  to_version_id: string;
  operation_id: string | null;
  at_ms: number;
}

export interface CollectorUpgradeTask {
  id: number;
  collectorId: number;
  toVersion: string;
  requestTime: number;
  status: number;
  message: string;
}

const json = (value: unknown): string => JSON.stringify(value);
const parse = <T>(row: Row, column = 'doc'): T => JSON.parse(String(row[column])) as T;
const flag = (value: boolean): number => (value ? 1 : 0);

/** An access key as stored: the key's hash, never the key. */
export interface AccessKeyRecord {
  access_id: string;
  key_hash: string;
  role: string;
  created_ms: number;
  expires_ms?: number;
  revoked_ms?: number;
  last_used_ms?: number;
}

type AccessKeyRow = { access_id: string; key_hash: string; role: string; created_ms: number | string; expires_ms: number | string | null; revoked_ms: number | string | null; last_used_ms: number | string | null };

function accessKeyRecord(row: AccessKeyRow): AccessKeyRecord {
  const optional = (name: 'expires_ms' | 'revoked_ms' | 'last_used_ms') => (row[name] === null ? {} : { [name]: Number(row[name]) });
  return { access_id: row.access_id, key_hash: row.key_hash, role: row.role, created_ms: Number(row.created_ms), ...optional('expires_ms'), ...optional('revoked_ms'), ...optional('last_used_ms') };
}

const ACCESS_KEYS_VERSION = 'access_keys_version';

export class FleetStore {
  constructor(
    readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens the store at `url` and brings its schema up to date. */
  static async open(url: string): Promise<FleetStore> {
    const db = openDb(url);
    try {
      await migrate(db);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new FleetStore(db);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // Inventory ---------------------------------------------------------------------------------

  async upsertAppliance(appliance: ApplianceRecord, connection?: DeviceConnection): Promise<void> {
    const now = this.now();
    await this.db.execute(
      `INSERT INTO appliances (serial, product_code, arch, connected, last_seen_ms, doc, connection, updated_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (serial) DO UPDATE SET product_code = excluded.product_code, arch = excluded.arch,
         connected = excluded.connected, doc = excluded.doc,
         connection = COALESCE(excluded.connection, appliances.connection), updated_ms = excluded.updated_ms`,
      [appliance.serial, appliance.product_code, appliance.arch ?? null, flag(appliance.connected), appliance.connected ? now : null, json(appliance), connection ? json(connection) : null, now],
    );
  }

  /** Imports a whole inventory file in one transaction: all of it, or nothing. */
  async importInventory(file: { appliances: (ApplianceRecord & { connection?: DeviceConnection })[]; collectors: CollectorRecord[] }): Promise<{ appliances: number; collectors: number }> {
    await this.db.transaction(async (tx) => {
      const inTx = new FleetStore(tx, this.now);
      for (const { connection, ...appliance } of file.appliances) await inTx.upsertAppliance(appliance as ApplianceRecord, connection);
      for (const collector of file.collectors) await inTx.upsertCollector(collector);
    });
    return { appliances: file.appliances.length, collectors: file.collectors.length };
  }

  async getAppliance(serial: string): Promise<ApplianceRecord | undefined> {
    const [row] = await this.db.query('SELECT doc FROM appliances WHERE serial = $1', [serial]);
    return row ? parse<ApplianceRecord>(row) : undefined;
  }

  async listAppliances(filter: { product_code?: ProductCode; serials?: readonly string[] } = {}): Promise<ApplianceRecord[]> {
    if (filter.serials) {
      // Only the serials asked for (an operation's few out of a large fleet), a chunk per query.
      const found: ApplianceRecord[] = [];
      for (const chunk of serialChunks(filter.serials)) {
        const params: unknown[] = [...chunk.serials];
        let sql = `SELECT doc FROM appliances WHERE serial IN (${chunk.placeholders})`;
        if (filter.product_code) {
          params.push(filter.product_code);
          sql += ` AND product_code = $${params.length}`;
        }
        found.push(...(await this.db.query(sql, params)).map((row) => parse<ApplianceRecord>(row)));
      }
      return found.sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
    }
    const rows = filter.product_code
      ? await this.db.query('SELECT doc FROM appliances WHERE product_code = $1 ORDER BY serial', [filter.product_code])
      : await this.db.query('SELECT doc FROM appliances ORDER BY serial');
    return rows.map((row) => parse<ApplianceRecord>(row));
  }

  /** Connection details for activities only. */
  /** Each appliance's time zone (for local-time schedules); unknown appliances map to undefined. */
  async timeZones(serials: readonly string[]): Promise<Map<string, string | undefined>> {
    const known = new Map((await this.listAppliances({ serials })).map((a) => [a.serial, typeof a.time_zone === 'string' ? a.time_zone : undefined]));
    return new Map(serials.map((serial) => [serial, known.get(serial)]));
  }

  async getDeviceConnection(serial: string): Promise<DeviceConnection | undefined> {
    const [row] = await this.db.query('SELECT connection FROM appliances WHERE serial = $1', [serial]);
    return row?.connection ? parse<DeviceConnection>(row, 'connection') : undefined;
  }

  /** Records what a refresh saw: connectivity, last-seen, running version (and its change in the version history). */
  async recordApplianceSeen(serial: string, seen: { connected: boolean; current_version?: Version }): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query('SELECT doc FROM appliances WHERE serial = $1', [serial]);
      if (!row) return;
      const appliance = parse<ApplianceRecord>(row);
      const now = this.now();
      const previous = appliance.current_version?.version_id;
      const updated: ApplianceRecord = { ...appliance, connected: seen.connected, ...(seen.current_version ? { current_version: seen.current_version } : {}) };
      await tx.execute(
        `UPDATE appliances SET connected = $2, doc = $3, updated_ms = $4${seen.connected ? ', last_seen_ms = $4' : ''} WHERE serial = $1`,
        [serial, flag(seen.connected), json(updated), now],
      );
      if (seen.current_version && previous !== seen.current_version.version_id) {
        await this.insertVersionChange(tx, { serial, from_version_id: previous ?? null, to_version_id: seen.current_version.version_id, operation_id: null, at_ms: now });
      }
    });
  }

  /**
   * An operation changed an appliance's running version: the inventory shows it at once and the
   * version history keeps where it came from (for downgrades' `not_previously_upgraded_to`).
   * Idempotent: the same change recorded again adds nothing.
   */
  async recordApplianceVersion(serial: string, version: Version, operationId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query('SELECT doc FROM appliances WHERE serial = $1', [serial]);
      const appliance = row ? parse<ApplianceRecord>(row) : undefined;
      const previous = appliance?.current_version?.version_id;
      if (previous === version.version_id) return;
      const now = this.now();
      if (appliance) await tx.execute('UPDATE appliances SET doc = $2, updated_ms = $3 WHERE serial = $1', [serial, json({ ...appliance, current_version: version }), now]);
      await this.insertVersionChange(tx, { serial, from_version_id: previous ?? null, to_version_id: version.version_id, operation_id: operationId, at_ms: now });
    });
  }

  async lastSeenMs(serial: string): Promise<number | null> {
    const [row] = await this.db.query<{ last_seen_ms: number | null }>('SELECT last_seen_ms FROM appliances WHERE serial = $1', [serial]);
    return row?.last_seen_ms ?? null;
  }

  private async insertVersionChange(db: Db, change: VersionChange): Promise<void> {
    await db.execute('INSERT INTO version_history (serial, from_version_id, to_version_id, operation_id, at_ms) VALUES ($1, $2, $3, $4, $5)', [
      change.serial,
      change.from_version_id,
      change.to_version_id,
      change.operation_id,
      change.at_ms,
    ]);
  }

  async recordVersionChange(change: VersionChange): Promise<void> {
    await this.insertVersionChange(this.db, change);
  }

  async versionHistory(serial: string): Promise<VersionChange[]> {
    return this.db.query<VersionChange & Row>(
      'SELECT serial, from_version_id, to_version_id, operation_id, at_ms FROM version_history WHERE serial = $1 ORDER BY at_ms, id',
      [serial],
    );
  }

  /**
   * Every version each appliance has run, for many appliances at once: the whole fleet, or only
   * `serials` (an operation's few out of a large fleet, a chunk per query). Appliances without
   * history are absent.
   */
  async previousVersionIdsBySerial(serials?: readonly string[]): Promise<Map<string, Set<string>>> {
    type Change = { serial: string; from_version_id: string | null; to_version_id: string };
    const columns = 'SELECT serial, from_version_id, to_version_id FROM version_history';
    const batches = serials
      ? serialChunks(serials).map((chunk) => () => this.db.query<Change>(`${columns} WHERE serial IN (${chunk.placeholders})`, chunk.serials))
      : [() => this.db.query<Change>(columns)];
    const bySerial = new Map<string, Set<string>>();
    for (const batch of batches) {
      for (const row of await batch()) {
        const ids = bySerial.get(row.serial) ?? new Set<string>();
        if (row.from_version_id) ids.add(row.from_version_id);
        ids.add(row.to_version_id);
        bySerial.set(row.serial, ids);
      }
    }
    return bySerial;
  }

  /** Every version an appliance has run (for `not_previously_upgraded_to`). */
  async previousVersionIds(serial: string): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const change of await this.versionHistory(serial)) {
      if (change.from_version_id) ids.add(change.from_version_id);
      ids.add(change.to_version_id);
    }
    return ids;
  }

  async upsertCollector(collector: CollectorRecord): Promise<void> {
    await this.db.execute(
      `INSERT INTO collectors (id, collector_type, alive, collector_version, doc, updated_ms) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET collector_type = excluded.collector_type, alive = excluded.alive,
         collector_version = excluded.collector_version, doc = excluded.doc, updated_ms = excluded.updated_ms`,
      [collector.id, collector.collectorType, flag(collector.alive), collector.collectorVersion ?? null, json(collector), this.now()],
    );
  }

  async getCollector(id: number): Promise<CollectorRecord | undefined> {
    const [row] = await this.db.query('SELECT doc FROM collectors WHERE id = $1', [id]);
    return row ? parse<CollectorRecord>(row) : undefined;
  }

  async listCollectors(page: { offset?: number; limit?: number } = {}): Promise<CollectorRecord[]> {
    const rows = await this.db.query('SELECT doc FROM collectors ORDER BY id LIMIT $1 OFFSET $2', [page.limit ?? 1_000_000, page.offset ?? 0]);
    return rows.map((row) => parse<CollectorRecord>(row));
  }

  // Images ------------------------------------------------------------------------------------

  /**
   * Adds an image to its repository. A repository holds each image definition once (the seed:
   * its images are distinct by definition), so an image whose definition the repository already
   * holds is refused with ImageExistsError naming the one it holds, and nothing changes; a
   * repeated id is a DuplicateKeyError. The unique index on (repository, definition_id) settles
   * two processes adding one definition at once.
   */
  async addImage(stored: StoredImage): Promise<void> {
    const { repository, source, image } = stored;
    const d = image.image_definition;
    const definitionId = imageIdOf(d);
    try {
      await this.db.transaction(async (tx) => {
        const existing = await new FleetStore(tx, this.now).imageOfDefinition(repository, definitionId);
        if (existing) throw new ImageExistsError(existing, definitionId);
        await tx.execute(
          `INSERT INTO images (id, repository, source, product_code, arch, target_version_id, delta, doc, created_ms, definition_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [image.id, repository, source, d.product_code, d.arch, d.target_version.version_id, flag(d.delta), json(image), this.now(), definitionId],
        );
      });
    } catch (err) {
      // Another process added the definition between the check and the insert: name its image.
      const raced = err instanceof DuplicateKeyError && !(err instanceof ImageExistsError) ? await this.imageOfDefinition(repository, definitionId) : undefined;
      throw raced ? new ImageExistsError(raced, definitionId) : err;
    }
  }

  /** The image of a repository with this definition id (domain/image-identity.ts), if any. */
  async imageOfDefinition(repository: ImageRepository, definitionId: string): Promise<StoredImage | undefined> {
    return (await this.imagesOfDefinition(definitionId)).find((s) => s.repository === repository);
  }

  /**
   * Every copy of one image definition, by its id, across repositories and sources. Rows stored
   * before migration 4 have no definition_id: those are matched by their document.
   */
  async imagesOfDefinition(definitionId: string): Promise<StoredImage[]> {
    const rows = await this.db.query<{ repository: ImageRepository; source: ImageSource; doc: string }>(
      'SELECT repository, source, doc FROM images WHERE definition_id = $1 OR definition_id IS NULL ORDER BY created_ms, id',
      [definitionId],
    );
    return rows.map(storedImage).filter((s) => imageIdOf(s.image.image_definition) === definitionId);
  }

  async getImage(id: string): Promise<StoredImage | undefined> {
    const [row] = await this.db.query<{ repository: ImageRepository; source: ImageSource; doc: string }>('SELECT repository, source, doc FROM images WHERE id = $1', [id]);
    return row ? storedImage(row) : undefined;
  }

  async listImages(filter: { product_code?: ProductCode; repository?: ImageRepository; source?: ImageSource } = {}): Promise<StoredImage[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of Object.entries(filter)) {
      if (value === undefined) continue;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    }
    const rows = await this.db.query<{ repository: ImageRepository; source: ImageSource; doc: string }>(
      `SELECT repository, source, doc FROM images${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_ms, id`,
      params,
    );
    return rows.map(storedImage);
  }

  /** True when an image was deleted. */
  async deleteImage(id: string, source?: ImageSource): Promise<boolean> {
    return source
      ? (await this.db.execute('DELETE FROM images WHERE id = $1 AND source = $2', [id, source])) > 0
      : (await this.db.execute('DELETE FROM images WHERE id = $1', [id])) > 0;
  }

  // Operations and appliance tasks ------------------------------------------------------------

  /**
   * Stores a new operation with its appliance tasks, atomically. With `ifAbsent`, an operation
   * already stored is left as it is (returns false), so recording it again is harmless.
   */
  async insertOperation(kind: OperationKind, operation: OperationRecord, tasks: readonly TaskRecord[] = [], options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    const now = this.now();
    return this.db.transaction(async (tx) => {
      if (options.ifAbsent && (await tx.query('SELECT id FROM operations WHERE id = $1', [operation.id])).length > 0) return false;
      await tx.execute(
        'INSERT INTO operations (id, kind, status, username, product_code, create_time_ms, doc, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [operation.id, kind, operation.status, operation.username, operation.product_code ?? null, Date.parse(operation.create_time), json(operation), now],
      );
      for (const task of tasks) {
        await tx.execute('INSERT INTO appliance_tasks (operation_id, serial, kind, status, stage, doc, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          operation.id,
          task.serial,
          kind,
          task.status,
          task.stage,
          json(task),
          now,
        ]);
      }
      return true;
    });
  }

  /**
   * Records a new operation with one `scheduled`/`waiting` task per appliance (each task starts
   * from `taskFields(serial)` and the appliance's version and hostname as the inventory knows them),
   * and the first line of its log. Recording it again changes nothing (returns false).
   */
  async recordNewOperation(kind: OperationKind, operation: OperationRecord & { appliances: string[] }, taskFields: (serial: string) => Record<string, unknown>, log: LogEntry): Promise<boolean> {
    const appliances = new Map((await this.listAppliances({ serials: operation.appliances })).map((a) => [a.serial, a]));
    const tasks: TaskRecord[] = operation.appliances.map((serial) => {
      const appliance = appliances.get(serial);
      return {
        operation_id: operation.id,
        serial,
        status: 'scheduled',
        stage: 'waiting',
        ...taskFields(serial),
        // The version the appliance ran when the operation was scheduled.
        current_version: appliance?.current_version ?? { version_id: 'unknown' },
        ...(typeof appliance?.hostname === 'string' ? { hostname: appliance.hostname } : {}),
      };
    });
    const inserted = await this.insertOperation(kind, operation, tasks, { ifAbsent: true });
    if (inserted) await this.appendLog(operation.id, log);
    return inserted;
  }

  async getOperation(kind: OperationKind, id: string): Promise<OperationRecord | undefined> {
    const [row] = await this.db.query('SELECT doc FROM operations WHERE id = $1 AND kind = $2', [id, kind]);
    return row ? parse<OperationRecord>(row) : undefined;
  }

  async listOperations(kind: OperationKind, filter: OperationFilter = {}): Promise<OperationRecord[]> {
    const where = ['kind = $1'];
    const params: unknown[] = [kind];
    const add = (clause: string, value: unknown): void => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (filter.username !== undefined) add('username = ?', filter.username);
    if (filter.status !== undefined) add('status = ?', filter.status);
    if (filter.timeLowerBoundMs !== undefined) add('create_time_ms >= ?', filter.timeLowerBoundMs);
    if (filter.timeUpperBoundMs !== undefined) add('create_time_ms <= ?', filter.timeUpperBoundMs);
    const rows = await this.db.query(`SELECT doc FROM operations WHERE ${where.join(' AND ')} ORDER BY create_time_ms, id`, params);
    return rows.map((row) => parse<OperationRecord>(row));
  }

  /** Merges `changes` into the stored operation (status and any other field); a status never moves back. */
  async updateOperation(id: string, changes: Partial<OperationRecord>): Promise<OperationRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query('SELECT doc FROM operations WHERE id = $1', [id]);
      if (!row) return undefined;
      const current = parse<OperationRecord>(row);
      const updated = { ...current, ...changes };
      if (!statusMovesForward(current.status, updated.status)) updated.status = current.status;
      await tx.execute('UPDATE operations SET status = $2, doc = $3, updated_ms = $4 WHERE id = $1', [id, updated.status, json(updated), this.now()]);
      return updated;
    });
  }

  async getTask(operationId: string, serial: string): Promise<TaskRecord | undefined> {
    const [row] = await this.db.query('SELECT doc FROM appliance_tasks WHERE operation_id = $1 AND serial = $2', [operationId, serial]);
    return row ? parse<TaskRecord>(row) : undefined;
  }

  async listTasks(operationId: string): Promise<TaskRecord[]> {
    const rows = await this.db.query('SELECT doc FROM appliance_tasks WHERE operation_id = $1 ORDER BY serial', [operationId]);
    return rows.map((row) => parse<TaskRecord>(row));
  }

  /** How many of an operation's tasks are in each status. */
  async taskStatusCounts(operationId: string): Promise<Partial<Record<ApplianceTaskStatus, number>>> {
    const rows = await this.db.query<{ status: ApplianceTaskStatus; n: number | string }>('SELECT status, COUNT(*) AS n FROM appliance_tasks WHERE operation_id = $1 GROUP BY status', [operationId]);
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * One page of an operation's tasks, by serial, with the version each appliance runs now (the
   * inventory's, `running_version`); `total` counts the tasks the filter matches, `counts` every
   * task of the operation by status and stage. `serial`: part of a serial, any case.
   */
  async taskPage(operationId: string, page: { status?: string; stage?: string; serial?: string; offset: number; limit: number }): Promise<{ total: number; counts: { status: string; stage: string; n: number }[]; tasks: (TaskRecord & { running_version?: Version })[] }> {
    const where = ['t.operation_id = $1'];
    const params: unknown[] = [operationId];
    const add = (clause: string, value: unknown): void => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (page.status !== undefined) add('t.status = ?', page.status);
    if (page.stage !== undefined) add('t.stage = ?', page.stage);
    if (page.serial !== undefined) add('UPPER(t.serial) LIKE ?', `%${page.serial.toUpperCase().replace(/[%_\\]/g, '')}%`);
    const filter = where.join(' AND ');
    const counts = await this.db.query<{ status: string; stage: string; n: number | string }>('SELECT status, stage, COUNT(*) AS n FROM appliance_tasks WHERE operation_id = $1 GROUP BY status, stage', [operationId]);
    const [matching] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM appliance_tasks t WHERE ${filter}`, params);
    const rows = page.limit === 0 ? [] : await this.db.query(`SELECT t.doc, a.doc AS appliance FROM appliance_tasks t LEFT JOIN appliances a ON a.serial = t.serial WHERE ${filter} ORDER BY t.serial LIMIT $${params.length + 1} OFFSET $${params.length + 2}`, [...params, page.limit, page.offset]);
    const tasks = rows.map((row) => {
      const running = row.appliance ? parse<ApplianceRecord>(row, 'appliance').current_version : undefined;
      return { ...parse<TaskRecord>(row), ...(running ? { running_version: running } : {}) };
    });
    return { total: Number(matching?.n ?? 0), counts: counts.map((c) => ({ status: c.status, stage: c.stage, n: Number(c.n) })), tasks };
  }

  /** Merges `changes` into a task (status, stage, task_start_time, …). Returns the task, or undefined when unknown. */
  async updateTask(operationId: string, serial: string, changes: Partial<TaskRecord>): Promise<TaskRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query('SELECT doc FROM appliance_tasks WHERE operation_id = $1 AND serial = $2', [operationId, serial]);
      if (!row) return undefined;
      const updated = { ...parse<TaskRecord>(row), ...changes };
      await tx.execute('UPDATE appliance_tasks SET status = $3, stage = $4, doc = $5, updated_ms = $6 WHERE operation_id = $1 AND serial = $2', [
        operationId,
        serial,
        updated.status,
        updated.stage,
        json(updated),
        this.now(),
      ]);
      return updated;
    });
  }

  /** Serials with a task not yet finished in any operation (for `operation_in_progress`). */
  async serialsWithTaskInProgress(): Promise<Set<string>> {
    const rows = await this.db.query<{ serial: string }>("SELECT DISTINCT serial FROM appliance_tasks WHERE status IN ('scheduled', 'running')");
    return new Set(rows.map((r) => r.serial));
  }

  // Logs --------------------------------------------------------------------------------------

  /** Appends to an operation's log (`serial` omitted) or to one appliance task's log. */
  async appendLog(operationId: string, entry: LogEntry, serial = ''): Promise<void> {
    await this.db.execute('INSERT INTO log_entries (operation_id, serial, timestamp_ms, severity, doc) VALUES ($1, $2, $3, $4, $5)', [
      operationId,
      serial,
      Math.round(entry.timestamp * 1000),
      entry.severity,
      json(entry),
    ]);
  }

  async getLog(operationId: string, serial = ''): Promise<LogEntry[]> {
    const rows = await this.db.query('SELECT doc FROM log_entries WHERE operation_id = $1 AND serial = $2 ORDER BY id', [operationId, serial]);
    return rows.map((row) => parse<LogEntry>(row));
  }

  // Sumo collector upgrade tasks --------------------------------------------------------------

  async insertCollectorUpgradeTask(task: Omit<CollectorUpgradeTask, 'id'>): Promise<CollectorUpgradeTask> {
    const [row] = await this.db.query<{ id: number }>(
      'INSERT INTO collector_upgrade_tasks (collector_id, to_version, request_time_ms, status, message, updated_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
      [task.collectorId, task.toVersion, task.requestTime, task.status, task.message, this.now()],
    );
    return { ...task, id: Number(row!.id) };
  }

  async getCollectorUpgradeTask(id: number): Promise<CollectorUpgradeTask | undefined> {
    const [row] = await this.db.query<{ id: number; collector_id: number; to_version: string; request_time_ms: number; status: number; message: string }>(
      'SELECT id, collector_id, to_version, request_time_ms, status, message FROM collector_upgrade_tasks WHERE id = $1',
      [id],
    );
    return row ? { id: Number(row.id), collectorId: Number(row.collector_id), toVersion: row.to_version, requestTime: Number(row.request_time_ms), status: Number(row.status), message: row.message } : undefined;
  }

  async updateCollectorUpgradeTask(id: number, changes: { status: number; message?: string }): Promise<boolean> {
    return (
      (await this.db.execute('UPDATE collector_upgrade_tasks SET status = $2, message = COALESCE($3, message), updated_ms = $4 WHERE id = $1', [id, changes.status, changes.message ?? null, this.now()])) > 0
    );
  }

  /**
   * Inserts a new task unless the collector already has an unfinished one (status 0, 1 or 6): then
   * nothing is inserted and undefined is returned. Atomic on both backends (a partial unique index).
   */
  async insertCollectorUpgradeTaskUnlessUpgrading(task: Omit<CollectorUpgradeTask, 'id'>): Promise<CollectorUpgradeTask | undefined> {
    const [row] = await this.db.query<{ id: number }>(
      'INSERT INTO collector_upgrade_tasks (collector_id, to_version, request_time_ms, status, message, updated_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id',
      [task.collectorId, task.toVersion, task.requestTime, task.status, task.message, this.now()],
    );
    return row ? { ...task, id: Number(row.id) } : undefined;
  }

  /** The collector's unfinished upgrade task (status 0, 1 or 6), if any. */
  async unfinishedCollectorUpgradeTask(collectorId: number): Promise<CollectorUpgradeTask | undefined> {
    const [row] = await this.db.query<{ id: number }>('SELECT id FROM collector_upgrade_tasks WHERE collector_id = $1 AND status IN (0, 1, 6) ORDER BY id DESC LIMIT 1', [collectorId]);
    return row ? this.getCollectorUpgradeTask(Number(row.id)) : undefined;
  }

  /**
   * Collectors a new upgrade task to `toVersion` would be accepted for, by id: Installable, alive,
   * not running `toVersion` already and without an unfinished upgrade task.
   */
  async listUpgradableCollectors(query: { toVersion: string; offset: number; limit: number }): Promise<CollectorRecord[]> {
    const rows = await this.db.query(
      `SELECT doc FROM collectors c
       WHERE c.collector_type = 'Installable' AND c.alive = 1 AND (c.collector_version IS NULL OR c.collector_version <> $1)
         AND NOT EXISTS (SELECT 1 FROM collector_upgrade_tasks t WHERE t.collector_id = c.id AND t.status IN (0, 1, 6))
       ORDER BY c.id LIMIT $2 OFFSET $3`,
      [query.toVersion, query.limit, query.offset],
    );
    return rows.map((row) => parse<CollectorRecord>(row));
  }

  // API access keys (hashed; the key itself is never stored) --------------------------------------

  /** Stores (or replaces: a new key, active again) an access key; every change bumps the keys' version. */
  async putAccessKey(accessId: string, keyHash: string, role: string, expiresMs?: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.execute(
        `INSERT INTO access_keys (access_id, key_hash, role, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (access_id) DO UPDATE SET key_hash = excluded.key_hash, role = excluded.role, expires_ms = excluded.expires_ms, revoked_ms = NULL`,
        [accessId, keyHash, role, this.now(), expiresMs ?? null],
      );
      await this.bumpAccessKeysVersion(tx);
    });
  }

  async getAccessKey(accessId: string): Promise<AccessKeyRecord | undefined> {
    const [row] = await this.db.query<AccessKeyRow>('SELECT access_id, key_hash, role, created_ms, expires_ms, revoked_ms, last_used_ms FROM access_keys WHERE access_id = $1', [accessId]);
    return row ? accessKeyRecord(row) : undefined;
  }

  async listAccessKeys(): Promise<AccessKeyRecord[]> {
    const rows = await this.db.query<AccessKeyRow>('SELECT access_id, key_hash, role, created_ms, expires_ms, revoked_ms, last_used_ms FROM access_keys ORDER BY access_id');
    return rows.map(accessKeyRecord);
  }

  /** Revokes a key (kept, so the list shows it); false when there is no such key or it is revoked already. */
  async revokeAccessKey(accessId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const changed = await tx.execute('UPDATE access_keys SET revoked_ms = $2 WHERE access_id = $1 AND revoked_ms IS NULL', [accessId, this.now()]);
      if (changed > 0) await this.bumpAccessKeysVersion(tx);
      return changed > 0;
    });
  }

  /** Records a key's last use (at most once a minute per key is enough for a list). */
  async touchAccessKey(accessId: string, atMs = this.now()): Promise<void> {
    await this.db.execute('UPDATE access_keys SET last_used_ms = $2 WHERE access_id = $1', [accessId, atMs]);
  }

  /** A number that changes whenever a key is created, replaced or revoked: API processes drop cached logins on a change. */
  async accessKeysVersion(): Promise<string> {
    return (await this.getSetting(ACCESS_KEYS_VERSION)) ?? '0';
  }

  private async bumpAccessKeysVersion(tx: Db): Promise<void> {
    await tx.execute(
      `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [ACCESS_KEYS_VERSION, `${this.now()}-${Math.random().toString(36).slice(2)}`],
    );
  }

  async countAccessKeys(): Promise<number> {
    const [row] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM access_keys');
    return Number(row?.n ?? 0);
  }

  // Settings ----------------------------------------------------------------------------------

  async getSetting(key: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    return row?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.db.execute('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  // Audit trail (every change and refused attempt; never a key or a request body) ---------------

  /** Appends one entry to the audit trail; returns its id. */
  async recordAudit(entry: { atMs: number; actor: string; action: string; target: string; outcome: string; client: string; details: Record<string, unknown> }): Promise<number> {
    const [row] = await this.db.query<{ id: number | string }>(
      'INSERT INTO audit_log (at_ms, actor, action, target, outcome, client, details) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
      [entry.atMs, entry.actor, entry.action, entry.target, entry.outcome, entry.client, json(entry.details)],
    );
    return Number(row!.id);
  }

  /** Audit entries oldest first: since `sinceMs` (inclusive), of one actor, at most `limit`. */
  async listAudit(query: { sinceMs?: number; actor?: string; limit: number }): Promise<{ id: number; atMs: number; actor: string; action: string; target: string; outcome: string; client: string; details: Record<string, unknown> }[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.sinceMs !== undefined) where.push(`at_ms >= $${params.push(query.sinceMs)}`);
    if (query.actor !== undefined) where.push(`actor = $${params.push(query.actor)}`);
    const rows = await this.db.query<{ id: number | string; at_ms: number | string; actor: string; action: string; target: string; outcome: string; client: string; details: string }>(
      `SELECT id, at_ms, actor, action, target, outcome, client, details FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at_ms, id LIMIT $${params.push(query.limit)}`,
      params,
    );
    return rows.map((row) => ({
      id: Number(row.id),
      atMs: Number(row.at_ms),
      actor: row.actor,
      action: row.action,
      target: row.target,
      outcome: row.outcome,
      client: row.client,
      details: parse<Record<string, unknown>>(row, 'details'),
    }));
  }
}
