/**
 * The Sumo collector upgrade API v1 over a real socket: the real dev server, the simulator as a
 * separate process serving a fleet file of collectors in every state, the real worker. Listing and
 * paging, targets, tasks created over HTTP and run to succeeded (the simulated collector's version
 * changes, exactly one upgrade), every documented 400 code provoked for real, 404, 415, 401, 403,
 * and the time limit (a short per-task limit, the `timeoutSeconds` extension) → status 3.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { putAccessKey } from '../../api/auth';
import { createApi } from '../../api/server';
import { collectorUpgradeWorkflowId, syncCollectors } from '../../client/collector-upgrades';
import { createLogger } from '../../domain/logging';
import { COLLECTOR_BUILDS } from '../../simulator/fleet';
import { listenOnLoopback } from '../helpers/servers';
import { startStack, type Stack } from '../helpers/stack';

const taskQueue = 'integration-sumo-api';
const LATEST = '20.1-2749';
const KEYS = { operator: 'operator-key-0123456789', reader: 'reader-key-0123456789' };

const collector = (
  id: number,
  fields: { collectorType?: 'Installable' | 'Hosted'; alive?: boolean; collectorVersion: string },
) => ({
  id,
  name: `SumoCollector_${id}`,
  hostName: `host-${id}`,
  timeZone: 'UTC',
  collectorType: fields.collectorType ?? 'Installable',
  collectorVersion: fields.collectorVersion,
  osVersion: '10.11.5',
  osName: 'Mac OS X',
  osArch: 'x86_64',
  alive: fields.alive ?? true,
});

// Each test uses its own collectors, so the order of the tests does not matter.
const C = {
  upgrade: 100000001,
  busy: 100000002,
  hosted: 100000003,
  dead: 100000004,
  latest: 100000005,
  timeout: 100000006,
  race: 100000007,
  // Only read (never upgraded), so the listing and refusal tests see them as the fleet file has them.
  listed: 100000008,
  listedLatest: 100000009,
  versions: 100000015,
  paging: [100000010, 100000011, 100000012, 100000013, 100000014],
} as const;
const FLEET = [
  collector(C.upgrade, { collectorVersion: '19.115-37' }),
  collector(C.busy, { collectorVersion: '19.152-1' }),
  collector(C.hosted, { collectorType: 'Hosted', collectorVersion: '19.152-1' }),
  collector(C.dead, { alive: false, collectorVersion: '19.152-1' }),
  collector(C.latest, { collectorVersion: LATEST }),
  collector(C.timeout, { collectorVersion: '19.182-25' }),
  collector(C.race, { collectorVersion: '19.216-22' }),
  collector(C.listed, { collectorVersion: '19.115-37' }),
  collector(C.listedLatest, { collectorVersion: LATEST }),
  collector(C.versions, { collectorVersion: '19.152-1' }),
  ...C.paging.map((id) => collector(id, { collectorVersion: '19.216-22' })),
];

let stack: Stack;
let app: FastifyInstance;
let base: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sumo-api-'));
  const fleetFile = join(dir, 'fleet.json');
  writeFileSync(fleetFile, JSON.stringify({ collectors: FLEET }));
  // Speed 30: a simulated collector upgrade (90 s) takes 3 s.
  stack = await startStack({ appliances: 0, speed: 30, taskQueue, fleetFile });
  await Promise.all([
    putAccessKey(stack.store, 'operator', KEYS.operator, 'operator'),
    putAccessKey(stack.store, 'reader', KEYS.reader, 'read_only'),
  ]);
  await syncCollectors(stack.devices, stack.store);
  app = createApi({
    client: stack.env.client,
    logger: createLogger('test-api', 'silent'),
    store: stack.store,
    taskQueue,
    checkResponses: true,
  });
  base = await listenOnLoopback(app);
});
afterAll(async () => {
  await app?.close();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Who = keyof typeof KEYS;

async function call(
  method: string,
  path: string,
  options: { who?: Who | null; body?: unknown; contentType?: string } = {},
) {
  const { who = 'operator', body, contentType = 'application/json' } = options;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (who) headers.authorization = `Basic ${Buffer.from(`${who}:${KEYS[who]}`).toString('base64')}`;
  if (body !== undefined) headers['content-type'] = contentType;
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

const create = (body: unknown, who: Who = 'operator') => call('POST', '/collectors/upgrades', { who, body });

/** Holds (or releases) a simulated collector's running upgrade: held, it stays in progress whatever the clock says. */
async function hold(collectorId: number, held: boolean): Promise<void> {
  const res = await fetch(`${stack.sim.url}/admin/collectors/${collectorId}/hold`, {
    method: held ? 'POST' : 'DELETE',
  });
  expect(res.status).toBe(200);
}

/** A 400 in Sumo's error shape with this code. */
function expectSumoError(res: { status: number; json: any }, status: number, code: string): void {
  expect({ status: res.status, code: res.json?.code }).toEqual({ status, code });
  expect(res.json).toEqual({ status, id: expect.stringMatching(/^[0-9a-f-]{36}$/), code, message: expect.any(String) });
}

async function waitForTask(id: string, done: (status: number) => boolean, timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call('GET', `/collectors/upgrades/${id}`, { who: 'reader' });
    expect(res.status).toBe(200);
    if (done(res.json.upgrade.status) || Date.now() > deadline) return res.json.upgrade;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const listed = async (query = ''): Promise<number[]> => {
  const res = await call('GET', `/collectors/upgrades/collectors${query}`, { who: 'reader' });
  expect(res.status).toBe(200);
  return res.json.collectors.map((c: { id: number }) => c.id);
};

describe('GET /collectors/upgrades/collectors', () => {
  test('lists alive Installable collectors not yet on the target, in the seed sample shape', async () => {
    const res = await call('GET', '/collectors/upgrades/collectors', { who: 'reader' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json)).toEqual(['collectors']);
    const ids: number[] = res.json.collectors.map((c: { id: number }) => c.id);
    // Hosted, dead, and already on the latest build are not upgradable to it.
    for (const id of [C.hosted, C.dead, C.listedLatest]) expect(ids).not.toContain(id);
    for (const id of [C.listed, ...C.paging]) expect(ids).toContain(id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const sample = res.json.collectors.find((c: { id: number }) => c.id === C.listed);
    expect(sample).toEqual({
      id: C.listed,
      name: `SumoCollector_${C.listed}`,
      hostName: `host-${C.listed}`,
      timeZone: 'UTC',
      links: [{ rel: 'sources', href: `/v1/collectors/${C.listed}/sources` }],
      ephemeral: false,
      sourceSyncMode: 'UI',
      collectorType: 'Installable',
      collectorVersion: '19.115-37',
      osVersion: '10.11.5',
      osName: 'Mac OS X',
      osArch: 'x86_64',
      lastSeenAlive: expect.any(Number),
      alive: true,
    });
  });

  test('toVersion: a downgrade target lists the collector on the latest build', async () => {
    const ids = await listed('?toVersion=19.115-37');
    expect(ids).toContain(C.listedLatest);
    expect(ids).not.toContain(C.listed);
  });

  test('offset and limit page the list (default limit 50)', async () => {
    const all = await listed('?toVersion=19.152-1');
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(await listed('?toVersion=19.152-1&limit=2')).toEqual(all.slice(0, 2));
    expect(await listed('?toVersion=19.152-1&offset=2&limit=2')).toEqual(all.slice(2, 4));
    expect(await listed(`?toVersion=19.152-1&offset=${all.length}`)).toEqual([]);
  });

  test.each(['limit=0', 'limit=abc', 'limit=', 'offset=-1', 'offset=1.5', 'limit=1&limit=2', 'page=2'])(
    'bad paging %s → 400 in Sumo error shape',
    async (query) => {
      expectSumoError(
        await call('GET', `/collectors/upgrades/collectors?${query}`, { who: 'reader' }),
        400,
        'request.invalid',
      );
    },
  );

  test('an unknown or empty toVersion → 400 collector.version.invalid', async () => {
    expectSumoError(
      await call('GET', '/collectors/upgrades/collectors?toVersion=99.1-1', { who: 'reader' }),
      400,
      'collector.version.invalid',
    );
    expectSumoError(
      await call('GET', '/collectors/upgrades/collectors?toVersion=', { who: 'reader' }),
      400,
      'collector.version.invalid',
    );
  });
});

describe('GET /collectors/upgrades/targets', () => {
  test("the simulator's builds, oldest first, exactly one latest (the newest)", async () => {
    const res = await call('GET', '/collectors/upgrades/targets', { who: 'reader' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      targets: COLLECTOR_BUILDS.map((version, i) => ({ version, latest: i === COLLECTOR_BUILDS.length - 1 })),
    });
    expect(res.json.targets.filter((t: { latest: boolean }) => t.latest)).toEqual([{ version: LATEST, latest: true }]);
  });
});

describe('upgrade tasks', () => {
  test('create without toVersion → 202, runs to status 2; the simulated collector runs the latest build, upgraded once', async () => {
    const before = Date.now();
    await hold(C.upgrade, true);
    const res = await create({ collectorId: C.upgrade });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({
      id: expect.stringMatching(/^\d+$/),
      link: { rel: 'self', href: `/v1/collectors/upgrades/${res.json.id}` },
    });
    const id: string = res.json.id;

    const first = await call('GET', `/collectors/upgrades/${id}`, { who: 'reader' });
    expect(first.status).toBe(200);
    expect(first.json.upgrade).toMatchObject({ id: Number(id), collectorId: C.upgrade, toVersion: LATEST });
    expect(first.json.upgrade.requestTime).toBeGreaterThanOrEqual(before);
    expect([0, 1, 6]).toContain(first.json.upgrade.status);

    // The status passes through progressing (6) on its way to succeeded: held there until released.
    expect((await waitForTask(id, (status) => status !== 0 && status !== 1)).status).toBe(6);
    await hold(C.upgrade, false);
    const done = await waitForTask(id, (status) => status === 2 || status === 3);
    expect(done).toEqual({
      id: Number(id),
      collectorId: C.upgrade,
      toVersion: LATEST,
      requestTime: first.json.upgrade.requestTime,
      requestedTime: first.json.upgrade.requestTime,
      status: 2,
      message: '',
    });

    expect((await stack.devices.collector(C.upgrade)).collectorVersion).toBe(LATEST);
    expect((await stack.devices.collectorCounters(C.upgrade)).upgrades).toBe(1);
    // The store knows the new version: the collector is no longer upgradable to the latest build.
    expect((await stack.store.getCollector(C.upgrade))?.collectorVersion).toBe(LATEST);
    expect(await listed()).not.toContain(C.upgrade);
    // One workflow per task, named after it.
    const description = await stack.env.client.workflow.getHandle(collectorUpgradeWorkflowId(id)).describe();
    expect(description.type).toBe('collectorUpgradeTask');
    expect(description.status.name).toBe('COMPLETED');
  });

  test('a downgrade (an older build) is allowed and succeeds', async () => {
    const res = await create({ collectorId: C.latest, toVersion: '19.115-37' });
    expect(res.status).toBe(202);
    const done = await waitForTask(res.json.id, (s) => s === 2 || s === 3);
    expect(done).toMatchObject({ collectorId: C.latest, toVersion: '19.115-37', status: 2 });
    expect((await stack.devices.collector(C.latest)).collectorVersion).toBe('19.115-37');
  });

  test('a task not finished within its time limit fails (status 3) saying it timed out', async () => {
    // The simulated upgrade is held until the task has failed; this task allows 1 s (the seed's default is 30 minutes).
    await hold(C.timeout, true);
    const res = await create({ collectorId: C.timeout, toVersion: LATEST, timeoutSeconds: 1 });
    expect(res.status).toBe(202);
    const done = await waitForTask(res.json.id, (s) => s === 2 || s === 3);
    expect(done.status).toBe(3);
    expect(done.message).toMatch(/^timed out: the upgrade to 20\.1-2749 did not complete within 1 second/);
    await hold(C.timeout, false);
    // A failed task no longer holds the collector: a new task may be created.
    const again = await create({ collectorId: C.timeout, toVersion: '19.216-22' });
    expect(again.status).toBe(202);
    await waitForTask(again.json.id, (s) => s === 2 || s === 3);
  });

  test('GET an unknown task → 404; a non-numeric id → 404', async () => {
    expectSumoError(await call('GET', '/collectors/upgrades/999999999', { who: 'reader' }), 404, 'notfound');
    expectSumoError(await call('GET', '/collectors/upgrades/abc', { who: 'reader' }), 404, 'notfound');
  });
});

describe('POST /collectors/upgrades: the seed error codes', () => {
  test('collector.invalid: collectorId missing, not a number, or unknown (also an empty body)', async () => {
    expectSumoError(await create({ toVersion: LATEST }), 400, 'collector.invalid');
    expectSumoError(await create({ collectorId: 'abc' }), 400, 'collector.invalid');
    expectSumoError(await create({ collectorId: 1.5 }), 400, 'collector.invalid');
    expectSumoError(await create([C.paging[0]]), 400, 'collector.invalid');
    expectSumoError(await create({ collectorId: 424242 }), 400, 'collector.invalid');
    expectSumoError(await create(''), 400, 'collector.invalid');
    expectSumoError(await call('POST', '/collectors/upgrades'), 400, 'collector.invalid');
  });

  test('collector.type.invalid: a Hosted collector', async () => {
    expectSumoError(await create({ collectorId: C.hosted }), 400, 'collector.type.invalid');
  });

  test('collector.not.alive: a collector that is not running', async () => {
    expectSumoError(await create({ collectorId: C.dead }), 400, 'collector.not.alive');
  });

  test('collector.version.invalid: an unknown build, an empty or non-string one, or the one it runs', async () => {
    expectSumoError(await create({ collectorId: C.versions, toVersion: '99.9-1' }), 400, 'collector.version.invalid');
    expectSumoError(await create({ collectorId: C.versions, toVersion: '' }), 400, 'collector.version.invalid');
    expectSumoError(await create({ collectorId: C.versions, toVersion: 20.1 }), 400, 'collector.version.invalid');
    expectSumoError(await create({ collectorId: C.versions, toVersion: '19.152-1' }), 400, 'collector.version.invalid');
  });

  test('collector.in.upgrading: while a task of the collector is unfinished; none is created', async () => {
    // Held: the first task is unfinished for as long as the test needs.
    await hold(C.busy, true);
    const first = await create({ collectorId: C.busy, toVersion: LATEST });
    expect(first.status).toBe(202);
    const second = await create({ collectorId: C.busy, toVersion: '19.216-22' });
    expectSumoError(second, 400, 'collector.in.upgrading');
    expect(second.json.message).toContain(`task ${first.json.id}`);
    expect(await listed()).not.toContain(C.busy);
    await hold(C.busy, false);
    expect((await waitForTask(first.json.id, (s) => s === 2 || s === 3)).status).toBe(2);
    expect((await stack.devices.collectorCounters(C.busy)).upgrades).toBe(1);
  });

  test('two requests at once for one collector: one task, the other collector.in.upgrading', async () => {
    const results = await Promise.all([create({ collectorId: C.race }), create({ collectorId: C.race })]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 400]);
    expectSumoError(
      results.find((r) => r.status === 400)!,
      400,
      'collector.in.upgrading',
    );
    await waitForTask(results.find((r) => r.status === 202)!.json.id, (s) => s === 2 || s === 3);
  });

  test('bad extension value and malformed JSON → 400 request.invalid', async () => {
    expectSumoError(await create({ collectorId: C.paging[0], timeoutSeconds: -5 }), 400, 'request.invalid');
    expectSumoError(await create('{"collectorId": '), 400, 'request.invalid');
  });
});

describe('media type and access', () => {
  test('415 when a body (or a GET) carries a Content-Type other than application/json', async () => {
    expectSumoError(
      await call('POST', '/collectors/upgrades', { body: `collectorId=${C.paging[0]}`, contentType: 'text/plain' }),
      415,
      'contenttype.invalid',
    );
    expectSumoError(
      await call('POST', '/collectors/upgrades', { body: '<x/>', contentType: 'application/xml' }),
      415,
      'contenttype.invalid',
    );
    const get = await fetch(`${base}/api/v1/collectors/upgrades/targets`, {
      headers: {
        authorization: `Basic ${Buffer.from(`reader:${KEYS.reader}`).toString('base64')}`,
        'content-type': 'text/plain',
      },
    });
    expect(get.status).toBe(415);
    // application/json with a charset is fine.
    expect(
      (await call('POST', '/collectors/upgrades', { body: {}, contentType: 'application/json; charset=utf-8' })).json
        .code,
    ).toBe('collector.invalid');
  });

  test('401 without credentials or with a wrong key, with a Basic challenge', async () => {
    for (const path of ['/collectors/upgrades/collectors', '/collectors/upgrades/targets', '/collectors/upgrades/1']) {
      const res = await call('GET', path, { who: null });
      expectSumoError(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
    expectSumoError(
      await call('POST', '/collectors/upgrades', { who: null, body: { collectorId: C.paging[0] } }),
      401,
      'unauthorized',
    );
    const wrong = await fetch(`${base}/api/v1/collectors/upgrades/targets`, {
      headers: { authorization: `Basic ${Buffer.from('reader:wrong-key-123456').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('wrong-key-123456');
  });

  test('403 for a read_only key creating a task; nothing is created', async () => {
    const res = await create({ collectorId: C.paging[0] }, 'reader');
    expectSumoError(res, 403, 'forbidden');
    expect(await listed('?toVersion=19.152-1')).toContain(C.paging[0]);
    expect((await stack.devices.collectorCounters(C.paging[0])).upgrades).toBe(0);
  });

  test('unknown paths under /api/v1 answer 404 in the Sumo shape', async () => {
    expectSumoError(await call('GET', '/collectors/nothing/here', { who: 'reader' }), 404, 'notfound');
  });
});
