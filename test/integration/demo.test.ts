/**
 * `npm start` as a newcomer runs it (scripts/start.ts on its embedded defaults, with ports and the
 * data folder moved aside): the demo fleet gives every endpoint something real, and one
 * appliance's upgrade (two images) and downgrade run to completion through the API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/servers';
import { FleetStore } from '../../store/fleet-store';
import { PRODUCT_CODES } from '../../domain/scc';

const root = join(__dirname, '..', '..');
const ADMIN = { id: 'demo-admin', key: 'demo-admin-key-0123456789' };
let dir: string;
let start: ChildProcess;
let api: string;
let output = '';

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${ADMIN.id}:${ADMIN.key}`).toString('base64')}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; npm start said:\n${output.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-demo-'));
  const [temporal, ui, apiPort, simPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  api = `http://127.0.0.1:${apiPort}`;
  start = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/start.ts')], {
    cwd: root,
    env: {
      ...process.env,
      FLEET_DATA_DIR: dir,
      FLEET_STORE_URL: `sqlite:${join(dir, 'fleet.db')}`,
      FLEET_TEMPORAL_PORT: String(temporal),
      FLEET_TEMPORAL_ADDRESS: `127.0.0.1:${temporal}`,
      FLEET_TEMPORAL_UI_PORT: String(ui),
      FLEET_API_PORT: String(apiPort),
      FLEET_DEVICE_API_URL: `http://127.0.0.1:${simPort}`,
      FLEET_IMAGE_BASE_URL: `http://127.0.0.1:${simPort}/images`,
      FLEET_ADMIN_ACCESS_ID: ADMIN.id,
      FLEET_ADMIN_ACCESS_KEY: ADMIN.key,
      FLEET_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [start.stdout!, start.stderr!])
    stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await until('the API', async () => ((await fetch(`${api}/health`)).ok ? true : undefined));
  // The demo is loaded once the customer repository and the collectors are in.
  await until('the demo data', async () => {
    const [local, collectors] = await Promise.all([
      call('GET', '/api/cmc.upgrades/1.0/image_repositories/customer/local_images'),
      call('GET', '/api/v1/collectors/upgrades/collectors'),
    ]);
    return local.json?.length > 0 && collectors.json?.collectors?.length > 0 ? true : undefined;
  });
}, 240_000);

afterAll(async () => {
  if (start && start.exitCode === null) {
    const exited = new Promise((r) => start.once('exit', r));
    start.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const scc = (path: string) => `/api/cmc.upgrades/1.0${path}`;

test('images in all three repositories, with delta images and a release that takes two images', async () => {
  const riverbed = (await call('GET', scc('/image_repositories/riverbed/images'))).json;
  expect(riverbed.some((i: any) => i.image_definition.delta === true && i.image_definition.source_version)).toBe(true);
  expect(
    riverbed.some(
      (i: any) => i.image_definition.target_version.version_id === '9.18.0-100' && i.source_versions.length === 1,
    ),
  ).toBe(true);
  expect((await call('GET', scc('/image_repositories/customer/urls'))).json.length).toBeGreaterThan(0);
  expect((await call('GET', scc('/image_repositories/customer/local_images'))).json).toHaveLength(1);
  const versions = (await call('GET', scc('/versions/upgradeable/SH'))).json.map((v: any) => v.version.version_id);
  expect(versions).toEqual(expect.arrayContaining(['9.14.1-100', '9.16.0-100', '9.18.0-100']));
});

test('appliances of every product code and both arches, and some in each exception category', async () => {
  const seen = new Set<string>();
  const arches = new Set<string>();
  const categories = new Set<string>();
  for (const productCode of PRODUCT_CODES) {
    const appliances = (await call('GET', scc(`/appliances/${productCode}`))).json;
    if (appliances.length) seen.add(productCode);
    for (const a of appliances) arches.add(a.arch);
    const eligibility = (await call('GET', scc(`/upgradeable_appliances/${productCode}/9.18.0-100`))).json;
    for (const [category, list] of Object.entries(eligibility.exceptions))
      if ((list as unknown[]).length) categories.add(category);
  }
  expect([...seen].sort()).toEqual([...PRODUCT_CODES].sort());
  expect([...arches].sort()).toEqual(['i386', 'x86_64']);
  expect([...categories].sort()).toEqual(
    expect.arrayContaining(['disconnected', 'model_eol', 'not_supported', 'read_only', 'unentitled']),
  );
});

test('collectors of both types, alive and not, on older builds', async () => {
  const store = await FleetStore.open(`sqlite:${join(dir, 'fleet.db')}`);
  try {
    const collectors = await store.listCollectors({ limit: 1000 });
    expect(new Set(collectors.map((c) => c.collectorType))).toEqual(new Set(['Installable', 'Hosted']));
    expect(new Set(collectors.map((c) => c.alive))).toEqual(new Set([true, false]));
  } finally {
    await store.close();
  }
  const listed = (await call('GET', '/api/v1/collectors/upgrades/collectors')).json;
  expect(listed.collectors.length).toBeGreaterThan(0);
});

test('one appliance upgrades through two images, then downgrades back, start to finish', async () => {
  const [appliance] = (await call('GET', scc('/upgradeable_appliances/SH/9.18.0-100'))).json.upgradeable.filter(
    (a: any) => a.current_version.version_id !== '9.14.0-100',
  );
  expect(appliance).toBeDefined();
  const from = appliance.current_version.version_id;
  const done = async (kind: string, id: string) =>
    until(`${kind} ${id}`, async () => {
      const op = (await call('GET', scc(`/operations/${kind}/${id}`))).json;
      return ['successful', 'partially_successful', 'failed', 'cancelled'].includes(op.status) ? op : undefined;
    });

  const began = Date.now();
  const up = await call('POST', scc('/operations/upgrade'), {
    product_code: 'SH',
    target_version: { version_id: '9.18.0-100' },
    reboot: true,
    comment: 'demo',
    appliances: [appliance.serial],
  });
  expect(up.status).toBe(201);
  expect((await done('upgrade', up.json.id)).status).toBe('successful');
  // For the reader of the test log: how long a newcomer waits (not asserted: shared machines vary).
  console.log(`demo upgrade of one appliance through two images took ${((Date.now() - began) / 1000).toFixed(1)} s`);
  const log = (
    await call('GET', scc(`/operations/upgrade/${up.json.id}/appliances/${appliance.serial}/log`))
  ).json.log.map((l: any) => l.log_entry);
  expect(log).toContain(`the target takes 2 images: ${from} → 9.16.0-100 → 9.18.0-100`);

  const down = await call('POST', scc('/operations/downgrade'), {
    product_code: 'SH',
    target_version: { version_id: from },
    reboot: true,
    comment: 'back',
    appliances: [appliance.serial],
  });
  expect(down.status).toBe(201);
  expect((await done('downgrade', down.json.id)).status).toBe('successful');
  expect((await call('GET', scc(`/appliances/SH/${appliance.serial}`))).json.current_version.version_id).toBe(from);
}, 300_000);
