/**
 * The SCC Upgrades service over a real socket: authentication and roles, both path spellings,
 * upgrade operations created over HTTP and run by the real worker against the simulator, the
 * appliance task resources, appliances, logging, and the error shape for bad input.
 */
import { riverbedCatalog } from '../../api/bootstrap';
import { createApi } from '../../api/server';
import { createLogger } from '../../domain/logging';
import { recordHistories, replayAll } from '../helpers/histories';
import { startSccApi, type SccApi } from '../helpers/scc-api';
import type { Stack } from '../helpers/stack';

const taskQueue = 'integration-scc-api';
const TARGET = '9.16.0-100';

let api: SccApi;
let stack: Stack;
let base: string;
/** Every line the API logs (nothing until a test raises the level: it starts silent). */
const logLines: string[] = [];

beforeAll(async () => {
  const logger = createLogger('test-api', 'silent', { write: (line: string) => void logLines.push(line) });
  api = await startSccApi({ appliances: 60, speed: 400, taskQueue, logger });
  ({ stack, base } = api);
  // What a new store answers, read before any test sets the logging object (the tests run in any order).
  const read = async () => (await api.call('GET', '/logging', { who: 'reader' })).json as unknown;
  freshLogging.initial = await read();
  // A store from before the logging object holds only logging_level: GET answers it.
  await stack.store.setSetting('logging_level', 'warning');
  freshLogging.legacy = await read();
});
const freshLogging: { initial?: unknown; legacy?: unknown } = {};
// Every history the tests produced replays, checked once they have all run (in whatever order), then the stack stops.
afterAll(async () => {
  try {
    await replayHistories();
  } finally {
    await api?.stop();
  }
});

const call: SccApi['call'] = (method, path, options) => api.call(method, path, options);

async function serials(product: string, n: number): Promise<string[]> {
  return (await stack.devices.listSerials(product)).slice(0, n);
}

async function waitForStatus(id: string, done: (status: string) => boolean): Promise<any> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await call('GET', `/operations/upgrade/${id}`, { who: 'reader' });
    if (done(res.json.status) || Date.now() > deadline) return res.json;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('authentication', () => {
  test('no credentials: 401 with a Basic challenge, in the error shape', async () => {
    const res = await call('GET', '/operations/upgrade', { who: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect(res.json).toEqual({
      error_id: 'AUTH_REQUIRED',
      error_text: expect.stringContaining('authentication required'),
    });
  });

  test('a wrong key is 401 and the key never appears in the answer', async () => {
    const res = await fetch(`${base}/api/cmc.upgrades/1.0/operations/upgrade`, {
      headers: { authorization: `Basic ${Buffer.from('operator:wrong-key-123456').toString('base64')}` },
    });
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).not.toContain('wrong-key-123456');
    expect(JSON.parse(text).error_id).toBe('AUTH_REQUIRED');
  });

  test('read_only may read but not create; internal_service may not create', async () => {
    expect((await call('GET', '/operations/upgrade', { who: 'reader' })).status).toBe(200);
    const body = {
      product_code: 'SH',
      target_version: { version_id: TARGET },
      reboot: true,
      comment: 'x',
      appliances: await serials('SH', 1),
    };
    const before = (await call('GET', '/operations/upgrade', { who: 'reader' })).json.length;
    for (const who of ['reader', 'internal'] as const) {
      const res = await call('POST', '/operations/upgrade', { who, body });
      expect(res.status).toBe(403);
      expect(res.json.error_id).toBe('FORBIDDEN');
    }
    expect((await call('GET', '/operations/upgrade', { who: 'reader' })).json.length).toBe(before);
  });

  test('health needs no credentials', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});

describe('upgrade operations', () => {
  test('create over HTTP, runs to successful; operation, tasks, state and logs readable under both spellings', async () => {
    // Upgradeable now: another test may have made an SH appliance busy or upgraded it already (any order).
    const upgradeable = (await call('GET', `/upgradeable_appliances/SH/${TARGET}`, { who: 'reader' })).json
      .upgradeable as { serial: string }[];
    const appliances = upgradeable.slice(0, 3).map((a) => a.serial);
    expect(appliances).toHaveLength(3);
    const created = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'api test',
        appliances,
        ticket: 'CHG-1',
      },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      product_code: 'SH',
      username: 'operator',
      comment: 'api test',
      ticket: 'CHG-1',
      appliances,
    });
    expect(['scheduled', 'running']).toContain(created.json.status);
    expect(created.headers.get('location')).toBe(`/api/cmc.upgrades/1.0/operations/upgrade/${created.json.id}`);
    const id: string = created.json.id;

    const done = await waitForStatus(id, (s) => s === 'successful');
    expect(done.status).toBe('successful');
    const other = await call('GET', `/operations/upgrade/${id}`, { who: 'reader', prefix: '/api/cmcc.upgrades/1.0' });
    expect(other.json).toEqual(done);

    const task = await call('GET', `/operations/upgrade/${id}/appliances/${appliances[0]}`, { who: 'reader' });
    expect(task.status).toBe(200);
    expect(task.json).toMatchObject({
      operation_id: id,
      serial: appliances[0],
      target_version: { version_id: TARGET },
      reboot: true,
      status: 'successful',
      stage: 'completed',
    });
    const state = await call('GET', `/operations/upgrade/${id}/appliances/${appliances[0]}/state`, { who: 'reader' });
    expect(state.json).toEqual({ operation_id: id, serial: appliances[0], status: 'successful', stage: 'completed' });

    const opLog = await call('GET', `/operations/upgrade/${id}/log`, { who: 'reader' });
    expect(opLog.json.operation_id).toBe(id);
    expect(opLog.json.log[0]).toMatchObject({
      severity: 'info',
      log_entry: expect.stringContaining('created by operator'),
    });
    const taskLog = await call('GET', `/operations/upgrade/${id}/appliances/${appliances[0]}/log`, { who: 'reader' });
    expect(taskLog.json.log.at(-1).log_entry).toBe(`upgrade to ${TARGET} completed`);

    const listed = await call('GET', `/operations/upgrade?username=operator&status=successful`, { who: 'reader' });
    expect(listed.json.map((o: { id: string }) => o.id)).toContain(id);
    const none = await call('GET', `/operations/upgrade?time_upper_bound=1`, { who: 'reader' });
    expect(none.json).toEqual([]);
  });

  test.each([
    [
      'missing appliances',
      { product_code: 'SH', target_version: { version_id: TARGET }, reboot: true, comment: 'x' },
      'appliances',
    ],
    [
      'bad serial',
      {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'x',
        appliances: ['not-a-serial'],
      },
      'appliances.0',
    ],
    [
      'read-only id of the wrong type',
      {
        id: 5,
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'x',
        appliances: ['S12AB00000001'],
      },
      'id',
    ],
    [
      'bad product code',
      {
        product_code: 'XX',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'x',
        appliances: ['S12AB00000001'],
      },
      'product_code',
    ],
    [
      'reboot not boolean',
      {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: 'yes',
        comment: 'x',
        appliances: ['S12AB00000001'],
      },
      'reboot',
    ],
    [
      'task_timeout not a number',
      {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'x',
        task_timeout: '30m',
        appliances: ['S12AB00000001'],
      },
      'task_timeout',
    ],
    [
      'task_timeout zero',
      {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'x',
        task_timeout: 0,
        appliances: ['S12AB00000001'],
      },
      'task_timeout',
    ],
    [
      'task_timeout over 7 days',
      {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'x',
        task_timeout: 604801,
        appliances: ['S12AB00000001'],
      },
      'task_timeout',
    ],
  ])('bad input (%s): 400 naming the field, nothing created', async (_name, body, field) => {
    const before = (await call('GET', '/operations/upgrade', { who: 'reader' })).json.length;
    const res = await call('POST', '/operations/upgrade', { body });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error_id: 'INVALID_REQUEST',
      error_text: expect.stringMatching(new RegExp(`^${field.replace('.', '\\.')}: `)),
      field,
    });
    expect((await call('GET', '/operations/upgrade', { who: 'reader' })).json.length).toBe(before);
  });

  test('malformed JSON is 400; a non-JSON media type is 415', async () => {
    const bad = await call('POST', '/operations/upgrade', { body: '{"product_code": ' });
    expect(bad.status).toBe(400);
    expect(bad.json.error_id).toBe('INVALID_REQUEST');
    const text = await call('POST', '/operations/upgrade', { body: 'product_code=SH', contentType: 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.json.error_id).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test('unknown operations and tasks are 404; bad query parameters are 400', async () => {
    expect((await call('GET', '/operations/upgrade/99999999', { who: 'reader' })).status).toBe(404);
    expect((await call('POST', '/operations/upgrade/99999999/cancel')).status).toBe(404);
    expect(
      (await call('GET', '/operations/upgrade/99999999/appliances/S12AB00000001/state', { who: 'reader' })).status,
    ).toBe(404);
    const bad = await call('GET', '/operations/upgrade?status=done', { who: 'reader' });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe('status');
  });

  test('cancel an operation scheduled for later: 204, then cancelled with every task cancelled', async () => {
    const appliances = await serials('EX', 2);
    const later = Math.floor(Date.now() / 1000) + 3600;
    const created = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'EX',
        target_version: { version_id: TARGET },
        reboot: false,
        upgrade_time: { datetime: later, time_type: 'utc' },
        comment: 'later',
        appliances,
      },
    });
    expect(created.status).toBe(201);
    expect(created.json.status).toBe('scheduled');
    const cancel = await call('POST', `/operations/upgrade/${created.json.id}/cancel`);
    expect(cancel.status).toBe(204);
    const done = await waitForStatus(created.json.id, (s) => s === 'cancelled');
    expect(done.status).toBe('cancelled');
    for (const serial of appliances) {
      const state = await call('GET', `/operations/upgrade/${created.json.id}/appliances/${serial}/state`, {
        who: 'reader',
      });
      expect(state.json.status).toBe('cancelled');
    }
  });

  test('internal endpoints: task state set and log append need internal_service; bad state is 400', async () => {
    const appliances = await serials('IC', 1);
    const later = Math.floor(Date.now() / 1000) + 3600;
    const created = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'IC',
        target_version: { version_id: TARGET },
        reboot: false,
        upgrade_time: { datetime: later, time_type: 'utc' },
        comment: 'internal',
        appliances,
      },
    });
    const path = `/operations/upgrade/${created.json.id}/appliances/${appliances[0]}`;
    expect(
      (await call('PUT', `${path}/state`, { who: 'operator', body: { status: 'running', stage: 'initiating' } }))
        .status,
    ).toBe(403);
    const bad = await call('PUT', `${path}/state`, {
      who: 'internal',
      body: { status: 'running', stage: 'rebooting' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe('stage');
    const set = await call('PUT', `${path}/state`, {
      who: 'internal',
      body: { status: 'running', stage: 'initiating' },
    });
    expect(set.json).toEqual({
      operation_id: created.json.id,
      serial: appliances[0],
      status: 'running',
      stage: 'initiating',
    });
    const appended = await call('POST', `${path}/log`, {
      who: 'internal',
      body: { timestamp: 1700000000, severity: 'notice', log_entry: 'from outside' },
    });
    expect(appended.status).toBe(204);
    expect((await call('GET', `${path}/log`, { who: 'reader' })).json.log.at(-1)).toEqual({
      timestamp: 1700000000,
      severity: 'notice',
      log_entry: 'from outside',
    });
    await call('POST', `/operations/upgrade/${created.json.id}/cancel`);
  });
});

describe('appliances and service logging', () => {
  test('appliances by product code and one appliance, without connection secrets', async () => {
    const list = await call('GET', '/appliances/SH', { who: 'reader' });
    expect(list.status).toBe(200);
    expect(list.json.length).toBeGreaterThan(0);
    expect(list.json.every((a: { product_code: string }) => a.product_code === 'SH')).toBe(true);
    const one = await call('GET', `/appliances/SH/${list.json[0].serial}`, { who: 'reader' });
    expect(one.json).toMatchObject({
      serial: list.json[0].serial,
      product_code: 'SH',
      connected: expect.any(Boolean),
      current_version: { version_id: expect.any(String) },
    });
    expect(one.text).not.toMatch(/password|connection/);
    expect((await call('GET', `/appliances/EX/${list.json[0].serial}`, { who: 'reader' })).status).toBe(404);
    const bad = await call('GET', '/appliances/XX', { who: 'reader' });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe('product_code');
  });

  test('connected product codes are the product codes of connected appliances', async () => {
    const res = await call('GET', '/connected_product_codes', { who: 'reader' });
    expect(res.json).toEqual(['SH', 'EX', 'IC', 'SMC', 'WW', 'GC']);
  });

  test('logging level: read, set by an operator, bad level is 400 and changes nothing', async () => {
    expect(freshLogging).toEqual({ initial: { level: 'info' }, legacy: { level: 'warning' } });
    expect((await call('PUT', '/logging', { who: 'reader', body: { level: 'debug' } })).status).toBe(403);
    expect((await call('PUT', '/logging', { body: { level: 'debug' } })).json).toEqual({ level: 'debug' });
    const bad = await call('PUT', '/logging', { body: { level: 'loud' } });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe('level');
    expect((await call('GET', '/logging', { who: 'reader' })).json).toEqual({ level: 'debug' });
    // Quiet again for the rest of the file.
    expect((await call('PUT', '/logging', { body: { level: 'crit' } })).json).toEqual({ level: 'crit' });
  });

  const SECRETS = ['syslog-password-5e3c7a', 'bearer-token-91f0d2'];
  const extended = {
    facility: 'local3',
    level: 'debug',
    syslog: { host: 'logs.example.com', port: 6514, tls: true, password: SECRETS[0] },
    categories: ['upgrade', 'auth'],
    retention_days: 30.5,
    note: null,
    token: SECRETS[1],
    empty: {},
  };

  test('logging extension properties: PUT keeps every one exactly as sent (types, nesting, key order), GET answers them; level applied; values never logged', async () => {
    logLines.length = 0;
    const put = await call('PUT', '/logging', { body: extended });
    expect(put.status).toBe(200);
    expect(put.text).toBe(JSON.stringify(extended));
    for (const prefix of ['/api/cmc.upgrades/1.0', '/api/cmcc.upgrades/1.0']) {
      const get = await call('GET', '/logging', { who: 'reader', prefix });
      expect([get.status, get.text]).toEqual([200, JSON.stringify(extended)]);
    }
    // The level still drives the running logger.
    expect(api.app.log.level).toBe('debug');
    const set = logLines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'service logging set');
    // At info (30), with the new level under its own key.
    expect(set).toMatchObject({
      level: 30,
      loggingLevel: 'debug',
      username: 'operator',
      extensions: ['facility', 'syslog', 'categories', 'retention_days', 'note', 'token', 'empty'],
    });
    // Nothing the API logged (requests, answers, the change) carries an extension value.
    expect(logLines.length).toBeGreaterThan(1);
    for (const secret of SECRETS) expect(logLines.join('\n')).not.toContain(secret);

    // A PUT replaces the object: properties not sent again are gone.
    const replaced = { level: 'notice', syslog: { host: 'other.example.com' } };
    expect((await call('PUT', '/logging', { body: replaced })).json).toEqual(replaced);
    expect((await call('GET', '/logging', { who: 'reader' })).json).toEqual(replaced);
    expect(api.app.log.level).toBe('info');
    // Survives in the store (another API process reads the same).
    expect(JSON.parse((await stack.store.getSetting('logging'))!)).toEqual(replaced);
    expect((await call('PUT', '/logging', { body: { level: 'crit' } })).json).toEqual({ level: 'crit' });
    expect(api.app.log.level).toBe('fatal');
  });

  test.each([
    ['an array', [], 'body', 400],
    ['a string', '"debug"', 'body', 400],
    ['null', 'null', 'body', 400],
    ['no level', { syslog: { host: 'x' } }, 'level', 400],
    ['an unknown level, with extensions', { level: 'loud', token: SECRETS[1] }, 'level', 400],
    ['a level that is not a string', { level: 7 }, 'level', 400],
    ['the level in upper case', { level: 'DEBUG' }, 'level', 400],
    ['malformed JSON', '{"level": "debug", ', 'body', 400],
    ['a __proto__ property', '{"level": "debug", "__proto__": {"polluted": true}}', 'body', 400],
  ])('a bad logging PUT (%s) is 400 in the error shape and changes nothing', async (_name, body, field, status) => {
    expect((await call('PUT', '/logging', { body: extended })).status).toBe(200);
    const before = await call('GET', '/logging', { who: 'reader' });
    logLines.length = 0;
    const res = await call('PUT', '/logging', { body });
    expect(res.status).toBe(status);
    expect(res.json).toEqual({
      error_id: 'INVALID_REQUEST',
      error_text: expect.stringMatching(new RegExp(`^${field}: `)),
      field,
    });
    for (const secret of SECRETS) expect(res.text + logLines.join('\n')).not.toContain(secret);
    const after = await call('GET', '/logging', { who: 'reader' });
    expect([after.status, after.text]).toEqual([200, before.text]);
    expect(api.app.log.level).toBe('debug');
    expect((await call('PUT', '/logging', { body: { level: 'crit' } })).status).toBe(200);
  });

  test('a logging PUT by a reader (403) or not in JSON (415) changes nothing', async () => {
    expect((await call('PUT', '/logging', { body: extended })).status).toBe(200);
    const before = (await call('GET', '/logging', { who: 'reader' })).text;
    const forbidden = await call('PUT', '/logging', { who: 'reader', body: { level: 'err', token: 'x' } });
    expect([forbidden.status, forbidden.json.error_id]).toEqual([403, 'FORBIDDEN']);
    const text = await call('PUT', '/logging', { body: 'level=err', contentType: 'text/plain' });
    expect([text.status, text.json.error_id]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect((await call('GET', '/logging', { who: 'reader' })).text).toBe(before);
    expect(api.app.log.level).toBe('debug');
    expect((await call('PUT', '/logging', { body: { level: 'crit' } })).status).toBe(200);
  });

  test('a logging setting the store cannot read is a 500 without details; a PUT sets it right', async () => {
    await stack.store.setSetting('logging', '{"level": "debug", ');
    const broken = await call('GET', '/logging', { who: 'reader' });
    expect(broken.status).toBe(500);
    expect(broken.json).toEqual({ error_id: 'INTERNAL_ERROR', error_text: 'internal error' });
    await stack.store.setSetting('logging', JSON.stringify({ level: 'emerg', token: SECRETS[1] }));
    const invalid = await call('GET', '/logging', { who: 'reader' });
    expect(invalid.status).toBe(500);
    expect(invalid.text).not.toContain(SECRETS[1]);
    expect((await call('PUT', '/logging', { body: { level: 'crit' } })).status).toBe(200);
    expect((await call('GET', '/logging', { who: 'reader' })).json).toEqual({ level: 'crit' });
  });

  test('the level set through the API outlives a restart of the API', async () => {
    expect((await call('PUT', '/logging', { body: { level: 'err' } })).status).toBe(200);
    const logger = createLogger('restarted-api', 'info');
    const restarted = createApi({
      client: stack.env.client,
      logger,
      store: stack.store,
      taskQueue: 'unused',
      checkResponses: true,
    });
    await restarted.ready();
    expect(logger.level).toBe('error');
    await restarted.close();
    expect((await call('PUT', '/logging', { body: { level: 'crit' } })).status).toBe(200);
  });
});

describe('downgrade and reboot operations', () => {
  async function done(
    kind: string,
    id: string,
    statuses = ['successful', 'partially_successful', 'failed', 'cancelled'],
  ): Promise<any> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const res = await call('GET', `/operations/${kind}/${id}`, { who: 'reader' });
      if (statuses.includes(res.json?.status) || Date.now() > deadline) return res.json;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  test('a downgrade takes appliances back to the version they ran before, recorded in their version history', async () => {
    // Two upgradeable SMC appliances on one version: the downgrade takes both back to it.
    const upgradeable: { serial: string; current_version: { version_id: string } }[] = (
      await call('GET', `/upgradeable_appliances/SMC/${TARGET}`, { who: 'reader' })
    ).json.upgradeable;
    const version = upgradeable.find(
      (a) => upgradeable.filter((b) => b.current_version.version_id === a.current_version.version_id).length >= 2,
    )!.current_version.version_id;
    const appliances = upgradeable
      .filter((a) => a.current_version.version_id === version)
      .slice(0, 2)
      .map((a) => a.serial);
    const before = await stack.devices.info(appliances[0]!);
    // Downgrades install images of the customer repository only (the seed).
    for (const arch of ['i386', 'x86_64']) {
      const image_definition = { product_code: 'SMC', arch, target_version: before.running_version, delta: false };
      expect(
        (
          await call('POST', '/image_repositories/customer/urls', {
            body: { url: `https://images.example.com/smc-${arch}.img`, image_definition },
          })
        ).status,
      ).toBe(201);
    }
    const up = await call('POST', '/operations/upgrade', {
      body: { product_code: 'SMC', target_version: { version_id: TARGET }, reboot: true, comment: 'up', appliances },
    });
    expect((await done('upgrade', up.json.id)).status).toBe('successful');

    const down = await call('POST', '/operations/downgrade', {
      body: { product_code: 'SMC', target_version: before.running_version, reboot: true, comment: 'back', appliances },
    });
    expect([down.status, down.json.error_text]).toEqual([201, undefined]);
    expect(down.headers.get('location')).toBe(`/api/cmc.upgrades/1.0/operations/downgrade/${down.json.id}`);
    expect((await done('downgrade', down.json.id)).status).toBe('successful');
    expect((await stack.devices.info(appliances[0]!)).running_version.version_id).toBe(
      before.running_version.version_id,
    );
    const state = await call('GET', `/operations/downgrade/${down.json.id}/appliances/${appliances[0]}/state`, {
      who: 'reader',
    });
    expect(state.json).toEqual({
      operation_id: down.json.id,
      serial: appliances[0],
      status: 'successful',
      stage: 'completed',
    });
    const log = await call('GET', `/operations/downgrade/${down.json.id}/appliances/${appliances[0]}/log`, {
      who: 'reader',
    });
    expect(log.json.log.at(-1).log_entry).toBe(`downgrade to ${before.running_version.version_id} completed`);
    // The downgrade is not visible as an upgrade, and its history names both operations.
    expect((await call('GET', `/operations/upgrade/${down.json.id}`, { who: 'reader' })).status).toBe(404);
    const history = await stack.store.versionHistory(appliances[0]!);
    expect(history.filter((c) => c.operation_id).map((c) => [c.operation_id, c.to_version_id])).toEqual([
      [up.json.id, TARGET],
      [down.json.id, before.running_version.version_id],
    ]);
    // The inventory shows the running version at once.
    expect(
      (await call('GET', `/appliances/SMC/${appliances[0]}`, { who: 'reader' })).json.current_version.version_id,
    ).toBe(before.running_version.version_id);
  });

  test('a reboot operation walks initiating → rebooting → reboot_wait → completed, without changing the version', async () => {
    const appliances = await serials('WW', 2);
    const before = await Promise.all(appliances.map((s) => stack.devices.counters(s)));
    const versions = await Promise.all(
      appliances.map(async (s) => (await stack.devices.info(s)).running_version.version_id),
    );
    const reboot = await call('POST', '/operations/reboot', { body: { comment: 'weekly', appliances } });
    expect(reboot.status).toBe(201);
    expect(reboot.json).toMatchObject({ comment: 'weekly', appliances, username: 'operator' });
    expect((await done('reboot', reboot.json.id)).status).toBe('successful');
    for (const [i, serial] of appliances.entries()) {
      expect((await stack.devices.counters(serial)).reboots).toBe(before[i]!.reboots + 1);
      expect((await stack.devices.info(serial)).running_version.version_id).toBe(versions[i]);
    }
    const stages = (
      await call('GET', `/operations/reboot/${reboot.json.id}/appliances/${appliances[0]}/log`, { who: 'reader' })
    ).json.log.map((e: { log_entry: string }) => e.log_entry);
    expect(stages).toEqual(
      expect.arrayContaining([
        'reboot started',
        `rebooting ${appliances[0]}`,
        'waiting for the appliance to come back',
      ]),
    );
    const bad = await call('PUT', `/operations/reboot/${reboot.json.id}/appliances/${appliances[0]}/state`, {
      who: 'internal',
      body: { status: 'running', stage: 'downloading' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe('stage');
  });

  test('a reboot operation refuses a read-only field of the wrong type, naming it', async () => {
    const res = await call('POST', '/operations/reboot', {
      body: { comment: 'x', appliances: ['S12AB00000001'], status: 'done' },
    });
    expect(res.status).toBe(400);
    expect(res.json.field).toBe('status');
  });

  test('deferred reboot: the upgrade installs, its linked reboot operation reboots at reboot_time and activates the version', async () => {
    const appliances = await serials('GC', 2);
    const before = await Promise.all(appliances.map((s) => stack.devices.counters(s)));
    // Due now: the reboot waits for the upgrade's hand-over, never for a clock (the wait for a later
    // reboot_time is tested in virtual time: test/workflow/local-time-and-deferred-reboot.test.ts).
    const rebootAt = Math.floor(Date.now() / 1000);
    const up = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'GC',
        target_version: { version_id: TARGET },
        reboot: true,
        reboot_time: { datetime: rebootAt, time_type: 'utc' },
        comment: 'deferred',
        appliances,
      },
    });
    expect(up.status).toBe(201);
    expect(up.json.reboot_id).toEqual(expect.any(Number));
    const rebootId = String(up.json.reboot_id);
    const linked = await call('GET', `/operations/reboot/${rebootId}`, { who: 'reader' });
    expect(linked.json).toMatchObject({
      upgrade_id: up.json.id,
      switch_partition: true,
      appliances,
      reboot_time: { datetime: rebootAt, time_type: 'utc' },
    });

    expect((await done('upgrade', up.json.id)).status).toBe('successful');
    expect((await done('reboot', rebootId)).status).toBe('successful');
    for (const [i, serial] of appliances.entries()) {
      const counters = await stack.devices.counters(serial);
      expect(counters.installs).toBe(before[i]!.installs + 1);
      expect(counters.reboots).toBe(before[i]!.reboots + 1);
      expect((await stack.devices.info(serial)).running_version.version_id).toBe(TARGET);
      // The reboot that activated the version recorded it in the appliance's history.
      expect((await stack.store.versionHistory(serial)).at(-1)).toMatchObject({
        to_version_id: TARGET,
        operation_id: rebootId,
      });
    }
    const task = await call('GET', `/operations/reboot/${rebootId}/appliances/${appliances[0]}`, { who: 'reader' });
    expect(task.json).toMatchObject({
      status: 'successful',
      stage: 'completed',
      switch_partition: true,
      deferred: true,
    });
    // The reboot waited for its time.
    expect(task.json.task_start_time.datetime).toBeGreaterThanOrEqual(rebootAt);
  });

  test('a reboot_time without reboot: true is refused', async () => {
    const res = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: false,
        reboot_time: { datetime: 1, time_type: 'utc' },
        comment: '',
        appliances: ['S12AB00000001'],
      },
    });
    expect(res.status).toBe(400);
    expect(res.json.field).toBe('reboot_time');
  });

  test('an operation with ineligible appliances is refused at creation, naming each and its category', async () => {
    const [good] = (await call('GET', `/upgradeable_appliances/SH/${TARGET}`, { who: 'reader' })).json.upgradeable;
    // An hour ahead: the appliance has a scheduled task, so it is busy for another operation.
    const first = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        upgrade_time: { datetime: Math.floor(Date.now() / 1000) + 3600, time_type: 'utc' },
        comment: 'later',
        appliances: [good.serial],
      },
    });
    expect(first.status).toBe(201);
    expect((await waitForStatus(first.json.id, (status) => status === 'scheduled')).status).toBe('scheduled');
    const before = (await call('GET', '/operations/upgrade', { who: 'reader' })).json.length;
    const res = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: '',
        appliances: [good.serial, 'S12AB00000001'],
      },
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error_id: expect.any(String),
      error_text: expect.stringContaining(`${good.serial} (operation_in_progress), S12AB00000001 (unknown)`),
      field: 'appliances',
    });
    expect((await call('GET', '/operations/upgrade', { who: 'reader' })).json.length).toBe(before);
    expect((await call('POST', `/operations/upgrade/${first.json.id}/cancel`)).status).toBeLessThan(300);
    expect((await waitForStatus(first.json.id, (status) => status === 'cancelled')).status).toBe('cancelled');
  });
});

describe('local-time schedules', () => {
  test('each appliance starts at the given wall-clock time in its own time zone', async () => {
    // Two SH appliances placed in Tokyo and New York in the inventory (where the API reads time zones).
    const eligible = (
      await call('GET', `/upgradeable_appliances/SH/${TARGET}`, { who: 'reader' })
    ).json.upgradeable.slice(-2);
    const [first, second] = await Promise.all(
      eligible.map((a: { serial: string }) => stack.store.getAppliance(a.serial)),
    );
    const tokyo = { ...first!, time_zone: 'Asia/Tokyo' };
    const newYork = { ...second!, time_zone: 'America/New_York' };
    await stack.store.upsertAppliance(tokyo);
    await stack.store.upsertAppliance(newYork);
    // Tokyo's wall clock now (due at once, no window to hit); in New York that wall-clock time comes 14 hours later (EST).
    const now = Math.floor(Date.now() / 1000);
    const wallClock = now + 9 * 3600;
    const created = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        upgrade_time: { datetime: wallClock, time_type: 'local' },
        comment: 'follow the sun',
        appliances: [tokyo.serial, newYork.serial],
      },
    });
    expect(created.status).toBe(201);
    const deadline = Date.now() + 60_000;
    let state: any;
    while (Date.now() < deadline) {
      state = (
        await call('GET', `/operations/upgrade/${created.json.id}/appliances/${tokyo.serial}/state`, { who: 'reader' })
      ).json;
      if (state.status === 'successful') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(state.status).toBe('successful');
    const ny = await call('GET', `/operations/upgrade/${created.json.id}/appliances/${newYork.serial}/state`, {
      who: 'reader',
    });
    expect(ny.json).toMatchObject({ status: 'scheduled', stage: 'waiting' });
    expect((await stack.devices.info(newYork.serial)).running_version.version_id).not.toBe(TARGET);
    await call('POST', `/operations/upgrade/${created.json.id}/cancel`);
  });

  test('a local time for an appliance without a known time zone is refused, naming the field', async () => {
    const res = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'SH',
        target_version: { version_id: TARGET },
        reboot: true,
        upgrade_time: { datetime: 1, time_type: 'local' },
        comment: '',
        appliances: ['S12AB00000001'],
      },
    });
    expect(res.status).toBe(400);
    expect(res.json.field).toBe('upgrade_time.time_type');
    expect(res.json.error_text).toContain('S12AB00000001');
  });
});

describe('images, eligibility and versions', () => {
  test('the Riverbed catalog is listed per repository and as images; one image by id', async () => {
    const riverbed = await call('GET', '/image_repositories/riverbed/images', { who: 'reader' });
    expect(riverbed.json).toHaveLength(riverbedCatalog('http://images.test.invalid').length);
    const one = await call('GET', `/image_repositories/riverbed/image/${riverbed.json[0].id}`, { who: 'reader' });
    expect(one.json).toEqual(riverbed.json[0]);
    const images = await call('GET', '/images?product_code=SH', { who: 'reader' });
    expect(
      images.json.every((i: any) => i.image_definition.product_code === 'SH' && i.image_sources.length === 1),
    ).toBe(true);
    expect((await call('GET', '/image_repositories', { who: 'reader' })).json).toEqual(['customer', 'riverbed']);
    expect((await call('GET', '/images/nope', { who: 'reader' })).status).toBe(404);
    expect((await call('GET', '/images?product_code=ZZ', { who: 'reader' })).json.field).toBe('product_code');
  });

  test('customer images: register a URL, upload, read, delete; a definition is required when the image has no readable manifest', async () => {
    const definition = {
      product_code: 'EX',
      arch: 'x86_64',
      target_version: { version_id: '9.12.0-100' },
      delta: false,
    };
    const missing = await call('POST', '/image_repositories/customer/urls', {
      body: { url: 'https://images.example.com/ex.img' },
    });
    expect(missing.status).toBe(400);
    expect(missing.json.field).toBe('url');
    expect(missing.json.error_text).toMatch(
      /^url: could not read the image at https:\/\/images\.example\.com\/ex\.img \(.*\); give its image_definition$/,
    );
    expect(
      (
        await call('POST', '/image_repositories/customer/urls', {
          who: 'reader',
          body: { url: 'https://x.example/a.img', image_definition: definition },
        })
      ).status,
    ).toBe(403);
    const registered = await call('POST', '/image_repositories/customer/urls', {
      body: { url: 'https://images.example.com/ex.img', image_definition: definition },
    });
    expect(registered.status).toBe(201);
    expect(registered.json).toMatchObject({
      id: expect.any(String),
      url: 'https://images.example.com/ex.img',
      image_definition: definition,
      registration_time: expect.any(Number),
    });
    expect(
      (await call('GET', `/image_repositories/customer/url/${registered.json.id}`, { who: 'reader' })).json,
    ).toEqual(registered.json);
    const uploaded = await call('POST', '/image_repositories/customer/local_images', {
      body: { url: 'file:///var/tmp/ex.img', image_definition: { ...definition, arch: 'i386' } },
    });
    expect(uploaded.json).toMatchObject({ id: expect.any(String), modification_time: expect.any(Number) });
    expect(
      (await call('GET', '/image_repositories/customer/local_images', { who: 'reader' })).json.map((i: any) => i.id),
    ).toContain(uploaded.json.id);
    expect((await call('DELETE', `/image_repositories/customer/local_image/${uploaded.json.id}`)).status).toBe(204);
    expect(
      (await call('GET', `/image_repositories/customer/local_image/${uploaded.json.id}`, { who: 'reader' })).status,
    ).toBe(404);
    // A URL-hosted image is not a local one.
    expect((await call('DELETE', `/image_repositories/customer/local_image/${registered.json.id}`)).status).toBe(404);
  });

  test('upgradeable appliances: every category present, in-progress and up-to-date appliances placed', async () => {
    const appliances = await serials('EX', 4);
    const later = Math.floor(Date.now() / 1000) + 3600;
    const pending = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'EX',
        target_version: { version_id: TARGET },
        reboot: true,
        upgrade_time: { datetime: later, time_type: 'utc' },
        comment: 'pending',
        appliances: [appliances[3]],
      },
    });
    const res = await call('GET', `/upgradeable_appliances/EX/${TARGET}`, { who: 'reader' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.exceptions).sort()).toEqual([
      'disconnected',
      'model_eol',
      'no_i386_image',
      'no_x86_64_image',
      'not_supported',
      'operation_in_progress',
      'read_only',
      'same_or_newer_version',
      'unentitled',
    ]);
    const place = (serial: string) =>
      [res.json.upgradeable, ...Object.values(res.json.exceptions)].findIndex((list: any) =>
        list.some((a: any) => a.serial === serial),
      );
    expect(res.json.exceptions.operation_in_progress.map((a: any) => a.serial)).toContain(appliances[3]);
    for (const serial of appliances) expect(place(serial)).toBeGreaterThanOrEqual(0);
    const all = [...res.json.upgradeable, ...Object.values(res.json.exceptions).flat()] as { product_code: string }[];
    expect(all.every((a) => a.product_code === 'EX')).toBe(true);
    await call('POST', `/operations/upgrade/${pending.json.id}/cancel`);
    expect((await call('GET', '/upgradeable_appliances/EX/1.0.0-1', { who: 'reader' })).status).toBe(404);
  });

  test('after an upgrade: same_or_newer_version for the upgrade, downgradeable back once the customer repository has the image', async () => {
    // A GC appliance upgraded here (not one of the deferred-reboot test's, which may run before or after).
    const others = new Set(await serials('GC', 2));
    const candidates = (await call('GET', `/upgradeable_appliances/GC/${TARGET}`, { who: 'reader' })).json
      .upgradeable as { serial: string }[];
    const mine = candidates.map((a) => a.serial).find((serial) => !others.has(serial))!;
    expect(mine).toBeDefined();
    const created = await call('POST', '/operations/upgrade', {
      body: {
        product_code: 'GC',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'to go back',
        appliances: [mine],
      },
    });
    expect(created.status).toBe(201);
    expect(
      (
        await waitForStatus(created.json.id, (status) =>
          ['successful', 'partially_successful', 'failed', 'cancelled'].includes(status),
        )
      ).status,
    ).toBe('successful');
    const gc = (await stack.store.listAppliances({ product_code: 'GC' })).filter(
      (a) => a.serial === mine && a.current_version?.version_id === TARGET,
    );
    expect(gc).toHaveLength(1);
    const up = await call('GET', `/upgradeable_appliances/GC/${TARGET}`, { who: 'reader' });
    expect(up.json.exceptions.same_or_newer_version.map((a: any) => a.serial)).toContain(mine);
    const previous = (await stack.store.versionHistory(mine)).find((c) => c.to_version_id === TARGET)!.from_version_id!;
    const before = await call('GET', `/downgradeable_appliances/GC/${previous}`, { who: 'reader' });
    // Only Riverbed images of that version exist: downgrades need the customer repository.
    expect(before.json.downgradeable.map((a: any) => a.serial)).not.toContain(gc[0]!.serial);
    for (const arch of ['x86_64', 'i386']) {
      await call('POST', '/image_repositories/customer/urls', {
        body: {
          url: `https://images.example.com/gc-${arch}.img`,
          image_definition: { product_code: 'GC', arch, target_version: { version_id: previous }, delta: false },
        },
      });
    }
    const after = await call('GET', `/downgradeable_appliances/GC/${previous}`, { who: 'reader' });
    expect(after.json.downgradeable.map((a: any) => a.serial)).toContain(gc[0]!.serial);
    expect(Object.keys(after.json.exceptions).sort()).toEqual([
      'disconnected',
      'no_i386_image',
      'no_x86_64_image',
      'not_previously_upgraded_to',
      'not_supported',
      'operation_in_progress',
      'read_only',
      'same_or_older_version',
    ]);
    const versions = await call('GET', '/versions/downgradeable/GC', { who: 'reader' });
    expect(versions.json.map((v: any) => v.version.version_id)).toContain(previous);
    expect(versions.json.every((v: any) => v.product_code === 'GC')).toBe(true);
  });

  test('rebootable appliances and upgradeable versions', async () => {
    const reboot = await call('GET', '/rebootable_appliances/SH', { who: 'reader' });
    expect(Object.keys(reboot.json.exceptions).sort()).toEqual([
      'disconnected',
      'not_supported',
      'operation_in_progress',
      'read_only',
    ]);
    expect(reboot.json.rebootable.length).toBeGreaterThan(0);
    const versions = await call('GET', '/versions/upgradeable/SH', { who: 'reader' });
    expect(versions.json.map((v: any) => v.version.version_id)).toContain(TARGET);
    expect((await call('GET', '/rebootable_appliances/XX', { who: 'reader' })).json.field).toBe('product_code');
  });
});

describe('OpenAPI document', () => {
  test('documents every served route from the zod schemas, every reference resolves; /docs browses it', async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    const paths = Object.keys(doc.paths);
    for (const prefix of ['/api/cmc.upgrades/1.0', '/api/cmcc.upgrades/1.0']) {
      for (const route of [
        '/operations/upgrade',
        '/operations/downgrade/{id}/cancel',
        '/operations/reboot/{id}/appliances/{serial}/state',
        '/upgradeable_appliances/{product_code}/{version_id}',
        '/image_repositories/customer/url/{id}',
        '/logging',
      ]) {
        expect(paths).toContain(`${prefix}${route}`);
      }
    }
    expect(paths).toEqual(
      expect.arrayContaining(['/api/v1/collectors/upgrades', '/api/v1/collectors/upgrades/{upgradeTaskID}', '/health']),
    );
    // Every SCC and Sumo operation has its own entry (summary and schemas), none left generic.
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const op of Object.values<any>(ops)) if (path.startsWith('/api/')) expect(op.summary).not.toBe(path);
    }
    const create = doc.paths['/api/cmc.upgrades/1.0/operations/upgrade'].post;
    expect(create.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/upgrade_operation_request',
    );
    expect(Object.keys(create.responses)).toEqual(['201', '400', '401', '403', '413', '415', '429']);
    const request = doc.components.schemas.upgrade_operation_request;
    expect(request.required).toEqual(
      expect.arrayContaining(['product_code', 'target_version', 'reboot', 'comment', 'appliances']),
    );
    expect(request.properties.product_code.enum).toEqual(['SH', 'EX', 'IC', 'SMC', 'WW', 'GC']);
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[a-z_]+/g)!;
    for (const r of new Set(refs)) expect(doc.components.schemas[r.split('/').pop()!]).toBeDefined();
    const page = await fetch(`${base}/docs`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/openapi.json');
  });
});

/** Replays the downgrade and reboot histories the tests produced against the current workflow code (and records fixtures, asked to). */
async function replayHistories(): Promise<void> {
  const query = "FleetOperationKind = 'reboot' OR FleetOperationKind = 'downgrade'";
  // A downgrade, a reboot and a deferred reboot, each with its appliance tasks.
  expect(await replayAll(stack.env.client, query)).toBeGreaterThanOrEqual(6);
  // `FLEET_RECORD_HISTORIES=test/fixtures/histories npx jest test/integration/scc-api.test.ts` records fixtures.
  await recordHistories(stack.env.client, query, 'reboot');
}
