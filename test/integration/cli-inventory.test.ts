/** `fleet inventory import` and `list` as processes, against a SQLite store file. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FleetStore } from '../../store/fleet-store';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
let dir: string;
let storeUrl: string;
const fleet = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'client/cli.ts'), ...args], {
    cwd: root,
    env: { ...process.env, FLEET_STORE_URL: storeUrl, FLEET_LOG_LEVEL: 'warn' },
  });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-cli-inv-'));
  storeUrl = `sqlite:${join(dir, 'fleet.db')}`;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const appliance = {
  serial: 'S12AB12345678',
  product_code: 'SH',
  arch: 'x86_64',
  connected: true,
  hostname: 'edge-1',
  current_version: { version_id: '9.12.0-100' },
  time_zone: 'Europe/Paris',
  rack: 'B7',
  connection: { address: 'https://10.0.0.1', username: 'admin', password: 'hunter2-secret' },
};

test('imports appliances and collectors; the list shows them without their credentials', async () => {
  const file = join(dir, 'fleet.json');
  writeFileSync(
    file,
    JSON.stringify({
      appliances: [appliance, { ...appliance, serial: 'E12AB12345678', product_code: 'EX', connection: undefined }],
      collectors: [
        { id: 100000001, collectorType: 'Installable', alive: true, collectorVersion: '19.115-37', name: 'c1' },
      ],
    }),
  );
  expect((await fleet('inventory', 'import', file)).stdout.trim()).toBe('imported 2 appliance(s) and 1 collector(s)');

  const listed = JSON.parse((await fleet('inventory', 'list', '--json')).stdout) as Record<string, unknown>[];
  expect(listed.map((a) => a.serial)).toEqual(['E12AB12345678', 'S12AB12345678']);
  expect(listed[1]).toMatchObject({ hostname: 'edge-1', rack: 'B7', time_zone: 'Europe/Paris' });
  expect(JSON.stringify(listed)).not.toContain('hunter2-secret');
  const table = (await fleet('inventory', 'list', '--product', 'SH')).stdout;
  expect(table).toContain('S12AB12345678');
  expect(table).not.toContain('E12AB12345678');

  const store = await FleetStore.open(storeUrl);
  try {
    expect((await store.getDeviceConnection('S12AB12345678'))?.password).toBe('hunter2-secret');
    expect((await store.getCollector(100000001))?.name).toBe('c1');
  } finally {
    await store.close();
  }
});

test('a bad file is refused with the field named, and nothing is imported', async () => {
  const file = join(dir, 'fleet.json');
  writeFileSync(
    file,
    JSON.stringify({ appliances: [appliance, { ...appliance, serial: 'E12AB12345678', product_code: 'XX' }] }),
  );
  const failure = await fleet('inventory', 'import', file).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  expect(failure?.code).toBe(1);
  expect(failure?.stderr.trim()).toBe(
    'fleet: inventory file: appliances.1.product_code: Invalid option: expected one of "SH"|"EX"|"IC"|"SMC"|"WW"|"GC"',
  );
  expect(failure?.stderr).not.toContain('hunter2-secret');
  writeFileSync(file, '{ not json');
  await expect(fleet('inventory', 'import', file)).rejects.toMatchObject({
    code: 1,
    stderr: 'fleet: inventory file is not valid JSON\n',
  });
  expect(JSON.parse((await fleet('inventory', 'list', '--json')).stdout)).toEqual([]);
});
