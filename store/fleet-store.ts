/**
 * The durable record: inventory, version history, images, operations, appliance tasks, logs,
 * collector upgrade tasks and settings. Seed objects are kept whole as JSON documents (so
 * extension properties survive); the columns beside them are what queries filter on.
 */
import type {
  ApplianceTaskStatus,
  ImageRepository,
  ImageSource,
  LogEntry,
  OperationStatus,
  ProductCode,
  Version,
} from '../domain/scc';
import { statusMovesForward, type OperationKind } from '../domain/operation';
import { imageIdOf } from '../domain/image-identity';
import { DuplicateKeyError, inTransaction, openDb, type Db } from './db';
import { migrate } from './migrations';
import type { Selectable } from 'kysely';
import type { Database } from './schema';

export type { ImageRepository, ImageSource } from '../domain/scc';

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

/** The distinct serials in chunks of at most SERIALS_PER_QUERY. */
function serialChunks(serials: readonly string[]): string[][] {
  const distinct = [...new Set(serials)];
  const chunks: string[][] = [];
  for (let i = 0; i < distinct.length; i += SERIALS_PER_QUERY) chunks.push(distinct.slice(i, i + SERIALS_PER_QUERY));
  return chunks;
}

const bySerial = (a: { serial: string }, b: { serial: string }): number =>
  a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0;

const json = (value: unknown): string => JSON.stringify(value);
const parse = <T>(text: string): T => JSON.parse(text) as T;
const flag = (value: boolean): number => (value ? 1 : 0);

export interface ImageRecord {
  id: string;
  image_definition: {
    product_code: ProductCode;
    arch: string;
    target_version: Version;
    delta: boolean;
    source_version?: Version;
    [p: string]: unknown;
  };
  [property: string]: unknown;
}
export interface StoredImage {
  repository: ImageRepository;
  source: ImageSource;
  image: ImageRecord;
}

const storedImage = (row: { repository: ImageRepository; source: ImageSource; doc: string }): StoredImage => ({
  repository: row.repository,
  source: row.source,
  image: parse<ImageRecord>(row.doc),
});

/** The repository already holds an image of this definition (`existing`): a repository's images are distinct by definition. */
export class ImageExistsError extends DuplicateKeyError {
  constructor(
    readonly existing: StoredImage,
    /** The image's id (domain/image-identity.ts), the same for every copy of the definition. */
    readonly imageId: string,
  ) {
    super(
      `the ${existing.repository} repository already holds image ${imageId} as ${existing.source} image ${existing.image.id}`,
    );
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

/** Collector upgrade task statuses not yet finished: 0 not started, 1 pending, 6 progressing. */
const UNFINISHED = [0, 1, 6];

const collectorUpgradeTask = (row: Selectable<Database['collector_upgrade_tasks']>): CollectorUpgradeTask => ({
  id: row.id,
  collectorId: row.collector_id,
  toVersion: row.to_version,
  requestTime: row.request_time_ms,
  status: row.status,
  message: row.message,
});

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

function accessKeyRecord(row: Database['access_keys']): AccessKeyRecord {
  const { expires_ms, revoked_ms, last_used_ms, ...always } = row;
  return {
    ...always,
    ...(expires_ms === null ? {} : { expires_ms }),
    ...(revoked_ms === null ? {} : { revoked_ms }),
    ...(last_used_ms === null ? {} : { last_used_ms }),
  };
}

/** One entry of the audit trail. */
export interface AuditEntry {
  atMs: number;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  client: string;
  details: Record<string, unknown>;
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
      await db.destroy();
      throw err;
    }
    return new FleetStore(db);
  }

  close(): Promise<void> {
    return this.db.destroy();
  }

  /** Runs `fn` with this store in one transaction: all of it lands, or none of it. */
  private transaction<T>(fn: (tx: FleetStore) => Promise<T>): Promise<T> {
    return inTransaction(this.db, (tx) => fn(new FleetStore(tx, this.now)));
  }

  // Inventory ---------------------------------------------------------------------------------

  async upsertAppliance(appliance: ApplianceRecord, connection?: DeviceConnection): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('appliances')
      .values({
        serial: appliance.serial,
        product_code: appliance.product_code,
        arch: appliance.arch ?? null,
        connected: flag(appliance.connected),
        last_seen_ms: appliance.connected ? now : null,
        doc: json(appliance),
        connection: connection ? json(connection) : null,
        updated_ms: now,
      })
      .onConflict((oc) =>
        oc.column('serial').doUpdateSet((eb) => ({
          product_code: eb.ref('excluded.product_code'),
          arch: eb.ref('excluded.arch'),
          connected: eb.ref('excluded.connected'),
          doc: eb.ref('excluded.doc'),
          // An update without connection details keeps the stored ones.
          connection: eb.fn.coalesce('excluded.connection', 'appliances.connection'),
          updated_ms: eb.ref('excluded.updated_ms'),
        })),
      )
      .execute();
  }

  /** Imports a whole inventory file in one transaction: all of it, or nothing. */
  async importInventory(file: {
    appliances: (ApplianceRecord & { connection?: DeviceConnection })[];
    collectors: CollectorRecord[];
  }): Promise<{ appliances: number; collectors: number }> {
    await this.transaction(async (tx) => {
      for (const { connection, ...appliance } of file.appliances) await tx.upsertAppliance(appliance, connection);
      for (const collector of file.collectors) await tx.upsertCollector(collector);
    });
    return { appliances: file.appliances.length, collectors: file.collectors.length };
  }

  async getAppliance(serial: string): Promise<ApplianceRecord | undefined> {
    const row = await this.db.selectFrom('appliances').select('doc').where('serial', '=', serial).executeTakeFirst();
    return row && parse<ApplianceRecord>(row.doc);
  }

  async listAppliances(
    filter: { product_code?: ProductCode; serials?: readonly string[] } = {},
  ): Promise<ApplianceRecord[]> {
    let query = this.db.selectFrom('appliances').select('doc');
    if (filter.product_code) query = query.where('product_code', '=', filter.product_code);
    if (!filter.serials) return (await query.orderBy('serial').execute()).map((row) => parse<ApplianceRecord>(row.doc));
    // Only the serials asked for (an operation's few out of a large fleet), a chunk per query.
    const found: ApplianceRecord[] = [];
    for (const chunk of serialChunks(filter.serials)) {
      found.push(...(await query.where('serial', 'in', chunk).execute()).map((row) => parse<ApplianceRecord>(row.doc)));
    }
    return found.sort(bySerial);
  }

  /** Each appliance's time zone (for local-time schedules); unknown appliances map to undefined. */
  async timeZones(serials: readonly string[]): Promise<Map<string, string | undefined>> {
    const known = new Map(
      (await this.listAppliances({ serials })).map((a) => [
        a.serial,
        typeof a.time_zone === 'string' ? a.time_zone : undefined,
      ]),
    );
    return new Map(serials.map((serial) => [serial, known.get(serial)]));
  }

  /** Connection details for activities only. */
  async getDeviceConnection(serial: string): Promise<DeviceConnection | undefined> {
    const row = await this.db
      .selectFrom('appliances')
      .select('connection')
      .where('serial', '=', serial)
      .executeTakeFirst();
    return row?.connection ? parse<DeviceConnection>(row.connection) : undefined;
  }

  /** Records what a refresh saw: connectivity, last-seen, running version (and its change in the version history). */
  async recordApplianceSeen(serial: string, seen: { connected: boolean; current_version?: Version }): Promise<void> {
    await this.transaction(async (tx) => {
      const appliance = await tx.getAppliance(serial);
      if (!appliance) return;
      const now = this.now();
      const previous = appliance.current_version?.version_id;
      const updated: ApplianceRecord = {
        ...appliance,
        connected: seen.connected,
        ...(seen.current_version ? { current_version: seen.current_version } : {}),
      };
      await tx.db
        .updateTable('appliances')
        .set({
          connected: flag(seen.connected),
          doc: json(updated),
          updated_ms: now,
          ...(seen.connected ? { last_seen_ms: now } : {}),
        })
        .where('serial', '=', serial)
        .execute();
      if (seen.current_version && previous !== seen.current_version.version_id) {
        await tx.recordVersionChange({
          serial,
          from_version_id: previous ?? null,
          to_version_id: seen.current_version.version_id,
          operation_id: null,
          at_ms: now,
        });
      }
    });
  }

  /**
   * An operation changed an appliance's running version: the inventory shows it at once and the
   * version history keeps where it came from (for downgrades' `not_previously_upgraded_to`).
   * Idempotent: the same change recorded again adds nothing.
   */
  async recordApplianceVersion(serial: string, version: Version, operationId: string): Promise<void> {
    await this.transaction(async (tx) => {
      const appliance = await tx.getAppliance(serial);
      const previous = appliance?.current_version?.version_id;
      if (previous === version.version_id) return;
      const now = this.now();
      if (appliance) {
        await tx.db
          .updateTable('appliances')
          .set({ doc: json({ ...appliance, current_version: version }), updated_ms: now })
          .where('serial', '=', serial)
          .execute();
      }
      await tx.recordVersionChange({
        serial,
        from_version_id: previous ?? null,
        to_version_id: version.version_id,
        operation_id: operationId,
        at_ms: now,
      });
    });
  }

  async lastSeenMs(serial: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('appliances')
      .select('last_seen_ms')
      .where('serial', '=', serial)
      .executeTakeFirst();
    return row?.last_seen_ms ?? null;
  }

  async recordVersionChange(change: VersionChange): Promise<void> {
    const { serial, from_version_id, to_version_id, operation_id, at_ms } = change;
    await this.db
      .insertInto('version_history')
      .values({ serial, from_version_id, to_version_id, operation_id, at_ms })
      .execute();
  }

  async versionHistory(serial: string): Promise<VersionChange[]> {
    return this.db
      .selectFrom('version_history')
      .select(['serial', 'from_version_id', 'to_version_id', 'operation_id', 'at_ms'])
      .where('serial', '=', serial)
      .orderBy('at_ms')
      .orderBy('id')
      .execute();
  }

  /**
   * Every version each appliance has run, for many appliances at once: the whole fleet, or only
   * `serials` (an operation's few out of a large fleet, a chunk per query). Appliances without
   * history are absent.
   */
  async previousVersionIdsBySerial(serials?: readonly string[]): Promise<Map<string, Set<string>>> {
    const query = this.db.selectFrom('version_history').select(['serial', 'from_version_id', 'to_version_id']);
    const batches = serials ? serialChunks(serials).map((chunk) => query.where('serial', 'in', chunk)) : [query];
    const ids = new Map<string, Set<string>>();
    for (const batch of batches) {
      for (const row of await batch.execute()) {
        const seen = ids.get(row.serial) ?? new Set<string>();
        if (row.from_version_id) seen.add(row.from_version_id);
        seen.add(row.to_version_id);
        ids.set(row.serial, seen);
      }
    }
    return ids;
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
    await this.db
      .insertInto('collectors')
      .values({
        id: collector.id,
        collector_type: collector.collectorType,
        alive: flag(collector.alive),
        collector_version: collector.collectorVersion ?? null,
        doc: json(collector),
        updated_ms: this.now(),
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          collector_type: eb.ref('excluded.collector_type'),
          alive: eb.ref('excluded.alive'),
          collector_version: eb.ref('excluded.collector_version'),
          doc: eb.ref('excluded.doc'),
          updated_ms: eb.ref('excluded.updated_ms'),
        })),
      )
      .execute();
  }

  async getCollector(id: number): Promise<CollectorRecord | undefined> {
    const row = await this.db.selectFrom('collectors').select('doc').where('id', '=', id).executeTakeFirst();
    return row && parse<CollectorRecord>(row.doc);
  }

  async listCollectors(page: { offset?: number; limit?: number } = {}): Promise<CollectorRecord[]> {
    const rows = await this.db
      .selectFrom('collectors')
      .select('doc')
      .orderBy('id')
      .limit(page.limit ?? 1_000_000)
      .offset(page.offset ?? 0)
      .execute();
    return rows.map((row) => parse<CollectorRecord>(row.doc));
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
      await this.transaction(async (tx) => {
        const existing = await tx.imageOfDefinition(repository, definitionId);
        if (existing) throw new ImageExistsError(existing, definitionId);
        await tx.db
          .insertInto('images')
          .values({
            id: image.id,
            repository,
            source,
            product_code: d.product_code,
            arch: d.arch,
            target_version_id: d.target_version.version_id,
            delta: flag(d.delta),
            doc: json(image),
            created_ms: this.now(),
            definition_id: definitionId,
          })
          .execute();
      });
    } catch (err) {
      // Another process added the definition between the check and the insert: name its image.
      const raced =
        err instanceof DuplicateKeyError && !(err instanceof ImageExistsError)
          ? await this.imageOfDefinition(repository, definitionId)
          : undefined;
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
    const rows = await this.db
      .selectFrom('images')
      .select(['repository', 'source', 'doc'])
      .where((eb) => eb.or([eb('definition_id', '=', definitionId), eb('definition_id', 'is', null)]))
      .orderBy('created_ms')
      .orderBy('id')
      .execute();
    return rows.map(storedImage).filter((s) => imageIdOf(s.image.image_definition) === definitionId);
  }

  async getImage(id: string): Promise<StoredImage | undefined> {
    const row = await this.db
      .selectFrom('images')
      .select(['repository', 'source', 'doc'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row && storedImage(row);
  }

  async listImages(
    filter: { product_code?: ProductCode; repository?: ImageRepository; source?: ImageSource } = {},
  ): Promise<StoredImage[]> {
    let query = this.db
      .selectFrom('images')
      .select(['repository', 'source', 'doc'])
      .orderBy('created_ms')
      .orderBy('id');
    if (filter.product_code !== undefined) query = query.where('product_code', '=', filter.product_code);
    if (filter.repository !== undefined) query = query.where('repository', '=', filter.repository);
    if (filter.source !== undefined) query = query.where('source', '=', filter.source);
    return (await query.execute()).map(storedImage);
  }

  /** True when an image was deleted. */
  async deleteImage(id: string, source?: ImageSource): Promise<boolean> {
    let query = this.db.deleteFrom('images').where('id', '=', id);
    if (source) query = query.where('source', '=', source);
    return (await query.executeTakeFirst()).numDeletedRows > 0;
  }

  // Operations and appliance tasks ------------------------------------------------------------

  /**
   * Stores a new operation with its appliance tasks, atomically. With `ifAbsent`, an operation
   * already stored is left as it is (returns false), so recording it again is harmless.
   */
  async insertOperation(
    kind: OperationKind,
    operation: OperationRecord,
    tasks: readonly TaskRecord[] = [],
    options: { ifAbsent?: boolean } = {},
  ): Promise<boolean> {
    const now = this.now();
    return this.transaction(async (tx) => {
      if (options.ifAbsent && (await tx.findOperation(operation.id))) return false;
      await tx.db
        .insertInto('operations')
        .values({
          id: operation.id,
          kind,
          status: operation.status,
          username: operation.username,
          product_code: operation.product_code ?? null,
          create_time_ms: Date.parse(operation.create_time),
          doc: json(operation),
          updated_ms: now,
        })
        .execute();
      for (const task of tasks) {
        const row = {
          operation_id: operation.id,
          serial: task.serial,
          kind,
          status: task.status,
          stage: task.stage,
          doc: json(task),
          updated_ms: now,
        };
        await tx.db.insertInto('appliance_tasks').values(row).execute();
      }
      return true;
    });
  }

  /**
   * Records a new operation with one `scheduled`/`waiting` task per appliance (each task starts
   * from `taskFields(serial)` and the appliance's version and hostname as the inventory knows them),
   * and the first line of its log. Recording it again changes nothing (returns false).
   */
  async recordNewOperation(
    kind: OperationKind,
    operation: OperationRecord & { appliances: string[] },
    taskFields: (serial: string) => Record<string, unknown>,
    log: LogEntry,
  ): Promise<boolean> {
    const appliances = new Map(
      (await this.listAppliances({ serials: operation.appliances })).map((a) => [a.serial, a]),
    );
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
    return (await this.findOperation(id, kind))?.operation;
  }

  /** The stored operation of this id (of `kind`, or of any kind), with its kind and when the store last changed it. */
  async findOperation(
    id: string,
    kind?: OperationKind,
  ): Promise<{ kind: OperationKind; operation: OperationRecord; updatedMs: number } | undefined> {
    let query = this.db.selectFrom('operations').select(['kind', 'doc', 'updated_ms']).where('id', '=', id);
    if (kind) query = query.where('kind', '=', kind);
    const row = await query.executeTakeFirst();
    return row && { kind: row.kind, operation: parse<OperationRecord>(row.doc), updatedMs: row.updated_ms };
  }

  async listOperations(kind: OperationKind, filter: OperationFilter = {}): Promise<OperationRecord[]> {
    let query = this.db
      .selectFrom('operations')
      .select('doc')
      .where('kind', '=', kind)
      .orderBy('create_time_ms')
      .orderBy('id');
    if (filter.username !== undefined) query = query.where('username', '=', filter.username);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.timeLowerBoundMs !== undefined) query = query.where('create_time_ms', '>=', filter.timeLowerBoundMs);
    if (filter.timeUpperBoundMs !== undefined) query = query.where('create_time_ms', '<=', filter.timeUpperBoundMs);
    return (await query.execute()).map((row) => parse<OperationRecord>(row.doc));
  }

  /** Merges `changes` into the stored operation (status and any other field); a status never moves back. */
  async updateOperation(id: string, changes: Partial<OperationRecord>): Promise<OperationRecord | undefined> {
    return this.transaction(async (tx) => {
      const current = (await tx.findOperation(id))?.operation;
      if (!current) return undefined;
      const updated = { ...current, ...changes };
      if (!statusMovesForward(current.status, updated.status)) updated.status = current.status;
      await tx.db
        .updateTable('operations')
        .set({ status: updated.status, doc: json(updated), updated_ms: this.now() })
        .where('id', '=', id)
        .execute();
      return updated;
    });
  }

  async getTask(operationId: string, serial: string): Promise<TaskRecord | undefined> {
    const row = await this.db
      .selectFrom('appliance_tasks')
      .select('doc')
      .where('operation_id', '=', operationId)
      .where('serial', '=', serial)
      .executeTakeFirst();
    return row && parse<TaskRecord>(row.doc);
  }

  async listTasks(operationId: string): Promise<TaskRecord[]> {
    const rows = await this.db
      .selectFrom('appliance_tasks')
      .select('doc')
      .where('operation_id', '=', operationId)
      .orderBy('serial')
      .execute();
    return rows.map((row) => parse<TaskRecord>(row.doc));
  }

  /** How many of an operation's tasks are in each status. */
  async taskStatusCounts(operationId: string): Promise<Partial<Record<ApplianceTaskStatus, number>>> {
    const rows = await this.db
      .selectFrom('appliance_tasks')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('operation_id', '=', operationId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /**
   * One page of an operation's tasks, by serial, with the version each appliance runs now (the
   * inventory's, `running_version`); `total` counts the tasks the filter matches, `counts` every
   * task of the operation by status and stage. `serial`: part of a serial, any case.
   */
  async taskPage(
    operationId: string,
    page: { status?: string; stage?: string; serial?: string; offset: number; limit: number },
  ): Promise<{
    total: number;
    counts: { status: string; stage: string; n: number }[];
    tasks: (TaskRecord & { running_version?: Version })[];
  }> {
    const counts = await this.db
      .selectFrom('appliance_tasks')
      .select(['status', 'stage', (eb) => eb.fn.countAll<number>().as('n')])
      .where('operation_id', '=', operationId)
      .groupBy(['status', 'stage'])
      .execute();
    const matching = this.matchingTasks(operationId, page);
    const { total } = await matching.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    if (page.limit === 0) return { total, counts, tasks: [] };
    const rows = await matching
      .leftJoin('appliances as a', 'a.serial', 't.serial')
      .select(['t.doc', 'a.doc as appliance'])
      .orderBy('t.serial')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    const tasks = rows.map((row) => {
      const running = row.appliance ? parse<ApplianceRecord>(row.appliance).current_version : undefined;
      return { ...parse<TaskRecord>(row.doc), ...(running ? { running_version: running } : {}) };
    });
    return { total, counts, tasks };
  }

  /** An operation's tasks (as `t`) that a page's filter matches. */
  private matchingTasks(operationId: string, filter: { status?: string; stage?: string; serial?: string }) {
    let query = this.db.selectFrom('appliance_tasks as t').where('t.operation_id', '=', operationId);
    if (filter.status !== undefined) query = query.where('t.status', '=', filter.status);
    if (filter.stage !== undefined) query = query.where('t.stage', '=', filter.stage);
    if (filter.serial !== undefined) {
      const part = `%${filter.serial.toUpperCase().replace(/[%_\\]/g, '')}%`;
      query = query.where((eb) => eb(eb.fn<string>('upper', ['t.serial']), 'like', part));
    }
    return query;
  }

  /** Merges `changes` into a task (status, stage, task_start_time, …). Returns the task, or undefined when unknown. */
  async updateTask(operationId: string, serial: string, changes: Partial<TaskRecord>): Promise<TaskRecord | undefined> {
    return this.transaction(async (tx) => {
      const current = await tx.getTask(operationId, serial);
      if (!current) return undefined;
      const updated = { ...current, ...changes };
      await tx.db
        .updateTable('appliance_tasks')
        .set({ status: updated.status, stage: updated.stage, doc: json(updated), updated_ms: this.now() })
        .where('operation_id', '=', operationId)
        .where('serial', '=', serial)
        .execute();
      return updated;
    });
  }

  /** Serials with a task not yet finished in any operation (for `operation_in_progress`). */
  async serialsWithTaskInProgress(): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('appliance_tasks')
      .select('serial')
      .distinct()
      .where('status', 'in', ['scheduled', 'running'])
      .execute();
    return new Set(rows.map((r) => r.serial));
  }

  // Logs --------------------------------------------------------------------------------------

  /** Appends to an operation's log (`serial` omitted) or to one appliance task's log. */
  async appendLog(operationId: string, entry: LogEntry, serial = ''): Promise<void> {
    await this.db
      .insertInto('log_entries')
      .values({
        operation_id: operationId,
        serial,
        timestamp_ms: Math.round(entry.timestamp * 1000),
        severity: entry.severity,
        doc: json(entry),
      })
      .execute();
  }

  async getLog(operationId: string, serial = ''): Promise<LogEntry[]> {
    const rows = await this.db
      .selectFrom('log_entries')
      .select('doc')
      .where('operation_id', '=', operationId)
      .where('serial', '=', serial)
      .orderBy('id')
      .execute();
    return rows.map((row) => parse<LogEntry>(row.doc));
  }

  /** Log lines written after `afterId` (the operation's and its tasks', or one task's), in the order written, at most `limit`. */
  async logEntries(
    operationId: string,
    options: { serial?: string; afterId?: number; limit?: number } = {},
  ): Promise<{ id: number; serial: string; entry: LogEntry }[]> {
    let query = this.db
      .selectFrom('log_entries')
      .select(['id', 'serial', 'doc'])
      .where('operation_id', '=', operationId)
      .where('id', '>', options.afterId ?? 0)
      .orderBy('id')
      .limit(options.limit ?? 5000);
    if (options.serial !== undefined) query = query.where('serial', '=', options.serial);
    return (await query.execute()).map((row) => ({ id: row.id, serial: row.serial, entry: parse<LogEntry>(row.doc) }));
  }

  // Sumo collector upgrade tasks --------------------------------------------------------------

  async insertCollectorUpgradeTask(task: Omit<CollectorUpgradeTask, 'id'>): Promise<CollectorUpgradeTask> {
    const row = await this.db
      .insertInto('collector_upgrade_tasks')
      .values(this.upgradeTaskRow(task))
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...task, id: row.id };
  }

  /**
   * Inserts a new task unless the collector already has an unfinished one (status 0, 1 or 6): then
   * nothing is inserted and undefined is returned. Atomic on both backends (a partial unique index).
   */
  async insertCollectorUpgradeTaskUnlessUpgrading(
    task: Omit<CollectorUpgradeTask, 'id'>,
  ): Promise<CollectorUpgradeTask | undefined> {
    const row = await this.db
      .insertInto('collector_upgrade_tasks')
      .values(this.upgradeTaskRow(task))
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst();
    return row && { ...task, id: row.id };
  }

  private upgradeTaskRow(task: Omit<CollectorUpgradeTask, 'id'>) {
    return {
      collector_id: task.collectorId,
      to_version: task.toVersion,
      request_time_ms: task.requestTime,
      status: task.status,
      message: task.message,
      updated_ms: this.now(),
    };
  }

  async getCollectorUpgradeTask(id: number): Promise<CollectorUpgradeTask | undefined> {
    const row = await this.db.selectFrom('collector_upgrade_tasks').selectAll().where('id', '=', id).executeTakeFirst();
    return row && collectorUpgradeTask(row);
  }

  async updateCollectorUpgradeTask(id: number, changes: { status: number; message?: string }): Promise<boolean> {
    const result = await this.db
      .updateTable('collector_upgrade_tasks')
      .set({
        status: changes.status,
        ...(changes.message !== undefined ? { message: changes.message } : {}),
        updated_ms: this.now(),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0;
  }

  /** The collector's unfinished upgrade task (status 0, 1 or 6), if any. */
  async unfinishedCollectorUpgradeTask(collectorId: number): Promise<CollectorUpgradeTask | undefined> {
    const row = await this.db
      .selectFrom('collector_upgrade_tasks')
      .selectAll()
      .where('collector_id', '=', collectorId)
      .where('status', 'in', UNFINISHED)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && collectorUpgradeTask(row);
  }

  /**
   * Collectors a new upgrade task to `toVersion` would be accepted for, by id: Installable, alive,
   * not running `toVersion` already and without an unfinished upgrade task.
   */
  async listUpgradableCollectors(query: {
    toVersion: string;
    offset: number;
    limit: number;
  }): Promise<CollectorRecord[]> {
    const rows = await this.db
      .selectFrom('collectors as c')
      .select('c.doc')
      .where('c.collector_type', '=', 'Installable')
      .where('c.alive', '=', 1)
      .where((eb) => eb.or([eb('c.collector_version', 'is', null), eb('c.collector_version', '<>', query.toVersion)]))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('collector_upgrade_tasks as t')
              .select('t.id')
              .whereRef('t.collector_id', '=', 'c.id')
              .where('t.status', 'in', UNFINISHED),
          ),
        ),
      )
      .orderBy('c.id')
      .limit(query.limit)
      .offset(query.offset)
      .execute();
    return rows.map((row) => parse<CollectorRecord>(row.doc));
  }

  // API access keys (hashed; the key itself is never stored) --------------------------------------

  /** Stores (or replaces: a new key, active again) an access key; every change bumps the keys' version. */
  async putAccessKey(accessId: string, keyHash: string, role: string, expiresMs?: number): Promise<void> {
    await this.transaction(async (tx) => {
      await tx.db
        .insertInto('access_keys')
        .values({ access_id: accessId, key_hash: keyHash, role, created_ms: this.now(), expires_ms: expiresMs ?? null })
        .onConflict((oc) =>
          oc.column('access_id').doUpdateSet((eb) => ({
            key_hash: eb.ref('excluded.key_hash'),
            role: eb.ref('excluded.role'),
            expires_ms: eb.ref('excluded.expires_ms'),
            revoked_ms: null,
          })),
        )
        .execute();
      await tx.bumpAccessKeysVersion();
    });
  }

  async getAccessKey(accessId: string): Promise<AccessKeyRecord | undefined> {
    const row = await this.db
      .selectFrom('access_keys')
      .selectAll()
      .where('access_id', '=', accessId)
      .executeTakeFirst();
    return row && accessKeyRecord(row);
  }

  async listAccessKeys(): Promise<AccessKeyRecord[]> {
    return (await this.db.selectFrom('access_keys').selectAll().orderBy('access_id').execute()).map(accessKeyRecord);
  }

  /** Revokes a key (kept, so the list shows it); false when there is no such key or it is revoked already. */
  async revokeAccessKey(accessId: string): Promise<boolean> {
    return this.transaction(async (tx) => {
      const result = await tx.db
        .updateTable('access_keys')
        .set({ revoked_ms: this.now() })
        .where('access_id', '=', accessId)
        .where('revoked_ms', 'is', null)
        .executeTakeFirst();
      const revoked = result.numUpdatedRows > 0;
      if (revoked) await tx.bumpAccessKeysVersion();
      return revoked;
    });
  }

  /** Records a key's last use (at most once a minute per key is enough for a list). */
  async touchAccessKey(accessId: string, atMs = this.now()): Promise<void> {
    await this.db.updateTable('access_keys').set({ last_used_ms: atMs }).where('access_id', '=', accessId).execute();
  }

  /** A number that changes whenever a key is created, replaced or revoked: API processes drop cached logins on a change. */
  async accessKeysVersion(): Promise<string> {
    return (await this.getSetting(ACCESS_KEYS_VERSION)) ?? '0';
  }

  private async bumpAccessKeysVersion(): Promise<void> {
    await this.setSetting(ACCESS_KEYS_VERSION, `${this.now()}-${Math.random().toString(36).slice(2)}`);
  }

  async countAccessKeys(): Promise<number> {
    const row = await this.db
      .selectFrom('access_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return row.n;
  }

  // Settings ----------------------------------------------------------------------------------

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
  }

  // Audit trail (every change and refused attempt; never a key or a request body) ---------------

  /** Appends one entry to the audit trail; returns its id. */
  async recordAudit(entry: AuditEntry): Promise<number> {
    const { atMs, actor, action, target, outcome, client, details } = entry;
    const row = await this.db
      .insertInto('audit_log')
      .values({ at_ms: atMs, actor, action, target, outcome, client, details: json(details) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  /** Audit entries oldest first: since `sinceMs` (inclusive), of one actor, at most `limit`. */
  async listAudit(query: {
    sinceMs?: number;
    actor?: string;
    limit: number;
  }): Promise<(AuditEntry & { id: number })[]> {
    let select = this.db.selectFrom('audit_log').selectAll().orderBy('at_ms').orderBy('id').limit(query.limit);
    if (query.sinceMs !== undefined) select = select.where('at_ms', '>=', query.sinceMs);
    if (query.actor !== undefined) select = select.where('actor', '=', query.actor);
    return (await select.execute()).map((row) => ({
      id: row.id,
      atMs: row.at_ms,
      actor: row.actor,
      action: row.action,
      target: row.target,
      outcome: row.outcome,
      client: row.client,
      details: parse<Record<string, unknown>>(row.details),
    }));
  }
}
