/**
 * The SCC API exactly as the seed documents it, over the real stack: read-only fields, task state
 * extension properties, per-appliance schedule instants, the group filter, a status that only moves
 * forward, cancels of what has finished, out-of-range input, typed path parameters, 405 with Allow,
 * and an OpenAPI document that says what the service answers. Every answer here also passes the
 * response-contract check (startSccApi turns it on).
 */
import type { OperationKind } from '../../domain/operation';
import { SA } from '../../domain/search-attributes';
import { request } from 'node:http';
import { ADMIN_ROUTES, SCC_ROUTES, SUMO_ROUTES } from '../../api/route-docs';
import { SCC_PREFIXES } from '../../api/scc-routes';
import { basicAuth, CMC_PREFIX, startSccApi, type SccApi } from '../helpers/scc-api';

jest.setTimeout(180_000);

let api: SccApi;
const TARGET = '9.16.0-100';
const YEAR_AHEAD = () => Math.floor(Date.now() / 1000) + 365 * 86_400;

beforeAll(async () => {
  api = await startSccApi({ taskQueue: 'api-contract', appliances: 48, speed: 200 });
});
afterAll(async () => {
  await api?.stop();
});

const call: SccApi['call'] = (...args) => api.call(...args);
const serials = async (product: string, n: number, skip = 0): Promise<string[]> =>
  (await api.stack.devices.listSerials(product)).slice(skip, skip + n);
const finished = (kind: OperationKind, id: string) => api.stack.env.client.workflow.getHandle(`${kind}-${id}`).result();

describe('operations', () => {
  test('read-only fields sent back are ignored: the service sets id, create_time, status and username', async () => {
    const [serial] = await serials('EX', 1);
    const body = {
      id: '1',
      create_time: '2000-01-01T00:00:00Z',
      status: 'successful',
      username: 'mallory',
      comment: 'echoed',
      appliances: [serial],
    };
    const res = await call('POST', '/operations/reboot', { body, who: 'admin' });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ username: 'admin', comment: 'echoed' });
    expect(res.json.id).not.toBe('1');
    expect(res.json.create_time).not.toBe('2000-01-01T00:00:00Z');
    expect(res.json.status).not.toBe('successful');
    await finished('reboot', res.json.id);
    expect((await call('GET', `/operations/reboot/${res.json.id}`, { who: 'reader' })).json.username).toBe('admin');
  });

  test('an operation that starts at once is running from its creation: its status never moves back to scheduled', async () => {
    const [serial] = await serials('EX', 1, 1);
    const res = await call('POST', '/operations/reboot', { body: { comment: 'now', appliances: [serial] } });
    expect(res.status).toBe(201);
    expect(res.json.status).toBe('running');
    await finished('reboot', res.json.id);
    // Every status the workflow ever published, in order, from its history.
    const history = await api.stack.env.client.workflow.getHandle(`reboot-${res.json.id}`).fetchHistory();
    const published = (history.events ?? []).flatMap((event) => {
      const field =
        event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[SA.operationStatus.name];
      return field?.data ? [JSON.parse(Buffer.from(field.data).toString())] : [];
    });
    expect(published[0]).toBe('running');
    expect(published).not.toContain('scheduled');
    expect((await call('GET', `/operations/reboot/${res.json.id}`, { who: 'reader' })).json.status).toBe('successful');
  });

  test('cancelling a finished operation or task is 409 ALREADY_FINISHED and changes nothing', async () => {
    const [serial] = await serials('EX', 1, 2);
    const created = await call('POST', '/operations/reboot', { body: { comment: 'done soon', appliances: [serial] } });
    const id = created.json.id as string;
    await finished('reboot', id);
    const before = await call('GET', `/operations/reboot/${id}`, { who: 'reader' });
    const cancel = await call('POST', `/operations/reboot/${id}/cancel`);
    expect(cancel.status).toBe(409);
    expect(cancel.json).toEqual({
      error_id: 'ALREADY_FINISHED',
      error_text: expect.stringContaining('has already finished (successful)'),
    });
    const task = await call('POST', `/operations/reboot/${id}/appliances/${serial}/cancel`);
    expect(task.status).toBe(409);
    expect(task.json.error_id).toBe('ALREADY_FINISHED');
    expect((await call('GET', `/operations/reboot/${id}`, { who: 'reader' })).json).toEqual(before.json);
    expect(
      (await call('GET', `/operations/reboot/${id}/appliances/${serial}/state`, { who: 'reader' })).json,
    ).toMatchObject({ status: 'successful', stage: 'completed' });
  });

  test('a schedule in local time gives each appliance task the instant it is scheduled for on that appliance', async () => {
    const appliances = (await api.call('GET', '/appliances/SH', { who: 'reader' })).json as {
      serial: string;
      time_zone: string;
    }[];
    const zones = new Map<string, string>();
    for (const a of appliances) if (!zones.has(a.time_zone)) zones.set(a.time_zone, a.serial);
    expect(zones.size).toBeGreaterThan(1);
    const chosen = [...zones.values()].slice(0, 3);
    const datetime = YEAR_AHEAD();
    const res = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        upgrade_time: { datetime, time_type: 'local' },
        comment: 'local',
        appliances: chosen,
      },
    });
    expect(res.status).toBe(201);
    expect(res.json.upgrade_time).toEqual({ datetime, time_type: 'local' });
    const instants = [];
    for (const serial of chosen) {
      const task = await call('GET', `/operations/upgrade/${res.json.id}/appliances/${serial}`, { who: 'reader' });
      expect(task.json.upgrade_time.time_type).toBe('utc');
      instants.push(task.json.upgrade_time.datetime as number);
    }
    // Different zones, different instants, each within a day of the wall-clock time asked for.
    expect(new Set(instants).size).toBe(chosen.length);
    for (const instant of instants) expect(Math.abs(instant - datetime)).toBeLessThanOrEqual(14 * 3600);
    expect((await call('POST', `/operations/upgrade/${res.json.id}/cancel`)).status).toBe(204);
  });
});

describe('appliance task state', () => {
  test('a state set keeps its extension properties on the state only; it never touches the task', async () => {
    const [serial] = await serials('WW', 1);
    const res = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'WW',
        target_version: { version_id: TARGET },
        reboot: true,
        upgrade_time: { datetime: YEAR_AHEAD(), time_type: 'utc' },
        comment: 'later',
        appliances: [serial],
      },
    });
    expect(res.status).toBe(201);
    const id = res.json.id as string;
    const task = (await call('GET', `/operations/upgrade/${id}/appliances/${serial}`, { who: 'reader' })).json;
    const set = await call('PUT', `/operations/upgrade/${id}/appliances/${serial}/state`, {
      who: 'internal',
      body: { status: 'scheduled', stage: 'waiting', reboot: 'x', note: 'checked by the NOC' },
    });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({
      operation_id: id,
      serial,
      status: 'scheduled',
      stage: 'waiting',
      reboot: 'x',
      note: 'checked by the NOC',
    });
    expect((await call('GET', `/operations/upgrade/${id}/appliances/${serial}/state`, { who: 'reader' })).json).toEqual(
      set.json,
    );
    expect((await call('GET', `/operations/upgrade/${id}/appliances/${serial}`, { who: 'reader' })).json).toEqual(task);
    // The next set replaces the state, extension properties included; the path names the task.
    const again = await call('PUT', `/operations/upgrade/${id}/appliances/${serial}/state`, {
      who: 'internal',
      body: { status: 'scheduled', stage: 'waiting', serial: 'S99AB00000000' },
    });
    expect(again.json).toEqual({ operation_id: id, serial, status: 'scheduled', stage: 'waiting' });
    expect((await call('POST', `/operations/upgrade/${id}/cancel`)).status).toBe(204);
  });
});

describe('appliances', () => {
  test('GET /appliances/{product_code}?group= lists that group only', async () => {
    const all = (await call('GET', '/appliances/IC', { who: 'reader' })).json as { serial: string; groups: string[] }[];
    const group = all[0]!.groups[0]!;
    const res = await call('GET', `/appliances/IC?group=${encodeURIComponent(group)}`, { who: 'reader' });
    expect(res.status).toBe(200);
    expect(res.json.map((a: { serial: string }) => a.serial)).toEqual(
      all.filter((a) => a.groups.includes(group)).map((a) => a.serial),
    );
    expect(res.json.length).toBeLessThan(all.length);
    expect((await call('GET', '/appliances/IC?group=no-such-group', { who: 'reader' })).json).toEqual([]);
    expect((await call('GET', '/appliances/IC?owner=me', { who: 'reader' })).json).toMatchObject({
      error_id: 'INVALID_REQUEST',
      field: 'owner',
    });
  });
});

describe('bad input is a 400 naming the field, never a 500', () => {
  const reboot = (extra: Record<string, unknown>) => ({ comment: 'x', appliances: ['S12AB00000001'], ...extra });
  test.each([
    ['a huge timestamp', reboot({ reboot_time: { datetime: 1.5e308, time_type: 'utc' } }), 'reboot_time.datetime'],
    ['a negative timestamp', reboot({ reboot_time: { datetime: -1, time_type: 'utc' } }), 'reboot_time.datetime'],
    ['an over-long comment', reboot({ comment: 'x'.repeat(20_000) }), 'comment'],
    ['a task_timeout beyond safe integers', reboot({ task_timeout: 2 ** 60 }), 'task_timeout'],
    ['a rollout with too many waves', reboot({ rollout: { waves: Array(1001).fill(1) } }), 'rollout.waves'],
  ])('%s', async (_name, body, field) => {
    const res = await call('POST', '/operations/reboot', { body });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error_id: 'INVALID_REQUEST', field });
    expect(res.json.error_text.startsWith(`${field}: `)).toBe(true);
  });

  test.each([
    ['/operations/upgrade/not-an-id', 'id'],
    ['/operations/upgrade/123/appliances/not-a-serial', 'serial'],
    ['/appliances/XX', 'product_code'],
    [`/upgradeable_appliances/SH/${'9'.repeat(300)}`, 'version_id'],
  ])('path parameter: GET %s names %s', async (path, field) => {
    const res = await call('GET', path, { who: 'reader' });
    expect(res.status).toBe(400);
    expect(res.json.field).toBe(field);
  });
});

describe('methods', () => {
  test.each([['PATCH'], ['DELETE']])('%s on a path that does not serve it is 405 with Allow', async (method) => {
    const res = await call(method, '/operations/upgrade');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(res.json).toEqual({
      error_id: 'METHOD_NOT_ALLOWED',
      error_text: expect.stringContaining('allowed: GET, HEAD, POST'),
    });
  });

  test.each([['TRACE'], ['QUERY']])(
    '%s (which fetch cannot send; QUERY without the Content-Type it needs) is 405 with Allow too',
    async (method) => {
      const { status, allow } = await new Promise<{ status?: number; allow?: string | string[] }>((resolve, reject) => {
        const req = request(
          `${api.base}${CMC_PREFIX}/images`,
          { method, headers: { authorization: basicAuth('reader') } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode, allow: res.headers.allow }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect({ status, allow }).toEqual({ status: 405, allow: 'GET, HEAD' });
    },
  );

  test('the Sumo API answers 405 in its own error shape', async () => {
    const res = await call('PUT', '/collectors/upgrades/targets', { prefix: '/api/v1', body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(res.json).toMatchObject({ status: 405, code: 'method.not.allowed' });
  });
});

describe('OpenAPI document', () => {
  let doc: any;
  beforeAll(async () => {
    doc = await (await fetch(`${api.base}/openapi.json`)).json();
  });

  test('every list route is documented as an array of its items', () => {
    const lists = [
      '/images',
      '/image_repositories/customer/local_images',
      '/image_repositories/customer/urls',
      '/image_repositories/riverbed/images',
      '/operations/upgrade',
      '/operations/downgrade',
      '/operations/reboot',
      '/appliances/{product_code}',
      '/connected_product_codes',
      '/image_repositories',
    ];
    for (const path of lists) {
      const ref: string =
        doc.paths[`/api/cmc.upgrades/1.0${path}`].get.responses['200'].content['application/json'].schema.$ref;
      expect([path, doc.components.schemas[ref.split('/').pop()!].type]).toEqual([path, 'array']);
    }
  });

  test('every path parameter has a type, and a pattern or enum where the seed gives one', () => {
    const byName = new Map<string, any>();
    for (const ops of Object.values<any>(doc.paths))
      for (const op of Object.values<any>(ops))
        for (const p of op.parameters ?? []) if (p.in === 'path') byName.set(p.name, p.schema);
    expect(byName.get('serial')).toMatchObject({
      type: 'string',
      pattern: '^[A-Za-z][0-9A-Fa-f]{2}[A-Za-z]{0,2}[0-9A-Fa-f]{8}$',
    });
    expect(byName.get('product_code')).toMatchObject({ type: 'string', enum: ['SH', 'EX', 'IC', 'SMC', 'WW', 'GC'] });
    expect(byName.get('id')).toMatchObject({ type: 'string' });
    for (const [name, schema] of byName) expect([name, schema.type]).toEqual([name, 'string']);
  });

  test('every error status a route answers is documented with its error body; the security scheme is Basic', () => {
    const cancel = doc.paths['/api/cmc.upgrades/1.0/operations/upgrade/{id}/cancel'].post;
    expect(Object.keys(cancel.responses)).toEqual(['204', '400', '401', '403', '404', '409', '413', '415', '429']);
    expect(cancel.responses['409'].content['application/json'].schema.$ref).toBe('#/components/schemas/scc_error');
    const sumo = doc.paths['/api/v1/collectors/upgrades'].post;
    expect(sumo.responses['415'].content['application/json'].schema.$ref).toBe('#/components/schemas/sumo_error');
    expect(doc.components.securitySchemes.basic).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(doc.components.schemas.upgrade_operation_request.properties.username.readOnly).toBe(true);
    expect(doc.components.schemas.upgrade_operation_request.properties.comment.maxLength).toBe(16_384);
  });

  test('every operation has a unique operationId, and every link leads to one of them', () => {
    const operations = Object.values<any>(doc.paths).flatMap((ops) => Object.values<any>(ops));
    const ids = operations.map((op) => op.operationId as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining([
        'getOperationsUpgradeById',
        'cmcc_getOperationsUpgradeById',
        'sumo_getCollectorsUpgradesByUpgradeTaskID',
      ]),
    );
    const links = operations.flatMap((op) =>
      Object.values<any>(op.responses).flatMap((r) => Object.values<any>(r.links ?? {})),
    );
    expect(links.length).toBeGreaterThanOrEqual(2 * 3 * 5 + 2 * 2 + 1);
    for (const link of links) expect(ids).toContain(link.operationId);
    expect(doc.paths['/api/cmcc.upgrades/1.0/operations/reboot'].post.responses['201'].links.operation).toEqual({
      operationId: 'cmcc_getOperationsRebootById',
      parameters: { id: '$response.body#/id' },
    });
  });

  test('every route of the route tables is served and documented, the SCC ones under both spellings', () => {
    // (A served route missing from the table stops createApi: see its onRoute hook.)
    const documented = Object.entries<any>(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const expected = [
      ...SCC_PREFIXES.flatMap((prefix) => Object.keys(SCC_ROUTES).map((key) => key.replace(' ', ` ${prefix}`))),
      ...Object.keys(SUMO_ROUTES).map((key) => key.replace(' ', ' /api/v1')),
      ...Object.keys(ADMIN_ROUTES).map((key) => key.replace(' ', ' /api/fleet/1.0')),
      'GET /health',
    ];
    expect(documented.sort()).toEqual(expected.sort());
  });
});
