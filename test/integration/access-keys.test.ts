/**
 * Who may do what, over a real socket: each role against every route of the route table (which
 * every registered route must be in), access keys managed through the admin API, a revoked key
 * refused by a second API over the same store on its next request, and 429s for a client that
 * guesses keys while other clients are served. No key appears in any log line or answer
 * (startSccApi checks at stop).
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { ADMIN_PREFIX } from '../../api/admin-routes';
import { allows, ROLES } from '../../api/auth';
import { ADMIN_ROUTES, SCC_ROUTES, SUMO_ROUTES, type RouteDoc } from '../../api/route-docs';
import { createApi } from '../../api/server';
import { createLogger } from '../../domain/logging';
import { FleetStore } from '../../store/fleet-store';
import { basicAuth, CMC_PREFIX, startSccApi, type SccApi, type Who } from '../helpers/scc-api';

jest.setTimeout(180_000);

let api: SccApi;
beforeAll(async () => {
  api = await startSccApi({ taskQueue: 'access-keys', appliances: 12, speed: 200 });
});
afterAll(async () => {
  await api?.stop();
});

const ROLE_OF: Record<Who, (typeof ROLES)[number]> = {
  admin: 'admin',
  operator: 'operator',
  reader: 'read_only',
  internal: 'internal_service',
};
/** Values that fit each path parameter and name nothing that exists: a permitted request is refused as not found or bad input, never a change. */
const NOTHING: Record<string, string> = {
  id: '99999999999999999',
  serial: 'S12AB00000099',
  product_code: 'SH',
  version_id: '0.0.0-0',
  access_id: 'nobody',
  upgradeTaskID: '999999999',
};
const PARTS: [string, Record<string, RouteDoc>][] = [
  [CMC_PREFIX, SCC_ROUTES],
  ['/api/v1', SUMO_ROUTES],
  [ADMIN_PREFIX, ADMIN_ROUTES],
];
const cases = PARTS.flatMap(([prefix, routes]) =>
  Object.entries(routes).map(([key, doc]) => [key, prefix, doc] as const),
);

describe('each role against every route', () => {
  test.each(cases)('%s', async (key, prefix, doc) => {
    const [method, template] = key.split(' ') as [string, string];
    const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => NOTHING[name]!);
    // A body no schema takes: a permitted caller gets a 400, never a change.
    const body = doc.request ? [] : undefined;
    const none = await api.call(method, path, { who: null, prefix, ...(body ? { body } : {}) });
    expect([key, none.status]).toEqual([key, 401]);
    for (const who of Object.keys(ROLE_OF) as Who[]) {
      const res = await api.call(method, path, { who, prefix, ...(body ? { body } : {}) });
      const permitted = allows(ROLE_OF[who], doc.permission ?? 'read');
      if (permitted) expect([key, who, res.status === 401 || res.status === 403]).toEqual([key, who, false]);
      else expect([key, who, res.status]).toEqual([key, who, 403]);
    }
  });
});

describe('access keys through the admin API', () => {
  const admin = (method: string, path: string, body?: unknown) =>
    api.call(method, path, { who: 'admin', prefix: ADMIN_PREFIX, ...(body !== undefined ? { body } : {}) });
  const as = (id: string, key: string, path = '/image_repositories') =>
    fetch(`${api.base}${CMC_PREFIX}${path}`, {
      headers: { authorization: `Basic ${Buffer.from(`${id}:${key}`).toString('base64')}` },
    });

  test('create (the key shown once), use with its role, list without the key, rotate, revoke', async () => {
    const created = await admin('POST', '/access_keys', {
      access_id: 'noc',
      role: 'read_only',
      expires_time: Math.floor(Date.now() / 1000) + 86_400,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      access_id: 'noc',
      role: 'read_only',
      status: 'active',
      access_key: expect.any(String),
    });
    const key = created.json.access_key as string;
    api.secrets.add(key);
    expect((await as('noc', key)).status).toBe(200);
    const refused = await fetch(`${api.base}${CMC_PREFIX}/operations/reboot/99/cancel`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`noc:${key}`).toString('base64')}` },
    });
    expect(refused.status).toBe(403);

    const listed = (await admin('GET', '/access_keys')).json as Record<string, unknown>[];
    expect(listed.find((k) => k.access_id === 'noc')).toEqual({
      access_id: 'noc',
      role: 'read_only',
      status: 'active',
      create_time: expect.any(Number),
      last_used_time: expect.any(Number),
      expires_time: created.json.expires_time,
    });
    expect(JSON.stringify(listed)).not.toMatch(/key_hash|scrypt|access_key/);

    const rotated = await admin('POST', '/access_keys/noc/rotate');
    expect(rotated.status).toBe(200);
    api.secrets.add(rotated.json.access_key);
    expect((await as('noc', key)).status).toBe(401);
    expect((await as('noc', rotated.json.access_key)).status).toBe(200);

    expect((await admin('DELETE', '/access_keys/noc')).status).toBe(204);
    expect((await as('noc', rotated.json.access_key)).status).toBe(401);
    expect(
      ((await admin('GET', '/access_keys')).json as { access_id: string; status: string }[]).find(
        (k) => k.access_id === 'noc',
      )!.status,
    ).toBe('revoked');
    expect((await admin('DELETE', '/access_keys/noc')).status).toBe(404);
  });

  test('refusals name the field and change nothing', async () => {
    const before = (await admin('GET', '/access_keys')).json;
    expect((await admin('POST', '/access_keys', { access_id: 'reader', role: 'admin' })).json).toMatchObject({
      error_id: 'ACCESS_KEY_EXISTS',
    });
    expect((await admin('POST', '/access_keys', { access_id: 'x', role: 'root' })).json).toMatchObject({
      error_id: 'INVALID_REQUEST',
      field: 'role',
    });
    expect((await admin('POST', '/access_keys', { access_id: 'a:b', role: 'admin' })).json).toMatchObject({
      field: 'access_id',
    });
    expect(
      (await admin('POST', '/access_keys', { access_id: 'late', role: 'admin', expires_time: 1 })).json,
    ).toMatchObject({ field: 'expires_time' });
    expect((await admin('POST', '/access_keys/nobody/rotate')).status).toBe(404);
    expect((await admin('GET', '/access_keys')).json).toEqual(before);
  });

  test('a key revoked through one API is refused by a second API over the same store on its next request', async () => {
    const created = await admin('POST', '/access_keys', { access_id: 'agent', role: 'internal_service' });
    api.secrets.add(created.json.access_key);
    const store = await FleetStore.open(api.stack.storeUrl);
    const second = createApi({
      client: {} as Client,
      logger: createLogger('second-api', 'silent'),
      store,
      checkResponses: true,
    });
    await second.listen({ host: '127.0.0.1', port: 0 });
    const secondBase = `http://127.0.0.1:${(second.server.address() as AddressInfo).port}`;
    const viaSecond = () =>
      fetch(`${secondBase}${CMC_PREFIX}/image_repositories`, {
        headers: { authorization: `Basic ${Buffer.from(`agent:${created.json.access_key}`).toString('base64')}` },
      });
    try {
      expect((await viaSecond()).status).toBe(200);
      expect((await admin('DELETE', '/access_keys/agent')).status).toBe(204);
      expect((await viaSecond()).status).toBe(401);
    } finally {
      await second.close();
      await store.close();
    }
  });
});

/** A request from another loopback address, as another client would send it. */
function fromAddress(
  localAddress: string,
  path: string,
  authorization: string,
): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.base}${path}`, { localAddress, headers: { authorization } }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('a client guessing keys gets 429 with Retry-After past the limit; other clients are served', async () => {
  const guess = (i: number) => `Basic ${Buffer.from(`guess-${i % 3}:not-the-key-${i}`).toString('base64')}`;
  const statuses: number[] = [];
  for (let i = 0; i < 31; i++) statuses.push((await fromAddress('127.0.0.2', `${CMC_PREFIX}/images`, guess(i))).status);
  expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
  const limited = await fromAddress('127.0.0.2', `${CMC_PREFIX}/images`, basicAuth('reader'));
  expect(limited.status).toBe(429);
  expect(Number(limited.retryAfter)).toBeGreaterThan(0);
  expect(statuses[30]).toBe(429);
  expect((await api.call('GET', '/images', { who: 'reader' })).status).toBe(200);
  const sumo = await fromAddress('127.0.0.2', '/api/v1/collectors/upgrades/targets', basicAuth('reader'));
  expect(sumo.status).toBe(429);
});

test('a body over 4 MiB is a 413 and changes nothing; one of 2 MB reaches validation', async () => {
  const before = (await api.call('GET', '/operations/reboot', { who: 'reader' })).json.length;
  const huge = await api.call('POST', '/operations/reboot', {
    body: { comment: 'x'.repeat(5 * 1024 * 1024), appliances: ['S12AB00000001'] },
  });
  expect(huge.status).toBe(413);
  expect(huge.json).toMatchObject({ error_id: 'BODY_TOO_LARGE' });
  const large = await api.call('POST', '/operations/reboot', {
    body: { comment: 'x'.repeat(2 * 1000 * 1000), appliances: ['S12AB00000001'] },
  });
  expect([large.status, large.json.field]).toEqual([400, 'comment']);
  expect((await api.call('GET', '/operations/reboot', { who: 'reader' })).json.length).toBe(before);
});
