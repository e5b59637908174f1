/**
 * The production topology end to end through the API: the full Temporal server on PostgreSQL
 * (8 history shards), the store on the same PostgreSQL (its own database), two worker processes,
 * the simulator as a process. An upgrade with a deferred reboot, a cancel, a downgrade and a
 * Sumo collector upgrade, each created over HTTP and run to its end.
 */
import pg from 'pg';
import { syncCollectors } from '../../client/collector-upgrades';
import { COLLECTOR_BUILDS } from '../../simulator/fleet';
import { CLUSTER_HISTORY_SHARDS, startClusterStack, type ClusterStack } from '../helpers/cluster';
import { startSccApi, type SccApi } from '../helpers/scc-api';

const taskQueue = 'cluster-api';
const TARGET = '9.16.0-100';

let api: SccApi;
let stack: ClusterStack;

beforeAll(async () => {
  api = await startSccApi({ appliances: 60, collectors: 4, speed: 400, taskQueue, stack: startClusterStack });
  stack = api.stack as ClusterStack;
  await syncCollectors(stack.devices, stack.store);
}, 240_000);
afterAll(() => api?.stop(), 120_000);

const call: SccApi['call'] = (method, path, options) => api.call(method, path, options);
const serials = async (product: string, n: number) => (await stack.devices.listSerials(product)).slice(0, n);

async function done(
  kind: string,
  id: string,
  statuses = ['successful', 'partially_successful', 'failed', 'cancelled'],
): Promise<any> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await call('GET', `/operations/${kind}/${id}`, { who: 'reader' });
    if (statuses.includes(res.json?.status) || Date.now() > deadline) return res.json;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('the stack is the cluster profile: a multi-shard Temporal server, the store in its own PostgreSQL database', async () => {
  const info = await stack.env.client.workflowService.getClusterInfo({});
  expect(info.historyShardCount).toBe(CLUSTER_HISTORY_SHARDS);
  expect(info.persistenceStore).toBe('postgres12');
  expect(info.visibilityStore).toBe('postgres12');
  expect(stack.storeUrl).toMatch(/^postgres:\/\/.*\/fleet$/);
  expect(stack.workers).toHaveLength(2);
  const client = new pg.Client({ connectionString: stack.pg.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname IN ('fleet', 'temporal', 'temporal_visibility') ORDER BY datname",
    );
    expect(rows.map((r) => r.datname)).toEqual(['fleet', 'temporal', 'temporal_visibility']);
  } finally {
    await client.end();
  }
});

test('an upgrade with a deferred reboot: installed, then its linked reboot operation activates the version', async () => {
  const appliances = await serials('GC', 2);
  const before = await Promise.all(appliances.map((s) => stack.devices.counters(s)));
  const rebootAt = Math.floor(Date.now() / 1000) + 3;
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
  // On a refusal, the API's error lines say why (its answer does not).
  expect([up.status, up.status === 201 ? [] : api.logLines.filter((l) => /"level":(50|60)/.test(l))]).toEqual([
    201,
    [],
  ]);
  const rebootId = String(up.json.reboot_id);
  expect((await call('GET', `/operations/reboot/${rebootId}`, { who: 'reader' })).json).toMatchObject({
    upgrade_id: up.json.id,
    appliances,
  });

  expect((await done('upgrade', up.json.id)).status).toBe('successful');
  expect((await done('reboot', rebootId)).status).toBe('successful');
  for (const [i, serial] of appliances.entries()) {
    const counters = await stack.devices.counters(serial);
    expect([serial, counters.installs, counters.reboots]).toEqual([
      serial,
      before[i]!.installs + 1,
      before[i]!.reboots + 1,
    ]);
    expect((await stack.devices.info(serial)).running_version.version_id).toBe(TARGET);
    expect((await stack.store.versionHistory(serial)).at(-1)).toMatchObject({
      to_version_id: TARGET,
      operation_id: rebootId,
    });
  }
  const task = await call('GET', `/operations/reboot/${rebootId}/appliances/${appliances[0]}`, { who: 'reader' });
  expect(task.json).toMatchObject({ status: 'successful', stage: 'completed', deferred: true });
  expect(task.json.task_start_time.datetime).toBeGreaterThanOrEqual(rebootAt);
  // The appliance task's log, as the store on PostgreSQL keeps it.
  const log = await call('GET', `/operations/upgrade/${up.json.id}/appliances/${appliances[0]}/log`, { who: 'reader' });
  expect(log.json.log.length).toBeGreaterThan(0);
});

test('cancel an operation scheduled for later: 204, then cancelled with every task cancelled, no device touched', async () => {
  const appliances = await serials('EX', 2);
  const before = await Promise.all(appliances.map((s) => stack.devices.counters(s)));
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
  expect([created.status, created.json.status]).toEqual([201, 'scheduled']);
  expect((await call('POST', `/operations/upgrade/${created.json.id}/cancel`)).status).toBe(204);
  expect((await done('upgrade', created.json.id)).status).toBe('cancelled');
  for (const [i, serial] of appliances.entries()) {
    expect(
      (await call('GET', `/operations/upgrade/${created.json.id}/appliances/${serial}/state`, { who: 'reader' })).json
        .status,
    ).toBe('cancelled');
    expect(await stack.devices.counters(serial)).toEqual(before[i]);
  }
});

test('a downgrade takes appliances back to the version they ran before', async () => {
  const upgradeable: { serial: string; current_version: { version_id: string } }[] = (
    await call('GET', `/upgradeable_appliances/SMC/${TARGET}`, { who: 'reader' })
  ).json.upgradeable;
  const [appliance] = upgradeable;
  expect(appliance).toBeDefined();
  const before = await stack.devices.info(appliance!.serial);
  // Downgrades install images of the customer repository only (the seed).
  const image_definition = {
    product_code: 'SMC',
    arch: before.arch,
    target_version: before.running_version,
    delta: false,
  };
  expect(
    (
      await call('POST', '/image_repositories/customer/urls', {
        body: { url: `https://images.example.com/smc-${before.arch}.img`, image_definition },
      })
    ).status,
  ).toBe(201);
  const up = await call('POST', '/operations/upgrade', {
    body: {
      product_code: 'SMC',
      target_version: { version_id: TARGET },
      reboot: true,
      comment: 'up',
      appliances: [appliance!.serial],
    },
  });
  expect((await done('upgrade', up.json.id)).status).toBe('successful');
  expect((await stack.devices.info(appliance!.serial)).running_version.version_id).toBe(TARGET);

  const down = await call('POST', '/operations/downgrade', {
    body: {
      product_code: 'SMC',
      target_version: before.running_version,
      reboot: true,
      comment: 'back',
      appliances: [appliance!.serial],
    },
  });
  expect([down.status, down.json.error_text]).toEqual([201, undefined]);
  expect((await done('downgrade', down.json.id)).status).toBe('successful');
  expect((await stack.devices.info(appliance!.serial)).running_version.version_id).toBe(
    before.running_version.version_id,
  );
  expect(
    (await call('GET', `/appliances/SMC/${appliance!.serial}`, { who: 'reader' })).json.current_version.version_id,
  ).toBe(before.running_version.version_id);
});

test('a Sumo collector upgrade runs to status 2: the collector on the latest build, upgraded once', async () => {
  const latest = COLLECTOR_BUILDS[COLLECTOR_BUILDS.length - 1]!;
  const sumo = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`operator:operator-key-0123456789`).toString('base64')}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const listed = await sumo('GET', '/collectors/upgrades/collectors');
  expect(listed.status).toBe(200);
  const [collector] = listed.json.collectors as { id: number }[];
  expect(collector).toBeDefined();
  const before = await stack.devices.collectorCounters(collector!.id);
  const created = await sumo('POST', '/collectors/upgrades', { collectorId: collector!.id });
  expect(created.status).toBe(202);
  const deadline = Date.now() + 120_000;
  let task: any;
  for (;;) {
    task = (await sumo('GET', `/collectors/upgrades/${created.json.id}`)).json.upgrade;
    if (task.status === 2 || task.status === 3 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(task).toMatchObject({ collectorId: collector!.id, toVersion: latest, status: 2 });
  expect((await stack.devices.collector(collector!.id)).collectorVersion).toBe(latest);
  expect((await stack.devices.collectorCounters(collector!.id)).upgrades).toBe(before.upgrades + 1);
  expect((await stack.store.getCollector(collector!.id))?.collectorVersion).toBe(latest);
});
