/**
 * The same repository tests on both backends: SQLite in a file and a real PostgreSQL server
 * (test/helpers/store-backends.ts says when the PostgreSQL half runs).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { DuplicateKeyError, openDb, StoreError } from '../../store/db';
import { ineligibleAppliances } from '../../store/fleet-facts';
import { FleetStore, type OperationRecord, type TaskRecord } from '../../store/fleet-store';
import { migrate, MIGRATIONS } from '../../store/migrations';
import { BACKENDS, type Backend } from '../helpers/store-backends';

const root = join(__dirname, '..', '..');

const operation = (id: string, patch: Partial<OperationRecord> = {}): OperationRecord => ({
  id,
  username: 'alice',
  status: 'scheduled',
  create_time: '2026-11-01T10:00:00.000Z',
  product_code: 'SH',
  target_version: { version_id: '9.16.0-100' },
  reboot: false,
  comment: '',
  appliances: ['S1212345678', 'S1312345678'],
  rollout: { canary: 1 },
  ...patch,
});
const task = (serial: string): TaskRecord => ({
  operation_id: 'x',
  serial,
  status: 'scheduled',
  stage: 'waiting',
  target_version: { version_id: '9.16.0-100' },
  reboot: false,
  current_version: { version_id: '9.12.0-100' },
});

describe.each(BACKENDS)('%s store', (_name, makeBackend) => {
  let backend: Backend;
  let url: string;
  let store: FleetStore;
  let clock = 1_800_000_000_000;

  beforeAll(async () => {
    backend = await makeBackend();
  });
  afterAll(() => backend?.stop());
  beforeEach(async () => {
    url = await backend.freshUrl();
    store = new FleetStore(openDb(url), () => clock);
    await migrate(store.db);
  });
  afterEach(() => store?.close());

  test('migrations apply once, in order, and record what they applied', async () => {
    expect(await migrate(store.db)).toEqual([]);
    const rows = await store.db.selectFrom('schema_migrations').select('version').orderBy('version').execute();
    expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
  });

  test('two processes migrating one new database at once apply each migration exactly once', async () => {
    const fresh = await backend.freshUrl();
    const script = `const { openDb } = require(${JSON.stringify(join(root, 'store/db'))});
      const { migrate } = require(${JSON.stringify(join(root, 'store/migrations'))});
      (async () => { const db = openDb(${JSON.stringify(fresh)}); console.log(JSON.stringify(await migrate(db))); await db.destroy(); })()
        .catch((e) => { console.error(e); process.exit(1); });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const db = openDb(fresh);
    try {
      const mine = await migrate(db);
      expect(await exited).toBe(0);
      const theirs = JSON.parse(out) as number[];
      expect([...mine, ...theirs].sort()).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await db.destroy();
    }
  });

  test('appliances round-trip whole; connection details stay out of them', async () => {
    const appliance = {
      serial: 'S1212345678',
      product_code: 'SH' as const,
      arch: 'x86_64',
      connected: true,
      current_version: { version_id: '9.12.0-100', version_number: '9.12.0' },
      groups: ['lab'],
      rack: 'B7',
    };
    await store.upsertAppliance(appliance, { address: '10.1.2.3', username: 'admin', password: 's3cret' });
    expect(await store.getAppliance('S1212345678')).toEqual(appliance);
    expect(JSON.stringify(await store.listAppliances())).not.toContain('s3cret');
    expect(await store.getDeviceConnection('S1212345678')).toEqual({
      address: '10.1.2.3',
      username: 'admin',
      password: 's3cret',
    });
    // An update without connection details keeps the stored ones.
    await store.upsertAppliance({ ...appliance, hostname: 'sh-1' });
    expect((await store.getAppliance('S1212345678'))?.hostname).toBe('sh-1');
    expect((await store.getDeviceConnection('S1212345678'))?.password).toBe('s3cret');
    await store.upsertAppliance({ serial: 'E1212345678', product_code: 'EX', connected: false });
    expect((await store.listAppliances({ product_code: 'EX' })).map((a) => a.serial)).toEqual(['E1212345678']);
    expect((await store.listAppliances({ serials: ['E1212345678', 'nope'] })).map((a) => a.serial)).toEqual([
      'E1212345678',
    ]);
    expect(await store.getAppliance('nope')).toBeUndefined();
    // More serials than one query binds: every one found once, in serial order, filtered by product.
    const many = Array.from({ length: 1200 }, (_, i) => `W12${i.toString(16).toUpperCase().padStart(8, '0')}`);
    for (const serial of many) await store.upsertAppliance({ serial, product_code: 'WW', connected: true });
    const asked = [...many].reverse().concat(['E1212345678', many[3]!]);
    expect((await store.listAppliances({ serials: asked })).map((a) => a.serial)).toEqual(['E1212345678', ...many]);
    expect((await store.listAppliances({ serials: asked, product_code: 'EX' })).map((a) => a.serial)).toEqual([
      'E1212345678',
    ]);
  });

  test('a refresh records connectivity, last-seen and each version change', async () => {
    await store.upsertAppliance({
      serial: 'S1212345678',
      product_code: 'SH',
      connected: true,
      current_version: { version_id: '9.12.0-100' },
    });
    expect(await store.lastSeenMs('S1212345678')).toBe(clock);
    clock += 60_000;
    await store.recordApplianceSeen('S1212345678', { connected: true, current_version: { version_id: '9.14.0-100' } });
    clock += 60_000;
    await store.recordApplianceSeen('S1212345678', { connected: false });
    expect(await store.lastSeenMs('S1212345678')).toBe(clock - 60_000);
    expect((await store.getAppliance('S1212345678'))?.connected).toBe(false);
    await store.recordApplianceSeen('S1212345678', { connected: true, current_version: { version_id: '9.14.0-100' } });
    expect(await store.versionHistory('S1212345678')).toEqual([
      {
        serial: 'S1212345678',
        from_version_id: '9.12.0-100',
        to_version_id: '9.14.0-100',
        operation_id: null,
        at_ms: clock - 60_000,
      },
    ]);
    await store.recordVersionChange({
      serial: 'S1212345678',
      from_version_id: '9.14.0-100',
      to_version_id: '9.16.0-100',
      operation_id: '7',
      at_ms: clock + 1,
    });
    expect(await store.previousVersionIds('S1212345678')).toEqual(new Set(['9.12.0-100', '9.14.0-100', '9.16.0-100']));
  });

  test('previous versions by serial: the whole fleet, or only the serials asked for, a chunk per query', async () => {
    const many = Array.from({ length: 1200 }, (_, i) => `S12${i.toString(16).toUpperCase().padStart(8, '0')}`);
    await store.db.transaction().execute(async (tx) => {
      const inTx = new FleetStore(tx, () => clock);
      for (const [i, serial] of many.entries()) {
        await inTx.recordVersionChange({
          serial,
          from_version_id: '9.12.0-100',
          to_version_id: `9.14.${i}-100`,
          operation_id: null,
          at_ms: clock,
        });
        if (i % 2)
          await inTx.recordVersionChange({
            serial,
            from_version_id: `9.14.${i}-100`,
            to_version_id: '9.16.0-100',
            operation_id: '7',
            at_ms: clock + 1,
          });
      }
    });
    const expected = (serial: string) => {
      const i = many.indexOf(serial);
      return new Set(['9.12.0-100', `9.14.${i}-100`, ...(i % 2 ? ['9.16.0-100'] : [])]);
    };
    // Asked: every other serial (600 with history), one of them twice and one without history: 601 distinct, two queries.
    const asked = [...many.filter((_, i) => i % 2 === 0), many[0]!, 'S12FFFFFFFF'];
    const bound: number[] = [];
    const logged = new FleetStore(openDb(url, { log: (event) => void bound.push(event.query.parameters.length) }));
    const some = await logged.previousVersionIdsBySerial(asked).finally(() => logged.close());
    expect(bound).toEqual([500, 101]);
    expect([...some.keys()].sort()).toEqual(many.filter((_, i) => i % 2 === 0));
    for (const [serial, ids] of some) expect(ids).toEqual(expected(serial));
    expect((await store.previousVersionIdsBySerial([])).size).toBe(0);
    // Without serials: every appliance's history, as the fleet-wide eligibility routes read it.
    const all = await store.previousVersionIdsBySerial();
    expect([...all.keys()].sort()).toEqual(many);
    for (const [serial, ids] of all) expect(ids).toEqual(expected(serial));
  });

  test('a downgrade request reads the version history of its own appliances only', async () => {
    const sh = (serial: string) => ({
      serial,
      product_code: 'SH' as const,
      arch: 'x86_64',
      connected: true,
      current_version: { version_id: '9.16.0-100' },
    });
    for (const serial of ['S1200000001', 'S1200000002', 'S1200000003']) await store.upsertAppliance(sh(serial));
    await store.addImage({
      repository: 'customer',
      source: 'customer_url',
      image: {
        id: 'sh-9.12',
        url: 'https://cdn.example/sh.img',
        image_definition: {
          product_code: 'SH',
          arch: 'x86_64',
          target_version: { version_id: '9.12.0-100' },
          delta: false,
        },
      },
    });
    for (const serial of ['S1200000001', 'S1200000003'])
      await store.recordVersionChange({
        serial,
        from_version_id: '9.12.0-100',
        to_version_id: '9.16.0-100',
        operation_id: null,
        at_ms: clock,
      });
    const read = jest.spyOn(store, 'previousVersionIdsBySerial');
    const request = {
      product_code: 'SH' as const,
      target_version: { version_id: '9.12.0-100' },
      appliances: ['S1200000001', 'S1200000002', 'E1200000009'],
    };
    expect(await ineligibleAppliances(store, 'downgrade', request)).toEqual([
      { serial: 'S1200000002', category: 'not_previously_upgraded_to' },
      { serial: 'E1200000009', category: 'unknown' },
    ]);
    expect(read.mock.calls).toEqual([[['S1200000001', 'S1200000002']]]);
    read.mockRestore();
  });

  test('collectors round-trip and page', async () => {
    for (let id = 1; id <= 5; id++)
      await store.upsertCollector({
        id: 100000000 + id,
        name: `c${id}`,
        collectorType: id === 5 ? 'Hosted' : 'Installable',
        alive: id !== 4,
        collectorVersion: '19.115-37',
        links: [{ rel: 'sources', href: `/v1/collectors/${id}/sources` }],
      });
    expect((await store.getCollector(100000001))?.links).toEqual([
      { rel: 'sources', href: '/v1/collectors/1/sources' },
    ]);
    expect((await store.listCollectors({ offset: 1, limit: 2 })).map((c) => c.id)).toEqual([100000002, 100000003]);
    await store.upsertCollector({
      id: 100000001,
      collectorType: 'Installable',
      alive: true,
      collectorVersion: '20.1-2749',
    });
    expect((await store.getCollector(100000001))?.collectorVersion).toBe('20.1-2749');
  });

  test('images live in their repository and source; a duplicate id changes nothing', async () => {
    const def = (arch: string, delta = false) => ({
      product_code: 'SH' as const,
      arch,
      target_version: { version_id: '9.16.0-100' },
      delta,
    });
    await store.addImage({
      repository: 'riverbed',
      source: 'riverbed',
      image: {
        id: 'rb-1',
        image_definition: def('x86_64'),
        url: 'https://x/1.img',
        source_versions: [{ version_id: '9.14.0-100' }],
      },
    });
    await store.addImage({
      repository: 'customer',
      source: 'local',
      image: { id: 'loc-1', image_definition: def('i386'), modification_time: 1700000000 },
    });
    await store.addImage({
      repository: 'customer',
      source: 'customer_url',
      image: {
        id: 'url-1',
        image_definition: { ...def('x86_64', true), source_version: { version_id: '9.14.0-100' } },
        url: 'https://x/d.img',
        registration_time: 1,
      },
    });
    await expect(
      store.addImage({ repository: 'customer', source: 'local', image: { id: 'rb-1', image_definition: def('i386') } }),
    ).rejects.toThrow(DuplicateKeyError);
    expect((await store.getImage('rb-1'))?.repository).toBe('riverbed');
    expect((await store.listImages({ repository: 'customer' })).map((i) => i.image.id)).toEqual(['loc-1', 'url-1']);
    expect((await store.listImages({ source: 'customer_url' }))[0]?.image.image_definition.source_version).toEqual({
      version_id: '9.14.0-100',
    });
    expect(await store.deleteImage('url-1', 'local')).toBe(false);
    expect(await store.deleteImage('url-1', 'customer_url')).toBe(true);
    expect(await store.getImage('url-1')).toBeUndefined();
  });

  test('an operation lands with its tasks atomically', async () => {
    await store.insertOperation('upgrade', operation('1'), [task('S1212345678'), task('S1312345678')]);
    expect(await store.getOperation('upgrade', '1')).toEqual(operation('1'));
    expect(await store.getOperation('downgrade', '1')).toBeUndefined();
    expect((await store.listTasks('1')).map((t) => t.serial)).toEqual(['S1212345678', 'S1312345678']);
    // The second task repeats a serial: nothing of operation 2 may remain.
    await expect(
      store.insertOperation('upgrade', operation('2'), [task('S1212345678'), task('S1212345678')]),
    ).rejects.toThrow(DuplicateKeyError);
    expect(await store.getOperation('upgrade', '2')).toBeUndefined();
    expect(await store.listTasks('2')).toEqual([]);
    expect(await store.findOperation('1')).toEqual({ kind: 'upgrade', operation: operation('1'), updatedMs: clock });
    expect(await store.findOperation('1', 'reboot')).toBeUndefined();
  });

  test('operations filter by username, status and create-time bounds', async () => {
    await store.insertOperation('upgrade', operation('1', { create_time: '2026-11-01T10:00:00.000Z' }));
    await store.insertOperation(
      'upgrade',
      operation('2', { create_time: '2026-11-02T10:00:00.000Z', username: 'bob', status: 'running' }),
    );
    await store.insertOperation(
      'upgrade',
      operation('3', { create_time: '2026-11-03T10:00:00.000Z', status: 'running' }),
    );
    await store.insertOperation('reboot', operation('4'));
    const ids = async (f: Parameters<FleetStore['listOperations']>[1]) =>
      (await store.listOperations('upgrade', f)).map((o) => o.id);
    expect(await ids({})).toEqual(['1', '2', '3']);
    expect(await ids({ username: 'alice' })).toEqual(['1', '3']);
    expect(await ids({ status: 'running' })).toEqual(['2', '3']);
    expect(
      await ids({
        timeLowerBoundMs: Date.parse('2026-11-02T10:00:00Z'),
        timeUpperBoundMs: Date.parse('2026-11-02T10:00:00Z'),
      }),
    ).toEqual(['2']);
    expect(
      await ids({ username: 'alice', status: 'running', timeLowerBoundMs: Date.parse('2026-11-02T00:00:00Z') }),
    ).toEqual(['3']);
  });

  test('operation and task updates merge; in-progress serials are known', async () => {
    await store.insertOperation('upgrade', operation('1'), [task('S1212345678'), task('S1312345678')]);
    expect((await store.updateOperation('1', { status: 'running' }))?.status).toBe('running');
    expect((await store.getOperation('upgrade', '1'))?.rollout).toEqual({ canary: 1 });
    await store.updateTask('1', 'S1212345678', {
      status: 'successful',
      stage: 'completed',
      task_start_time: { datetime: 1800000000, time_type: 'utc' },
    });
    expect(await store.getTask('1', 'S1212345678')).toMatchObject({
      status: 'successful',
      stage: 'completed',
      task_start_time: { datetime: 1800000000, time_type: 'utc' },
      reboot: false,
    });
    expect(await store.updateTask('1', 'S9999999999', { status: 'failed' })).toBeUndefined();
    expect(await store.serialsWithTaskInProgress()).toEqual(new Set(['S1312345678']));
  });

  test('a page of tasks: by serial, filtered by status, stage and part of a serial (any case), counted, the running version beside each', async () => {
    const serials = ['S1212345678', 'S1312345678', 'S14AB0000001', 'S15AB0000002'];
    await store.insertOperation('upgrade', operation('1', { appliances: serials }), serials.map(task));
    await store.upsertAppliance({
      serial: 'S1312345678',
      product_code: 'SH',
      connected: true,
      current_version: { version_id: '9.14.0-100' },
    });
    await store.updateTask('1', 'S14AB0000001', { status: 'failed', stage: 'failed', message: 'no' });
    const page = await store.taskPage('1', { offset: 1, limit: 2 });
    expect(page.total).toBe(4);
    expect(page.tasks.map((t) => [t.serial, t.running_version?.version_id])).toEqual([
      ['S1312345678', '9.14.0-100'],
      ['S14AB0000001', undefined],
    ]);
    expect(page.counts.sort((a, b) => a.status.localeCompare(b.status))).toEqual([
      { status: 'failed', stage: 'failed', n: 1 },
      { status: 'scheduled', stage: 'waiting', n: 3 },
    ]);
    expect(await store.taskPage('1', { status: 'failed', offset: 0, limit: 10 })).toMatchObject({
      total: 1,
      tasks: [{ serial: 'S14AB0000001', message: 'no' }],
    });
    expect(
      (await store.taskPage('1', { stage: 'waiting', serial: 'ab0', offset: 0, limit: 10 })).tasks.map((t) => t.serial),
    ).toEqual(['S15AB0000002']);
    expect(await store.taskPage('1', { offset: 0, limit: 0 })).toMatchObject({ total: 4, tasks: [] });
    expect((await store.taskPage('2', { offset: 0, limit: 10 })).total).toBe(0);
  });

  test('operation and task logs are separate and in order', async () => {
    await store.appendLog('1', { timestamp: 1800000000, severity: 'info', log_entry: 'operation created' });
    await store.appendLog(
      '1',
      { timestamp: 1800000001, severity: 'notice', log_entry: 'downloading', progress: 0.5 },
      'S1212345678',
    );
    await store.appendLog('1', { timestamp: 1800000002, severity: 'err', log_entry: 'install failed' }, 'S1212345678');
    expect(await store.getLog('1')).toEqual([
      { timestamp: 1800000000, severity: 'info', log_entry: 'operation created' },
    ]);
    expect((await store.getLog('1', 'S1212345678')).map((e) => e.log_entry)).toEqual(['downloading', 'install failed']);
    expect((await store.getLog('1', 'S1212345678'))[0]?.progress).toBe(0.5); // Every line of the operation after a given one, or one task's, in the order written.
    const all = await store.logEntries('1');
    expect(all.map((l) => [l.serial, l.entry.log_entry])).toEqual([
      ['', 'operation created'],
      ['S1212345678', 'downloading'],
      ['S1212345678', 'install failed'],
    ]);
    expect((await store.logEntries('1', { afterId: all[0]!.id, limit: 1 })).map((l) => l.entry.log_entry)).toEqual([
      'downloading',
    ]);
    expect((await store.logEntries('1', { serial: '' })).map((l) => l.id)).toEqual([all[0]!.id]);
  });

  test('collector upgrade tasks get increasing ids and keep their status', async () => {
    const a = await store.insertCollectorUpgradeTask({
      collectorId: 100000001,
      toVersion: '20.1-2749',
      requestTime: 1465855411044,
      status: 0,
      message: '',
    });
    const b = await store.insertCollectorUpgradeTask({
      collectorId: 100000002,
      toVersion: '20.1-2749',
      requestTime: 1465855411045,
      status: 0,
      message: '',
    });
    expect(b.id).toBeGreaterThan(a.id);
    expect(await store.updateCollectorUpgradeTask(a.id, { status: 3, message: 'timed out after 30 minutes' })).toBe(
      true,
    );
    expect(await store.getCollectorUpgradeTask(a.id)).toEqual({
      ...a,
      status: 3,
      message: 'timed out after 30 minutes',
    });
    expect(await store.updateCollectorUpgradeTask(999999, { status: 2 })).toBe(false);
    expect(await store.getCollectorUpgradeTask(999999)).toBeUndefined();
  });

  if (_name === 'postgres') {
    /** Ends the server's backends of this database (all but `admin`'s own, or only `pid`), as a restart or failover does. */
    const terminate = (admin: pg.Client, pid?: number) =>
      admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND ($1::int IS NULL OR pid = $1)',
        [pid ?? null],
      );
    const withAdmin = async (fn: (admin: pg.Client) => Promise<void>) => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await fn(admin).finally(() => admin.end());
    };

    test('a connection lost in the middle of a transaction fails it, nothing of it lands, and the store goes on', () =>
      withAdmin(async (admin) => {
        const lost = store.db.transaction().execute(async (tx) => {
          await tx.insertInto('settings').values({ key: 'half', value: 'done' }).execute();
          const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(tx);
          expect((await terminate(admin, rows[0]!.pid)).rowCount).toBe(1);
          await tx.selectFrom('settings').selectAll().execute();
        });
        await expect(lost).rejects.toThrow(StoreError);
        expect(await store.getSetting('half')).toBeUndefined();
      }));

    test('idle pooled connections the server closed are replaced, and the process goes on', () =>
      withAdmin(async (admin) => {
        await Promise.all(['a', 'b', 'c'].map((key) => store.getSetting(key)));
        const { rowCount: ended } = await terminate(admin);
        expect(ended).toBeGreaterThan(0);
        // Until the server has let them go; each closed connection's 'error' reaches the pool meanwhile.
        const others = async () =>
          Number(
            (
              await admin.query(
                'SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
              )
            ).rows[0].n,
          );
        while ((await others()) > 0) continue;
        // A statement may still meet a connection whose end the pool has not heard yet: at most one per ended connection.
        let failure: unknown;
        for (let attempt = 0; attempt <= (ended ?? 0); attempt++) {
          failure = await store.setSetting('after', 'restart').then(
            () => undefined,
            (err: unknown) => err,
          );
          if (!failure) break;
        }
        expect(failure).toBeUndefined();
        expect(await store.getSetting('after')).toBe('restart');
      }));
  }

  test('settings keep the last value', async () => {
    expect(await store.getSetting('logging_level')).toBeUndefined();
    await store.setSetting('logging_level', 'info');
    await store.setSetting('logging_level', 'debug');
    expect(await store.getSetting('logging_level')).toBe('debug');
  });
});

test('SQLite: two processes write to one store file at once and nothing is lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-store-mp-'));
  const url = `sqlite:${join(dir, 'fleet.db')}`;
  const store = await FleetStore.open(url);
  try {
    const script = `const { FleetStore } = require(${JSON.stringify(join(root, 'store/fleet-store'))});
      (async () => { const s = await FleetStore.open(${JSON.stringify(url)});
        for (let i = 0; i < 300; i++) await s.appendLog('op', { timestamp: i, severity: 'info', log_entry: 'child ' + i });
        await s.close(); })().catch((e) => { console.error(e); process.exit(1); });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    for (let i = 0; i < 300; i++)
      await store.appendLog('op', { timestamp: i, severity: 'info', log_entry: `parent ${i}` });
    expect(await exited).toBe(0);
    const log = await store.getLog('op');
    expect(log).toHaveLength(600);
    expect(log.filter((e) => e.log_entry.startsWith('child')).map((e) => e.timestamp)).toEqual([...Array(300).keys()]);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
