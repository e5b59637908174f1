/**
 * The extension routes the dashboard uses, over a real socket on the real stack: pause and resume
 * of a running operation (operator; 204; 409 once finished; audited), and an operation's
 * appliance tasks a page at a time with filters and counts (10,000 tasks included). Every answer
 * is checked against the OpenAPI document (startSccApi turns the check on).
 */
import { ADMIN_PREFIX } from '../../api/admin-routes';
import { PRODUCT_CODES } from '../../domain/scc';
import { startSccApi, type SccApi } from '../helpers/scc-api';

const taskQueue = 'integration-operation-controls';
const TARGET = '9.16.0-100';

let api: SccApi;
beforeAll(async () => {
  api = await startSccApi({ appliances: 60, speed: 400, taskQueue });
});
afterAll(async () => {
  await api?.stop();
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const operation = async (id: string) => (await api.call('GET', `/operations/upgrade/${id}`, { who: 'reader' })).json;
const page = (id: string, query = '') =>
  api.call('GET', `/operations/upgrade/${id}/appliances${query}`, { who: 'reader' });

/** n appliances of one product code that may be upgraded to TARGET now, from the eligibility route. */
async function eligible(n: number): Promise<{ product: string; serials: string[] }> {
  for (const product of PRODUCT_CODES) {
    const found = (await api.call('GET', `/upgradeable_appliances/${product}/${TARGET}`, { who: 'reader' })).json
      .upgradeable as { serial: string }[];
    if (found.length >= n) return { product, serials: found.slice(0, n).map((a) => a.serial) };
  }
  throw new Error(`no product code has ${n} appliances to upgrade to ${TARGET}`);
}

test('pause holds back the tasks not started, resume lets them run; both 409 once finished; refused and done alike audited', async () => {
  const { product, serials: appliances } = await eligible(3);
  // The first task's download is held on the device until the pause is in: no task can finish (and let the next start) before it.
  for (const serial of appliances) await api.stack.devices.addFault(serial, { kind: 'hold_at_stage', stage: 'stage' });
  const created = await api.call('POST', '/operations/upgrade', {
    body: {
      product_code: product,
      target_version: { version_id: TARGET },
      reboot: false,
      comment: 'pause me',
      appliances,
      rollout: { max_in_flight: 1 },
    },
  });
  expect(created.status).toBe(201);
  const id: string = created.json.id;

  const pause = await api.call('POST', `/operations/upgrade/${id}/pause`);
  expect([pause.status, pause.text]).toEqual([204, '']);
  expect(
    (
      await until(
        () => operation(id),
        (op) => op.paused === true,
      )
    ).paused,
  ).toBe(true);
  expect((await api.call('POST', `/operations/upgrade/${id}/pause`, { who: 'reader' })).json).toMatchObject({
    error_id: 'FORBIDDEN',
  });
  // One task at a time: at most one had started when the pause came; no other starts while paused.
  const held = await page(id, '?limit=0');
  expect(held.json.status_counts.scheduled).toBeGreaterThanOrEqual(2);
  expect((await operation(id)).status).toBe('running');
  for (const serial of appliances) await api.stack.devices.clearFaults(serial);

  expect((await api.call('POST', `/operations/upgrade/${id}/resume`)).status).toBe(204);
  const done = await until(
    () => operation(id),
    (op) => op.status === 'successful',
  );
  expect(done).toMatchObject({ status: 'successful', paused: false });
  for (const action of ['pause', 'resume']) {
    const late = await api.call('POST', `/operations/upgrade/${id}/${action}`);
    expect([action, late.status, late.json]).toEqual([
      action,
      409,
      {
        error_id: 'ALREADY_FINISHED',
        error_text: `upgrade operation ${id} has already finished (successful); there is nothing to ${action}`,
      },
    ]);
  }
  expect((await api.call('POST', '/operations/upgrade/99999999999/pause')).status).toBe(404);
  expect((await api.call('POST', `/operations/reboot/${id}/pause`)).status).toBe(404);

  const trail = (await api.call('GET', '/audit?actor=operator&limit=10000', { who: 'admin', prefix: ADMIN_PREFIX }))
    .json as { action: string; outcome: string; details: Record<string, unknown> }[];
  const entries = trail.filter((e) => e.details.id === id).map((e) => `${e.action} ${e.outcome}`);
  expect(entries).toEqual(
    expect.arrayContaining([
      'postOperationsUpgradeByIdPause ok',
      'postOperationsUpgradeByIdResume ok',
      'postOperationsUpgradeByIdPause 409 ALREADY_FINISHED',
      'postOperationsUpgradeByIdResume 409 ALREADY_FINISHED',
    ]),
  );
  const refused = (await api.call('GET', '/audit?actor=reader&limit=10000', { who: 'admin', prefix: ADMIN_PREFIX }))
    .json as { action: string; outcome: string; details: Record<string, unknown> }[];
  expect(refused.filter((e) => e.details.id === id).map((e) => `${e.action} ${e.outcome}`)).toEqual([
    'postOperationsUpgradeByIdPause 403 FORBIDDEN',
  ]);
});

test('the OpenAPI document lists the extensions, under both spellings, with their statuses, permission and query', async () => {
  const doc = (await (await fetch(`${api.base}/openapi.json`)).json()) as {
    paths: Record<
      string,
      Record<string, { responses: Record<string, unknown>; parameters?: { name: string; in: string }[] }>
    >;
  };
  for (const prefix of ['/api/cmc.upgrades/1.0', '/api/cmcc.upgrades/1.0']) {
    for (const kind of ['upgrade', 'downgrade', 'reboot']) {
      for (const action of ['pause', 'resume'])
        expect(Object.keys(doc.paths[`${prefix}/operations/${kind}/{id}/${action}`]!.post!.responses).sort()).toEqual([
          '204',
          '400',
          '401',
          '403',
          '404',
          '409',
          '413',
          '415',
          '429',
        ]);
      const list = doc.paths[`${prefix}/operations/${kind}/{id}/appliances`]!.get!;
      expect(list.parameters!.filter((p) => p.in === 'query').map((p) => p.name)).toEqual([
        'status',
        'stage',
        'serial',
        'offset',
        'limit',
      ]);
      expect(list.responses['200']).toMatchObject({
        content: { 'application/json': { schema: { $ref: '#/components/schemas/appliance_task_page' } } },
      });
    }
  }
});

test('the tasks of an operation a page at a time: by serial, filtered, counted, the running version beside each', async () => {
  const { product, serials: appliances } = await eligible(5);
  const inAnHour = { datetime: Math.floor(Date.now() / 1000) + 3600, time_type: 'utc' };
  const created = await api.call('POST', '/operations/upgrade', {
    body: {
      product_code: product,
      upgrade_time: inAnHour,
      target_version: { version_id: TARGET },
      reboot: false,
      comment: 'later',
      appliances,
    },
  });
  expect(created.status).toBe(201);
  const id: string = created.json.id;
  const sorted = [...appliances].sort();

  const first = await page(id, '?limit=2');
  expect(first.status).toBe(200);
  expect(first.json).toMatchObject({
    operation_id: id,
    total: 5,
    offset: 0,
    limit: 2,
    status_counts: { scheduled: 5 },
    stage_counts: { waiting: 5 },
  });
  expect(first.json.tasks.map((t: { serial: string }) => t.serial)).toEqual(sorted.slice(0, 2));
  const inventory = (await api.call('GET', `/appliances/${product}/${sorted[0]}`, { who: 'reader' })).json;
  expect(first.json.tasks[0]).toMatchObject({
    operation_id: id,
    serial: sorted[0],
    status: 'scheduled',
    stage: 'waiting',
    running_version: inventory.current_version,
    target_version: { version_id: TARGET },
  });
  expect((await page(id, '?offset=4&limit=2')).json.tasks.map((t: { serial: string }) => t.serial)).toEqual(
    sorted.slice(4),
  );
  expect((await page(id)).json.limit).toBe(100);
  // Part of a serial, any case.
  const part = sorted[3]!.slice(-6).toLowerCase();
  const bySerial = await page(id, `?serial=${part}`);
  expect(bySerial.json.tasks.map((t: { serial: string }) => t.serial)).toContain(sorted[3]);
  expect(bySerial.json.total).toBe(bySerial.json.tasks.length);

  // One task cancelled: the status and stage filters find it, the counts cover every task whatever the filter.
  expect((await api.call('POST', `/operations/upgrade/${id}/appliances/${sorted[1]}/cancel`)).status).toBe(204);
  const cancelled = await until(
    () => page(id, '?status=cancelled'),
    (res) => res.json.total === 1,
  );
  expect(cancelled.json).toMatchObject({
    total: 1,
    status_counts: { scheduled: 4, cancelled: 1 },
    stage_counts: { waiting: 4, cancelled: 1 },
  });
  expect(cancelled.json.tasks.map((t: { serial: string }) => t.serial)).toEqual([sorted[1]]);
  expect((await page(id, '?stage=waiting&limit=0')).json).toMatchObject({ total: 4, tasks: [] });

  for (const [query, field] of [
    ['?limit=1001', 'limit'],
    ['?limit=1.5', 'limit'],
    ['?offset=-1', 'offset'],
    ['?status=done', 'status'],
    ['?serial=S12-', 'serial'],
    ['?stage=Waiting', 'stage'],
    ['?sort=serial', 'sort'],
  ] as const) {
    const res = await page(id, query);
    expect([query, res.status, res.json.error_id, res.json.field]).toEqual([query, 400, 'INVALID_REQUEST', field]);
  }
  expect((await page('99999999999')).status).toBe(404);
  expect((await api.call('GET', `/operations/upgrade/${id}/appliances`, { who: null })).status).toBe(401);
  expect((await api.call('POST', `/operations/upgrade/${id}/cancel`)).status).toBe(204);
});

test('an operation of 10,000 appliances: one page of 100 rows, the counts of all, the last page', async () => {
  const id = '1790000000123';
  const serials = Array.from(
    { length: 10_000 },
    (_, i) => `S12AB${(0x10000000 + i).toString(16).toUpperCase().slice(-8)}`,
  );
  const status = (i: number) => (i % 10 === 0 ? 'failed' : i % 3 === 0 ? 'successful' : 'scheduled');
  await api.stack.store.insertOperation(
    'upgrade',
    {
      id,
      username: 'operator',
      status: 'running',
      create_time: new Date().toISOString(),
      product_code: 'SH',
      appliances: serials,
      target_version: { version_id: TARGET },
      reboot: false,
      comment: 'big',
    },
    serials.map((serial, i) => ({
      operation_id: id,
      serial,
      status: status(i),
      stage: status(i) === 'scheduled' ? 'waiting' : status(i) === 'failed' ? 'failed' : 'completed',
      current_version: { version_id: '9.14.0-100' },
      ...(status(i) === 'failed' ? { message: `failure ${i}` } : {}),
    })),
  );
  const started = performance.now();
  const res = await page(id, '?status=failed&limit=100');
  const ms = performance.now() - started;
  expect(res.json).toMatchObject({
    total: 1000,
    status_counts: { failed: 1000, successful: 3000, scheduled: 6000 },
    stage_counts: { failed: 1000, completed: 3000, waiting: 6000 },
  });
  expect(res.json.tasks).toHaveLength(100);
  expect(res.json.tasks[0]).toMatchObject({ serial: serials[0], status: 'failed', message: 'failure 0' });
  const last = await page(id, '?offset=9950&limit=100');
  expect(last.json.tasks.map((t: { serial: string }) => t.serial)).toEqual(serials.slice(9950));
  // A figure, not asserted (the machine is shared).
  console.log(`a filtered page of a 10,000-task operation answered in ${ms.toFixed(1)} ms`);
});
