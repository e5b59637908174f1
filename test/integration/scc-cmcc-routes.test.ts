/**
 * The seed writes the SCC path prefix both as `/api/cmc.upgrades/1.0/` and `/api/cmcc.upgrades/1.0/`.
 * Every SCC route the app registers (read from its OpenAPI document, which is built from the
 * routes as registered, so a route added later is covered here without editing this file) is
 * called under the `cmcc` spelling over a real socket: reads answer exactly what `cmc` answers,
 * mutations refused by validation are refused the same way and change nothing, and every
 * mutating route succeeds under `cmcc` at least once, seen at once under `cmc`.
 */
import { isDeepStrictEqual } from 'node:util';
import { CMC_PREFIX, CMCC_PREFIX, startSccApi, type CallOptions, type SccApi } from '../helpers/scc-api';

const taskQueue = 'integration-scc-cmcc';
const TARGET = '9.16.0-100';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const KINDS = ['upgrade', 'downgrade', 'reboot'] as const;
const FINAL = ['successful', 'partially_successful', 'failed', 'cancelled'];

let api: SccApi;

beforeAll(async () => {
  api = await startSccApi({ appliances: 60, speed: 400, taskQueue });
});
afterAll(async () => {
  await api?.stop();
});

const call = (method: string, path: string, options?: CallOptions) => api.call(method, path, options);
const cmcc = (method: string, path: string, options: CallOptions = {}) =>
  api.call(method, path, { ...options, prefix: CMCC_PREFIX });

interface Route {
  method: string;
  /** Relative to the prefix, parameters as `{name}` (OpenAPI style). */
  path: string;
  /** The route documents a request body. */
  hasBody: boolean;
}

/** Every SCC route, from the app's OpenAPI document. */
let routes: Route[] = [];
const getRoutes = (): Route[] => routes.filter((r) => r.method === 'GET');
const mutatingRoutes = (): Route[] => routes.filter((r) => MUTATING.has(r.method));

/**
 * Path parameter values, by `<context>.<name>` or `<name>`: the context of an operation route is
 * its kind, of any other the nearest literal segment before the parameter.
 */
const values: Record<string, string> = {};
/** `METHOD /path` of each mutating route that succeeded under cmcc. */
const mutated = new Set<string>();

function fill(route: string, options: { missingId?: boolean } = {}): string {
  const segments = route.split('/');
  const kind = segments[1] === 'operations' ? segments[2] : undefined;
  return segments
    .map((segment, i) => {
      const param = /^\{(\w+)\}$/.exec(segment)?.[1];
      if (!param) return segment;
      if (options.missingId && param === 'id') return '99999999999999999';
      const context =
        kind ??
        segments
          .slice(0, i)
          .reverse()
          .find((s) => !s.startsWith('{'));
      const key = [`${context}.${param}`, param].find((k) => values[k] !== undefined);
      if (!key) throw new Error(`no value for {${param}} in ${route}: give this test one`);
      return encodeURIComponent(values[key]!);
    })
    .join('/');
}

/** A mutation under cmcc, recorded when it succeeds. */
async function mutate(method: string, template: string, params: Record<string, string>, options: CallOptions = {}) {
  const res = await cmcc(
    method,
    template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(params[name]!)),
    options,
  );
  if (res.status < 300) mutated.add(`${method} ${template}`);
  return res;
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const untilOperation = (kind: string, id: string, statuses: string[]) =>
  waitFor(
    async () => (await call('GET', `/operations/${kind}/${id}`, { who: 'reader' })).json?.status as string,
    (s) => statuses.includes(s),
  );
/** Every GET route's answer (status and body) under one spelling. */
async function snapshot(prefix: string): Promise<Record<string, { status: number; body: unknown }>> {
  const answers: Record<string, { status: number; body: unknown }> = {};
  for (const route of getRoutes()) {
    const res = await call('GET', fill(route.path), { who: 'reader', prefix });
    answers[route.path] = { status: res.status, body: res.json };
  }
  return answers;
}

/** A snapshot that no longer changes (tasks and workflows done writing). */
async function settled(): Promise<Record<string, { status: number; body: unknown }>> {
  let previous = await snapshot(CMC_PREFIX);
  const deadline = Date.now() + 30_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const next = await snapshot(CMC_PREFIX);
    if (isDeepStrictEqual(next, previous) || Date.now() > deadline) return next;
    previous = next;
  }
}

/** The routes the app's OpenAPI document lists under one spelling, sorted. */
async function documented(prefix: string): Promise<Route[]> {
  const res = await fetch(`${api.base}/openapi.json`);
  expect(res.status).toBe(200);
  const doc = (await res.json()) as { paths: Record<string, Record<string, { requestBody?: unknown }>> };
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith(`${prefix}/`))
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase(),
        path: path.slice(prefix.length),
        hasBody: op.requestBody !== undefined,
      })),
    )
    .sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

/*
 * The routes and every mutation are made once, before any test reads them, so the tests run in
 * any order; the mutation test reports what went wrong while mutating.
 */
let mutations: Promise<unknown>;
beforeAll(async () => {
  routes = await documented(CMC_PREFIX);
  mutations = mutateEverything().then(
    () => undefined,
    (err: unknown) => err,
  );
  await mutations;
});

test('every SCC route is registered under both spellings (enumerated from the app)', async () => {
  expect(await documented(CMC_PREFIX)).toEqual(routes);
  expect(await documented(CMCC_PREFIX)).toEqual(routes);
  // Not a vacuous list: the families of the seed are all there.
  expect(routes.length).toBeGreaterThanOrEqual(50);
  for (const sample of [
    'GET /logging',
    'PUT /logging',
    'POST /operations/reboot/{id}/cancel',
    'PUT /operations/downgrade/{id}/appliances/{serial}/state',
    'DELETE /image_repositories/customer/url/{id}',
    'GET /versions/downgradeable/{product_code}',
  ]) {
    expect(routes.map((r) => `${r.method} ${r.path}`)).toContain(sample);
  }
  // The document and the router agree, for both spellings.
  for (const route of routes) {
    for (const prefix of [CMC_PREFIX, CMCC_PREFIX]) {
      expect([
        route.method,
        prefix + route.path,
        api.app.hasRoute({ method: route.method, url: prefix + route.path.replace(/\{(\w+)\}/g, ':$1') }),
      ]).toEqual([route.method, prefix + route.path, true]);
    }
  }
});

test('mutations under cmcc: logging, images, operations of every kind and their tasks; each seen under cmc', async () => {
  expect(await mutations).toBeUndefined();
});

/** Logging, images, operations of every kind and their tasks, mutated under cmcc and each seen under cmc. */
async function mutateEverything(): Promise<void> {
  const later = Math.floor(Date.now() / 1000) + 3600;

  // Logging, with extension properties.
  const settings = { level: 'crit', destination: 'syslog', fields: ['serial', 'operation_id'] };
  const put = await mutate('PUT', '/logging', {}, { body: settings });
  expect([put.status, put.json]).toEqual([200, settings]);
  expect((await call('GET', '/logging', { who: 'reader' })).json).toEqual(settings);

  // Appliances: four upgradeable SMC ones to upgrade and then downgrade (two of them on one
  // version, for a two-appliance downgrade), four EX ones to upgrade, four WW ones to reboot.
  const upgradeable = async (
    product: string,
  ): Promise<{ serial: string; current_version: { version_id: string } }[]> => {
    const res = await cmcc('GET', `/upgradeable_appliances/${product}/${TARGET}`, { who: 'reader' });
    expect(res.status).toBe(200);
    return res.json.upgradeable;
  };
  const smc = await upgradeable('SMC');
  // Four on one version: a pair for the operation a task at a time, a pair for the approved one.
  const pairVersion = smc.find(
    (a) => smc.filter((b) => b.current_version.version_id === a.current_version.version_id).length >= 4,
  )?.current_version.version_id;
  expect(pairVersion).toBeDefined();
  const [pair, approvedPair] = [0, 2].map((at) =>
    smc.filter((a) => a.current_version.version_id === pairVersion).slice(at, at + 2),
  ) as [typeof smc, typeof smc];
  const others = smc.filter((a) => !pair.includes(a) && !approvedPair.includes(a)).slice(0, 2);
  expect(others).toHaveLength(2);
  const previousOf = new Map(
    [...pair, ...approvedPair, ...others].map((a) => [a.serial, a.current_version.version_id]),
  );
  const ex = (await upgradeable('EX')).map((a) => a.serial);
  expect(ex.length).toBeGreaterThanOrEqual(6);
  const rebootable = (await cmcc('GET', '/rebootable_appliances/WW', { who: 'reader' })).json.rebootable.map(
    (a: { serial: string }) => a.serial,
  ) as string[];
  expect(rebootable.length).toBeGreaterThanOrEqual(6);

  // Images: customer URLs of the versions the SMC appliances go back to (downgrades install only
  // customer images), an upload; one of each deleted again.
  for (const version_id of new Set(previousOf.values())) {
    for (const arch of ['x86_64', 'i386']) {
      const image_definition = { product_code: 'SMC', arch, target_version: { version_id }, delta: false };
      const registered = await mutate(
        'POST',
        '/image_repositories/customer/urls',
        {},
        { body: { url: `https://images.example.com/smc-${version_id}-${arch}.img`, image_definition } },
      );
      expect(registered.status).toBe(201);
      values['url.id'] ??= registered.json.id;
    }
  }
  expect((await call('GET', `/image_repositories/customer/url/${values['url.id']}`, { who: 'reader' })).status).toBe(
    200,
  );
  // A release the customer URLs above do not hold: the customer repository holds each definition once.
  const definition = {
    product_code: 'SMC',
    arch: 'x86_64',
    target_version: { version_id: '9.14.1-100' },
    delta: false,
  };
  const uploaded = await mutate(
    'POST',
    '/image_repositories/customer/local_images',
    {},
    { body: { url: 'file:///var/tmp/smc.img', image_definition: definition } },
  );
  expect(uploaded.status).toBe(201);
  values['local_image.id'] = uploaded.json.id;
  expect(
    (await call('GET', `/image_repositories/customer/local_image/${uploaded.json.id}`, { who: 'reader' })).json,
  ).toEqual(uploaded.json);
  const doomedUpload = await mutate(
    'POST',
    '/image_repositories/customer/local_images',
    {},
    { body: { url: 'file:///var/tmp/smc-2.img', image_definition: { ...definition, arch: 'i386' } } },
  );
  expect(
    (await mutate('DELETE', '/image_repositories/customer/local_image/{id}', { id: doomedUpload.json.id })).status,
  ).toBe(204);
  expect(
    (await call('GET', `/image_repositories/customer/local_image/${doomedUpload.json.id}`, { who: 'reader' })).status,
  ).toBe(404);
  const doomedUrl = await mutate(
    'POST',
    '/image_repositories/customer/urls',
    {},
    { body: { url: 'https://images.example.com/gone.img', image_definition: { ...definition, arch: 'i386' } } },
  );
  expect((await mutate('DELETE', '/image_repositories/customer/url/{id}', { id: doomedUrl.json.id })).status).toBe(204);
  expect((await call('GET', `/image_repositories/customer/url/${doomedUrl.json.id}`, { who: 'reader' })).status).toBe(
    404,
  );

  // An upgrade that runs now, so the SMC appliances can be downgraded back.
  const up = await mutate(
    'POST',
    '/operations/upgrade',
    {},
    {
      body: {
        product_code: 'SMC',
        target_version: { version_id: TARGET },
        reboot: true,
        comment: 'cmcc now',
        appliances: [...previousOf.keys()],
      },
    },
  );
  expect([up.status, up.json.error_text]).toEqual([201, undefined]);
  expect(up.headers.get('location')).toBe(`${CMCC_PREFIX}/operations/upgrade/${up.json.id}`);
  expect(await untilOperation('upgrade', up.json.id, FINAL)).toBe('successful');

  // Per kind, three operations: one kept (an hour ahead) whose task's state is set and log
  // appended; one that runs now a task at a time, whose second task is cancelled before it starts;
  // one cancelled whole.
  const requests: Record<(typeof KINDS)[number], (appliances: string[], at?: number) => Record<string, unknown>> = {
    upgrade: (appliances, at) => ({
      product_code: 'EX',
      target_version: { version_id: TARGET },
      reboot: true,
      ...(at ? { upgrade_time: { datetime: at, time_type: 'utc' } } : {}),
      comment: 'cmcc upgrade',
      appliances,
    }),
    downgrade: (appliances, at) => ({
      product_code: 'SMC',
      target_version: { version_id: previousOf.get(appliances[0]!) },
      reboot: true,
      ...(at ? { downgrade_time: { datetime: at, time_type: 'utc' } } : {}),
      comment: 'cmcc downgrade',
      appliances,
    }),
    reboot: (appliances, at) => ({
      ...(at ? { reboot_time: { datetime: at, time_type: 'utc' } } : {}),
      comment: 'cmcc reboot',
      appliances,
    }),
  };
  const appliancesOf: Record<(typeof KINDS)[number], string[]> = {
    upgrade: ex.slice(0, 6),
    // The pairs (one version) in the middle: each pair shares one downgrade operation.
    downgrade: [
      others[0]!.serial,
      pair[0]!.serial,
      pair[1]!.serial,
      others[1]!.serial,
      approvedPair[0]!.serial,
      approvedPair[1]!.serial,
    ],
    reboot: rebootable.slice(0, 6),
  };
  const gate = { waves: [1], approval: { after_waves: [1], timeout_seconds: 3600 } };
  const untilAwaiting = (kind: string, id: string) =>
    waitFor(
      async () =>
        (await call('GET', `/operations/${kind}/${id}`, { who: 'reader' })).json?.approval?.state as string | undefined,
      (s) => s === 'awaiting',
    );
  for (const kind of KINDS) {
    const [keptSerial, first, second, doomedSerial, ...approved] = appliancesOf[kind] as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const kept = await mutate('POST', `/operations/${kind}`, {}, { body: requests[kind]([keptSerial], later) });
    expect([kind, kept.status, kept.json.error_text]).toEqual([kind, 201, undefined]);
    expect(kept.headers.get('location')).toBe(`${CMCC_PREFIX}/operations/${kind}/${kept.json.id}`);
    expect(kept.json).toMatchObject({ username: 'operator', appliances: [keptSerial], status: 'scheduled' });
    const id: string = kept.json.id;
    expect((await call('GET', `/operations/${kind}/${id}`, { who: 'reader' })).json).toMatchObject({
      id,
      appliances: [keptSerial],
    });
    values[`${kind}.id`] = id;
    values[`${kind}.serial`] = keptSerial;

    const task = `/operations/${kind}/{id}/appliances/{serial}`;
    const state = await mutate(
      'PUT',
      `${task}/state`,
      { id, serial: keptSerial },
      { who: 'internal', body: { status: 'running', stage: 'initiating' } },
    );
    expect([kind, state.status, state.json]).toEqual([
      kind,
      200,
      { operation_id: id, serial: keptSerial, status: 'running', stage: 'initiating' },
    ]);
    expect(
      (await call('GET', `/operations/${kind}/${id}/appliances/${keptSerial}/state`, { who: 'reader' })).json,
    ).toEqual(state.json);
    const entry = { timestamp: 1700000000, severity: 'notice', log_entry: `${kind} note from outside, under cmcc` };
    expect(
      (await mutate('POST', `${task}/log`, { id, serial: keptSerial }, { who: 'internal', body: entry })).status,
    ).toBe(204);
    expect(
      (await call('GET', `/operations/${kind}/${id}/appliances/${keptSerial}/log`, { who: 'reader' })).json.log.at(-1),
    ).toEqual(entry);
    for (const action of ['pause', 'resume'])
      expect([kind, action, (await mutate('POST', `/operations/${kind}/{id}/${action}`, { id })).status]).toEqual([
        kind,
        action,
        204,
      ]);

    // A task at a time (one per wave, an approval after the first): the second task cancelled
    // while the approval waits, the rollout rejected, then retried: the retry takes the second.
    const oneAtATime = await mutate(
      'POST',
      `/operations/${kind}`,
      {},
      { body: { ...requests[kind]([first, second]), rollout: gate } },
    );
    expect([kind, oneAtATime.status, oneAtATime.json.error_text]).toEqual([kind, 201, undefined]);
    expect(await untilAwaiting(kind, oneAtATime.json.id)).toBe('awaiting');
    expect((await mutate('POST', `${task}/cancel`, { id: oneAtATime.json.id, serial: second })).status).toBe(204);
    expect(
      (await mutate('POST', `/operations/${kind}/{id}/reject`, { id: oneAtATime.json.id })).json.approval,
    ).toMatchObject({ state: 'rejected', after_wave: 1 });
    expect(await untilOperation(kind, oneAtATime.json.id, FINAL)).toEqual(expect.any(String));
    const taskStatus = async (serial: string) =>
      (await call('GET', `/operations/${kind}/${oneAtATime.json.id}/appliances/${serial}/state`, { who: 'reader' }))
        .json.status;
    expect([kind, await taskStatus(first), await taskStatus(second)]).toEqual([kind, 'successful', 'cancelled']);
    const retried = await mutate('POST', `/operations/${kind}/{id}/retry`, { id: oneAtATime.json.id });
    expect([kind, retried.status, retried.json.appliances, retried.json.retry_of]).toEqual([
      kind,
      201,
      [second],
      oneAtATime.json.id,
    ]);
    expect(await untilOperation(kind, retried.json.id, FINAL)).toBe('successful');

    const gated = await mutate(
      'POST',
      `/operations/${kind}`,
      {},
      { body: { ...requests[kind](approved), rollout: gate } },
    );
    expect([kind, gated.status, gated.json.error_text]).toEqual([kind, 201, undefined]);
    expect(await untilAwaiting(kind, gated.json.id)).toBe('awaiting');
    expect(
      (await mutate('POST', `/operations/${kind}/{id}/approve`, { id: gated.json.id })).json.approval,
    ).toMatchObject({ state: 'approved', after_wave: 1 });
    expect(await untilOperation(kind, gated.json.id, FINAL)).toBe('successful');

    const doomed = await mutate('POST', `/operations/${kind}`, {}, { body: requests[kind]([doomedSerial], later) });
    expect([kind, doomed.status, doomed.json.error_text]).toEqual([kind, 201, undefined]);
    expect((await mutate('POST', `/operations/${kind}/{id}/cancel`, { id: doomed.json.id })).status).toBe(204);
    expect(await untilOperation(kind, doomed.json.id, ['cancelled'])).toBe('cancelled');
    expect((await call('GET', `/operations/${kind}/${id}`, { who: 'reader' })).json.status).toBe('scheduled');
  }

  // Values for the read routes' other parameters.
  values.product_code = 'SMC';
  values['appliances.serial'] = pair[0]!.serial;
  values['upgradeable_appliances.version_id'] = TARGET;
  values['downgradeable_appliances.version_id'] = pairVersion!;
  values['images.id'] = (await call('GET', '/images?product_code=SMC', { who: 'reader' })).json[0].id;
  values['image.id'] = (await call('GET', '/image_repositories/riverbed/images', { who: 'reader' })).json[0].id;
}

test('every mutating route succeeded under cmcc above', () => {
  expect(mutatingRoutes().length).toBeGreaterThan(0);
  expect(
    mutatingRoutes()
      .map((r) => `${r.method} ${r.path}`)
      .filter((r) => !mutated.has(r)),
  ).toEqual([]);
});

test('every GET route answers under cmcc with the same status and body as under cmc', async () => {
  const base = await settled();
  expect(getRoutes().length).toBeGreaterThanOrEqual(30);
  for (const route of getRoutes()) {
    const path = fill(route.path);
    const one = await call('GET', path, { who: 'reader', prefix: CMC_PREFIX });
    const other = await call('GET', path, { who: 'reader', prefix: CMCC_PREFIX });
    // Real values for every parameter: each is a 200 (not a 404 of an unrouted path).
    expect([route.path, one.status]).toEqual([route.path, 200]);
    expect([route.path, other.status, other.json]).toEqual([route.path, one.status, one.json]);
    expect([route.path, one.json]).toEqual([route.path, base[route.path]!.body]);
  }
  // The data is real: operations, tasks with their set state and log, images, the logging settings.
  const sample = (path: string) => base[path]!.body as any;
  expect(sample('/operations/upgrade/{id}/appliances/{serial}/state')).toMatchObject({
    status: 'running',
    stage: 'initiating',
  });
  expect(sample('/operations/reboot/{id}/appliances/{serial}/log').log.at(-1).log_entry).toBe(
    'reboot note from outside, under cmcc',
  );
  expect(sample('/operations/downgrade')).toEqual(
    expect.arrayContaining([expect.objectContaining({ id: values['downgrade.id'], status: 'scheduled' })]),
  );
  expect(sample('/logging')).toEqual({ level: 'crit', destination: 'syslog', fields: ['serial', 'operation_id'] });
  expect(sample('/image_repositories/customer/local_images').map((i: { id: string }) => i.id)).toEqual([
    values['local_image.id'],
  ]);
});

test('every mutating route refuses bad input under cmcc exactly as under cmc, and nothing changes', async () => {
  const before = await settled();
  const refusals: { route: string; status: number; body: unknown }[] = [];
  for (const route of mutatingRoutes()) {
    // A body route gets a body no schema takes (an array) on real resources; the others a
    // resource that does not exist.
    if (!route.hasBody && !route.path.includes('{id}'))
      throw new Error(`${route.method} ${route.path}: no way to refuse it here; give this test one`);
    const path = fill(route.path, { missingId: !route.hasBody });
    const options: CallOptions = { who: 'admin', ...(route.hasBody ? { body: [] } : {}) };
    const one = await call(route.method, path, { ...options, prefix: CMC_PREFIX });
    const other = await call(route.method, path, { ...options, prefix: CMCC_PREFIX });
    const name = `${route.method} ${route.path}`;
    expect([name, one.status]).toEqual([name, route.hasBody ? 400 : 404]);
    expect([name, other.status, other.json]).toEqual([name, one.status, one.json]);
    // Routed: the handler refused it (the not-found handler names the unknown path instead).
    expect([name, one.json.error_id, one.json.error_text]).toEqual([
      name,
      route.hasBody ? 'INVALID_REQUEST' : 'NOT_FOUND',
      expect.not.stringMatching(/no such resource/),
    ]);
    if (route.hasBody) expect([name, one.json.field]).toEqual([name, 'body']);
    refusals.push({ route: name, status: other.status, body: other.json });
  }
  expect(refusals.length).toBe(mutatingRoutes().length);
  // Every read answers as before.
  expect(await snapshot(CMCC_PREFIX)).toEqual(before);
  expect(await snapshot(CMC_PREFIX)).toEqual(before);
});

test('an unknown path under cmcc is a 404 naming it, in the error shape', async () => {
  const res = await cmcc('GET', '/no_such_resource', { who: 'reader' });
  expect(res.status).toBe(404);
  expect(res.json).toEqual({
    error_id: 'NOT_FOUND',
    error_text: `no such resource: GET ${CMCC_PREFIX}/no_such_resource`,
  });
});
