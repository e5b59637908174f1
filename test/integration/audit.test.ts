/**
 * The audit trail over a real socket and the real stack (dev server, simulator process, SQLite
 * store, worker): every change made through the API is recorded with who, when, what, from where
 * and how it ended (operations created and cancelled, a task cancelled, a task state set, a log
 * appended, images uploaded / registered / deleted, the logging level set, access keys created /
 * rotated / revoked), refused attempts too (401 with the attempted access id, 403, 429), the
 * fleet CLI's operation commands beside them (actor `cli:<user>`, client `cli`); GET
 * /api/fleet/1.0/audit filters by time and actor and is for admins only; a failed audit write
 * never fails a request. No key appears anywhere in the trail.
 */
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_PREFIX } from '../../api/admin-routes';
import { createApi } from '../../api/server';
import type { AuditEntry } from '../../domain/access';
import { createLogger } from '../../domain/logging';
import type { FleetStore } from '../../store/fleet-store';
import { CMCC_PREFIX, SCC_KEYS, startSccApi, type SccApi } from '../helpers/scc-api';
import { listenOnLoopback } from '../helpers/servers';

jest.setTimeout(180_000);

const taskQueue = 'integration-audit';
const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const CLI_ACTOR = `cli:${userInfo().username}`;

let api: SccApi;
/** Every audit entry from this suite is at or after this time (seconds). */
let suiteStart: number;

beforeAll(async () => {
  suiteStart = Date.now() / 1000;
  api = await startSccApi({ taskQueue, appliances: 30, speed: 200 });
});
afterAll(async () => {
  await api?.stop();
});

const call: SccApi['call'] = (method, path, options) => api.call(method, path, options);
const trail = async (query = ''): Promise<AuditEntry[]> => {
  const res = await call('GET', `/audit${query}`, { who: 'admin', prefix: ADMIN_PREFIX });
  expect(res.status).toBe(200);
  return res.json as AuditEntry[];
};

/**
 * The entry matching `expected`, once recorded: the trail is written when the answer has gone out,
 * so a test waits for it (reads of the trail until it is there; 60 s only ends a test where it never comes).
 */
async function recorded(expected: Partial<AuditEntry> & { details?: Record<string, unknown> }): Promise<AuditEntry> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const entries = await trail(`?since=${suiteStart}&limit=10000`);
    const found = entries.find((e) => {
      try {
        expect(e).toMatchObject(expected);
        return true;
      } catch {
        return false;
      }
    });
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(
        `no audit entry like ${JSON.stringify(expected)}; the trail has:\n${entries.map((e) => JSON.stringify(e)).join('\n')}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cliEnv = () => ({
  ...process.env,
  FLEET_TEMPORAL_ADDRESS: api.stack.env.address,
  FLEET_TASK_QUEUE: taskQueue,
  FLEET_DEVICE_API_URL: api.stack.sim.url,
  FLEET_STORE_URL: api.stack.storeUrl,
  FLEET_LOG_LEVEL: 'warn',
});
const fleet = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'client/cli.ts'), ...args], { cwd: root, env: cliEnv() });

/** Appliances of one product code an upgrade to `version` accepts now (each test takes its own). */
let eligible: { product: string; version: string; serials: string[] } | undefined;
async function takeAppliances(n: number): Promise<{ product: string; version: string; serials: string[] }> {
  if (!eligible) {
    for (const product of ['SH', 'EX', 'IC', 'SMC', 'WW', 'GC']) {
      const versions = (await call('GET', `/versions/upgradeable/${product}`, { who: 'reader' })).json as {
        version: { version_id: string };
      }[];
      for (const {
        version: { version_id },
      } of versions) {
        const upgradeable = ((await call('GET', `/upgradeable_appliances/${product}/${version_id}`, { who: 'reader' }))
          .json.upgradeable ?? []) as { serial: string }[];
        if (!eligible || upgradeable.length > eligible.serials.length)
          eligible = { product, version: version_id, serials: upgradeable.map((a) => a.serial) };
      }
    }
  }
  if (!eligible || eligible.serials.length < n)
    throw new Error(`fewer than ${n} eligible appliances left: ${JSON.stringify(eligible)}`);
  return { ...eligible, serials: eligible.serials.splice(0, n) };
}

const local = (path: string) => `/api/cmc.upgrades/1.0${path}`;
const CLIENT = expect.stringMatching(/127\.0\.0\.1/);

describe('every change through the API is recorded: who, when, what, from where, how it ended', () => {
  test('an operation created, a task state set, a log appended, a task cancelled, the operation cancelled (and a cancel of what has finished)', async () => {
    const { product, version, serials } = await takeAppliances(2);
    const before = Date.now() / 1000;
    const later = Math.floor(Date.now() / 1000) + 3600;
    const created = await call('POST', '/operations/upgrade', {
      body: {
        product_code: product,
        target_version: { version_id: version },
        reboot: false,
        upgrade_time: { datetime: later, time_type: 'utc' },
        comment: 'audited',
        appliances: serials,
      },
    });
    expect([created.status, created.json.error_text]).toEqual([201, undefined]);
    const id = created.json.id as string;
    const [first, second] = serials as [string, string];
    const task = `/operations/upgrade/${id}/appliances/${first}`;
    expect(
      (await call('PUT', `${task}/state`, { who: 'internal', body: { status: 'running', stage: 'initiating' } }))
        .status,
    ).toBe(200);
    expect(
      (
        await call('POST', `${task}/log`, {
          who: 'internal',
          body: { timestamp: 1700000000, severity: 'notice', log_entry: 'from outside' },
        })
      ).status,
    ).toBe(204);
    expect((await call('POST', `/operations/upgrade/${id}/appliances/${second}/cancel`)).status).toBe(204);
    expect((await call('POST', `/operations/upgrade/${id}/cancel`)).status).toBe(204);

    const createdEntry = await recorded({
      action: 'postOperationsUpgrade',
      actor: 'operator',
      target: local('/operations/upgrade'),
      outcome: 'ok',
      client: CLIENT,
      details: { created_id: id },
    });
    expect(createdEntry.time).toBeGreaterThanOrEqual(Math.floor(before));
    expect(createdEntry.time).toBeLessThanOrEqual(Date.now() / 1000);
    expect(createdEntry.details).toEqual({ created_id: id });
    await recorded({
      action: 'putOperationsUpgradeByIdAppliancesBySerialState',
      actor: 'internal',
      target: local(`${task}/state`),
      outcome: 'ok',
      client: CLIENT,
      details: { id, serial: first },
    });
    await recorded({
      action: 'postOperationsUpgradeByIdAppliancesBySerialLog',
      actor: 'internal',
      target: local(`${task}/log`),
      outcome: 'ok',
      details: { id, serial: first },
    });
    await recorded({
      action: 'postOperationsUpgradeByIdAppliancesBySerialCancel',
      actor: 'operator',
      outcome: 'ok',
      details: { id, serial: second },
    });
    const cancelled = await recorded({
      action: 'postOperationsUpgradeByIdCancel',
      actor: 'operator',
      target: local(`/operations/upgrade/${id}/cancel`),
      outcome: 'ok',
    });
    expect(cancelled.details).toEqual({ id });
    // Bodies are never kept: not the comment, not the log line.
    expect(JSON.stringify(await trail())).not.toMatch(/audited|from outside/);

    // Once it has finished, a cancel is refused (409) and recorded as refused.
    const deadline = Date.now() + 60_000;
    while (
      (await call('GET', `/operations/upgrade/${id}`, { who: 'reader' })).json.status !== 'cancelled' &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 200));
    expect((await call('POST', `/operations/upgrade/${id}/cancel`)).status).toBe(409);
    await recorded({
      action: 'postOperationsUpgradeByIdCancel',
      actor: 'operator',
      outcome: '409 ALREADY_FINISHED',
      details: { id },
    });
  });

  test('images: a URL registered, an image uploaded, both deleted', async () => {
    const sim = api.stack.sim.url;
    const registered = await call('POST', '/image_repositories/customer/urls', {
      body: { url: `${sim}/images/customer/SH/x86_64/9.12.0-100.img` },
    });
    expect([registered.status, registered.json.error_text]).toEqual([201, undefined]);
    const uploaded = await call('POST', '/image_repositories/customer/local_images', {
      body: { url: `${sim}/images/customer/EX/i386/9.12.1-100.img` },
    });
    expect([uploaded.status, uploaded.json.error_text]).toEqual([201, undefined]);
    expect((await call('DELETE', `/image_repositories/customer/url/${registered.json.id}`)).status).toBe(204);
    expect((await call('DELETE', `/image_repositories/customer/local_image/${uploaded.json.id}`)).status).toBe(204);
    // Again: nothing left to delete.
    expect((await call('DELETE', `/image_repositories/customer/local_image/${uploaded.json.id}`)).status).toBe(404);

    await recorded({
      action: 'postImageRepositoriesCustomerUrls',
      actor: 'operator',
      target: local('/image_repositories/customer/urls'),
      outcome: 'ok',
      details: { created_id: registered.json.id },
    });
    await recorded({
      action: 'postImageRepositoriesCustomerLocalImages',
      actor: 'operator',
      outcome: 'ok',
      details: { created_id: uploaded.json.id },
    });
    await recorded({
      action: 'deleteImageRepositoriesCustomerUrlById',
      actor: 'operator',
      target: local(`/image_repositories/customer/url/${registered.json.id}`),
      outcome: 'ok',
      details: { id: registered.json.id },
    });
    await recorded({
      action: 'deleteImageRepositoriesCustomerLocalImageById',
      actor: 'operator',
      outcome: 'ok',
      details: { id: uploaded.json.id },
    });
    await recorded({
      action: 'deleteImageRepositoriesCustomerLocalImageById',
      actor: 'operator',
      outcome: '404 NOT_FOUND',
      details: { id: uploaded.json.id },
    });
  });

  test('the logging level set: the level and the names of the extension properties, never their values (either spelling)', async () => {
    const set = await call('PUT', '/logging', {
      body: { level: 'notice', syslog_password: 'hunter2-syslog-secret', destination: 'syslog.example:514' },
    });
    expect(set.status).toBe(200);
    const entry = await recorded({ action: 'putLogging', actor: 'operator', target: local('/logging'), outcome: 'ok' });
    expect(entry.details).toEqual({ level: 'notice', extensions: ['syslog_password', 'destination'] });
    expect((await call('PUT', '/logging', { prefix: CMCC_PREFIX, body: { level: 'info' } })).status).toBe(200);
    const again = await recorded({
      action: 'cmcc_putLogging',
      target: '/api/cmcc.upgrades/1.0/logging',
      outcome: 'ok',
    });
    expect(again.details).toEqual({ level: 'info', extensions: [] });
    // A refused one is recorded as refused.
    expect((await call('PUT', '/logging', { body: { level: 'loud' } })).status).toBe(400);
    await recorded({ action: 'putLogging', outcome: '400 INVALID_REQUEST', details: { level: 'loud' } });
    const text = JSON.stringify(await trail());
    expect(text).not.toContain('hunter2-syslog-secret');
    expect(text).not.toContain('syslog.example');
  });

  test('access keys created, rotated and revoked through /api/fleet/1.0: the id recorded, never the key', async () => {
    const admin = (method: string, path: string, body?: unknown) =>
      call(method, path, { who: 'admin', prefix: ADMIN_PREFIX, ...(body !== undefined ? { body } : {}) });
    const created = await admin('POST', '/access_keys', { access_id: 'audit-noc', role: 'read_only' });
    expect(created.status).toBe(201);
    api.secrets.add(created.json.access_key);
    const rotated = await admin('POST', '/access_keys/audit-noc/rotate');
    expect(rotated.status).toBe(200);
    api.secrets.add(rotated.json.access_key);
    expect((await admin('DELETE', '/access_keys/audit-noc')).status).toBe(204);
    expect((await admin('POST', '/access_keys', { access_id: 'audit-noc', role: 'admin' })).status).toBe(409);

    const entry = await recorded({
      action: 'fleet_postAccessKeys',
      actor: 'admin',
      target: '/api/fleet/1.0/access_keys',
      outcome: 'ok',
      client: CLIENT,
      details: { created_id: 'audit-noc' },
    });
    expect(entry.details).toEqual({ created_id: 'audit-noc' });
    await recorded({
      action: 'fleet_postAccessKeysByAccessIdRotate',
      actor: 'admin',
      target: '/api/fleet/1.0/access_keys/audit-noc/rotate',
      outcome: 'ok',
      details: { access_id: 'audit-noc' },
    });
    await recorded({
      action: 'fleet_deleteAccessKeysByAccessId',
      actor: 'admin',
      target: '/api/fleet/1.0/access_keys/audit-noc',
      outcome: 'ok',
      details: { access_id: 'audit-noc' },
    });
    await recorded({ action: 'fleet_postAccessKeys', actor: 'admin', outcome: '409 ACCESS_KEY_EXISTS' });
    const text = JSON.stringify(await trail());
    expect(text).not.toContain(created.json.access_key);
    expect(text).not.toContain(rotated.json.access_key);
  });
});

describe('refused attempts are recorded, with the attempted access id and never the key', () => {
  const withCredentials = (path: string, id: string, key: string, method = 'GET') =>
    fetch(`${api.base}${local(path)}`, {
      method,
      headers: { authorization: `Basic ${Buffer.from(`${id}:${key}`).toString('base64')}` },
    });

  test('401 for a wrong key or an unknown id (reads too), 401 without credentials, 403 for a role without the right', async () => {
    expect((await withCredentials('/operations/upgrade', 'operator', 'wrong-key-for-operator-1')).status).toBe(401);
    expect(
      (await withCredentials('/operations/upgrade/1/cancel', 'mallory', 'guessed-key-of-mallory-2', 'POST')).status,
    ).toBe(401);
    expect((await call('POST', '/operations/upgrade/1/cancel', { who: null })).status).toBe(401);
    expect(
      (await call('POST', '/operations/reboot', { who: 'reader', body: { appliances: ['S12AB00000001'] } })).status,
    ).toBe(403);

    await recorded({
      action: 'getOperationsUpgrade',
      actor: 'operator',
      target: local('/operations/upgrade'),
      outcome: '401 AUTH_REQUIRED',
      client: CLIENT,
      details: {},
    });
    await recorded({
      action: 'postOperationsUpgradeByIdCancel',
      actor: 'mallory',
      outcome: '401 AUTH_REQUIRED',
      details: { id: '1' },
    });
    await recorded({ action: 'postOperationsUpgradeByIdCancel', actor: '', outcome: '401 AUTH_REQUIRED' });
    const forbidden = await recorded({ action: 'postOperationsReboot', actor: 'reader', outcome: '403 FORBIDDEN' });
    // The request body (the appliances) is not kept.
    expect(forbidden.details).toEqual({});
    const text = JSON.stringify(await trail());
    for (const key of ['wrong-key-for-operator-1', 'guessed-key-of-mallory-2']) expect(text).not.toContain(key);
    expect(text).not.toMatch(/Basic [A-Za-z0-9+/=]{8}/);
  });

  test('429 once an access id has failed too often', async () => {
    let status = 0;
    for (let i = 0; i < 15 && status !== 429; i++)
      status = (await withCredentials('/images', 'guesser', `guess-number-${i}-of-many`)).status;
    expect(status).toBe(429);
    await recorded({ action: 'getImages', actor: 'guesser', outcome: '429 TOO_MANY_FAILED_AUTHENTICATIONS' });
    expect(JSON.stringify(await trail())).not.toMatch(/guess-number/);
  });

  test('a path no route serves: the method and path as the action', async () => {
    expect((await call('POST', '/no_such_thing', { body: {} })).status).toBe(404);
    await recorded({
      action: `POST ${local('/no_such_thing')}`,
      target: local('/no_such_thing'),
      outcome: '404 NOT_FOUND',
      details: {},
    });
  });
});

describe('the fleet CLI beside the API: its operation commands are recorded as cli:<user>', () => {
  test('create, pause, resume, cancel a task, cancel; a refused cancel', async () => {
    const { product, version, serials } = await takeAppliances(2);
    const out = await fleet('upgrade', '--product', product, '--version', version, '--at', '+1h', '--json', ...serials);
    const id = (JSON.parse(out.stdout) as { id: string }).id;
    await fleet('pause', id);
    await fleet('resume', id);
    await fleet('cancel', id, '--serial', serials[0]!);
    await fleet('cancel', id);
    await expect(fleet('cancel', '99999999999')).rejects.toMatchObject({ code: 1 });

    const op = local(`/operations/upgrade/${id}`);
    await recorded({
      actor: CLI_ACTOR,
      client: 'cli',
      action: 'fleet upgrade',
      target: local('/operations/upgrade'),
      outcome: 'ok',
      details: { created_id: id, username: expect.any(String) },
    });
    await recorded({
      actor: CLI_ACTOR,
      client: 'cli',
      action: 'fleet pause',
      target: op,
      outcome: 'ok',
      details: { id },
    });
    await recorded({ actor: CLI_ACTOR, client: 'cli', action: 'fleet resume', target: op, outcome: 'ok' });
    await recorded({
      actor: CLI_ACTOR,
      client: 'cli',
      action: 'fleet cancel --serial',
      target: `${op}/appliances/${serials[0]}`,
      outcome: 'ok',
      details: { id, serial: serials[0] },
    });
    await recorded({ actor: CLI_ACTOR, client: 'cli', action: 'fleet cancel', target: op, outcome: 'ok' });
    await recorded({
      actor: CLI_ACTOR,
      client: 'cli',
      action: 'fleet cancel',
      target: local('/operations/upgrade/99999999999'),
      outcome: 'refused NOT_FOUND',
    });
    // The same entries through the CLI's own reader.
    const listed = JSON.parse((await fleet('audit', '--id', CLI_ACTOR, '--json')).stdout) as AuditEntry[];
    expect(listed.map((e) => e.action)).toEqual(
      expect.arrayContaining(['fleet upgrade', 'fleet pause', 'fleet resume', 'fleet cancel --serial', 'fleet cancel']),
    );
    expect(listed.every((e) => e.actor === CLI_ACTOR)).toBe(true);
  });
});

describe('GET /api/fleet/1.0/audit', () => {
  test('oldest first; since (inclusive) and actor filter, limit bounds; bad queries are 400', async () => {
    // Entries of its own, whatever ran before: 12 changes by the internal account, refused (no such operation) and recorded.
    for (let i = 0; i < 12; i++) {
      const res = await call('PUT', `/operations/upgrade/9999999999${i % 10}/appliances/S12AB00000001/state`, {
        who: 'internal',
        body: { status: 'running', stage: 'initiating' },
      });
      expect(res.status).toBe(404);
    }
    const deadline = Date.now() + 60_000;
    while (
      (await trail('?actor=internal&limit=10000')).filter((e) => e.outcome.startsWith('404')).length < 12 &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 50));
    const all = await trail('?limit=10000');
    expect(all.length).toBeGreaterThan(10);
    for (let i = 1; i < all.length; i++) expect(all[i]!.time).toBeGreaterThanOrEqual(all[i - 1]!.time);
    const middle = all[Math.floor(all.length / 2)]!;
    const since = await trail(`?since=${middle.time}&limit=10000`);
    expect(since.map((e) => e.id)).toContain(middle.id);
    expect(since.map((e) => e.id)).toEqual(all.filter((e) => e.time >= middle.time).map((e) => e.id));

    const internal = await trail('?actor=internal');
    expect(internal.length).toBeGreaterThanOrEqual(2);
    expect(internal.every((e) => e.actor === 'internal')).toBe(true);
    const two = await trail('?limit=2');
    expect(two.map((e) => e.id)).toEqual(all.slice(0, 2).map((e) => e.id));
    expect(await trail(`?since=${Date.now() / 1000 + 3600}`)).toEqual([]);

    for (const [query, field] of [
      ['?since=-1', 'since'],
      ['?limit=0', 'limit'],
      ['?who=admin', 'who'],
    ] as const) {
      const bad = await call('GET', `/audit${query}`, { who: 'admin', prefix: ADMIN_PREFIX });
      expect([query, bad.status]).toEqual([query, 400]);
      expect(bad.json.error_id).toBe('INVALID_REQUEST');
      expect(bad.json.error_text).toContain(field);
    }
  });

  test('admin only: 403 for an operator (recorded), 401 without credentials', async () => {
    const refused = await call('GET', '/audit', { who: 'operator', prefix: ADMIN_PREFIX });
    expect(refused.status).toBe(403);
    expect(refused.json.error_id).toBe('FORBIDDEN');
    expect((await call('GET', '/audit', { who: null, prefix: ADMIN_PREFIX })).status).toBe(401);
    await recorded({
      action: 'fleet_getAudit',
      actor: 'operator',
      target: '/api/fleet/1.0/audit',
      outcome: '403 FORBIDDEN',
    });
  });

  test('a failed audit write never fails the request: it is logged at error level with the request id', async () => {
    const lines: string[] = [];
    const broken = Object.create(api.stack.store) as FleetStore;
    broken.recordAudit = async () => {
      throw new Error('the disk is full');
    };
    const app = createApi({
      client: api.stack.env.client,
      logger: createLogger('test-audit-broken', 'info', { write: (line: string) => void lines.push(line) }),
      store: broken,
      taskQueue,
      checkResponses: true,
    });
    try {
      const base = await listenOnLoopback(app);
      const res = await fetch(`${base}${local('/operations/upgrade/99999999999/cancel')}`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`operator:${SCC_KEYS.operator}`).toString('base64')}` },
      });
      expect(res.status).toBe(404);
      const deadline = Date.now() + 60_000;
      while (!lines.some((l) => l.includes('audit trail')) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const line = JSON.parse(lines.find((l) => l.includes('audit trail'))!) as Record<string, unknown>;
      expect(line).toMatchObject({
        level: 50,
        requestId: expect.any(String),
        action: 'postOperationsUpgradeByIdCancel',
        err: expect.objectContaining({ message: 'the disk is full' }),
      });
      expect(lines.join('\n')).not.toContain(SCC_KEYS.operator);
    } finally {
      await app.close();
    }
  });
});

test('no key anywhere in the trail: neither the test keys nor the ones created', async () => {
  // Entries of its own, whatever ran before: each test key used (and refused), a key created and rotated.
  const admin = (method: string, path: string, body?: unknown) =>
    call(method, path, { who: 'admin', prefix: ADMIN_PREFIX, ...(body !== undefined ? { body } : {}) });
  for (const who of Object.keys(SCC_KEYS) as (keyof typeof SCC_KEYS)[])
    await call('POST', '/operations/upgrade/99999999999/cancel', { who });
  const created = await admin('POST', '/access_keys', { access_id: 'audit-leak-check', role: 'operator' });
  expect(created.status).toBe(201);
  api.secrets.add(created.json.access_key);
  const rotated = await admin('POST', '/access_keys/audit-leak-check/rotate');
  expect(rotated.status).toBe(200);
  api.secrets.add(rotated.json.access_key);
  await recorded({
    action: 'fleet_postAccessKeysByAccessIdRotate',
    target: '/api/fleet/1.0/access_keys/audit-leak-check/rotate',
    outcome: 'ok',
  });
  const entries = await trail('?limit=10000');
  expect(entries.length).toBeGreaterThan(Object.keys(SCC_KEYS).length);
  const text = JSON.stringify(entries);
  for (const key of [...Object.values(SCC_KEYS), ...api.secrets]) expect(text).not.toContain(key);
  expect(text).not.toMatch(/scrypt\$/);
});
