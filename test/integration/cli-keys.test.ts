/**
 * `fleet keys` and `fleet audit` as processes against a SQLite store file, with the API (createApi)
 * over the same file: a key the CLI creates authenticates, stops working once rotated or revoked
 * (on the next request), the list never shows a key or its hash, and the CLI's own changes (and
 * refusals) are in the audit trail beside the API's. No key is anywhere in the store's files.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { createApi } from '../../api/server';
import type { AccessKey, AuditEntry } from '../../domain/access';
import { createLogger } from '../../domain/logging';
import { FleetStore } from '../../store/fleet-store';
import { listenOnLoopback } from '../helpers/servers';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const CLI_ACTOR = `cli:${userInfo().username}`;

let dir: string;
let storeUrl: string;
let store: FleetStore;
let app: FastifyInstance;
let base: string;
const logLines: string[] = [];
/** Every key the CLI printed: none may appear in the trail, a log line or the store's files. */
const keys: string[] = [];

function env(): NodeJS.ProcessEnv {
  const vars: NodeJS.ProcessEnv = {
    ...process.env,
    FLEET_STORE_URL: storeUrl,
    FLEET_LOG_LEVEL: 'warn',
    FLEET_API_HOST: '127.0.0.1',
    FLEET_API_PORT: '18080',
  };
  delete vars.FLEET_API_TLS_CERT;
  delete vars.FLEET_API_TLS_KEY;
  return vars;
}
const fleet = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'client/cli.ts'), ...args], { cwd: root, env: env() });
const failure = (...args: string[]) =>
  fleet(...args).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );

/** The key a `keys create` or `keys rotate` printed, shown once. */
function printedKey(stdout: string): string {
  const key = /^key \(shown only now, keep it safe\): (\S+)$/m.exec(stdout)?.[1];
  if (!key) throw new Error(`no key in:\n${stdout}`);
  keys.push(key);
  return key;
}

const as = (id: string, key: string, path = '/api/fleet/1.0/access_keys') =>
  fetch(`${base}${path}`, { headers: { authorization: `Basic ${Buffer.from(`${id}:${key}`).toString('base64')}` } });
const listed = async () => JSON.parse((await fleet('keys', 'list', '--json')).stdout) as AccessKey[];
const audit = async (...args: string[]) => JSON.parse((await fleet('audit', '--json', ...args)).stdout) as AuditEntry[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-cli-keys-'));
  storeUrl = `sqlite:${join(dir, 'fleet.db')}`;
  store = await FleetStore.open(storeUrl);
  // Access keys and the audit trail need no Temporal: a stand-in client is enough.
  app = createApi({
    client: {} as Client,
    logger: createLogger('test-cli-keys', 'info', { write: (line: string) => void logLines.push(line) }),
    store,
    checkResponses: true,
  });
  base = await listenOnLoopback(app);
});
afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/*
 * One key's life, told once before the tests so that they run in any order (the audit tests read
 * the trail it left): created, used with its role, rotated, revoked, then refused changes.
 */
async function keyLife(): Promise<void> {
  let adminKey: string;
  // Created: the key printed once, with a curl line that uses it; the list shows id, role, status, created, last used, expiry, never the key.
  const created = await fleet('keys', 'create', '--id', 'ci-admin', '--role', 'admin', '--expires', '2099-01-31');
  adminKey = printedKey(created.stdout);
  expect(created.stdout).toContain('access key created: ci-admin  role admin  expires 2099-01-31T00:00:00Z');
  expect(created.stdout).toContain(
    `use it:  curl -u ci-admin:${adminKey} http://127.0.0.1:18080/api/cmc.upgrades/1.0/operations/upgrade`,
  );
  expect(adminKey.length).toBeGreaterThanOrEqual(24);

  const reader = JSON.parse(
    (await fleet('keys', 'create', '--id', 'ci-reader', '--role', 'read_only', '--json')).stdout,
  ) as { access_key: string };
  keys.push(reader.access_key);
  expect(reader).toMatchObject({
    access_id: 'ci-reader',
    role: 'read_only',
    status: 'active',
    access_key: expect.any(String),
  });

  const table = (await fleet('keys', 'list')).stdout;
  expect(table.split('\n')[0]).toMatch(/^ACCESS ID\s+ROLE\s+STATUS\s+CREATED\s+LAST USED\s+EXPIRES$/);
  expect(table).toMatch(/ci-admin\s+admin\s+active\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+-\s+2099-01-31T00:00:00Z/);
  expect(table).toMatch(/ci-reader\s+read_only\s+active/);
  expect(await listed()).toEqual([
    {
      access_id: 'ci-admin',
      role: 'admin',
      status: 'active',
      create_time: expect.any(Number),
      expires_time: Date.parse('2099-01-31T00:00:00Z') / 1000,
    },
    { access_id: 'ci-reader', role: 'read_only', status: 'active', create_time: expect.any(Number) },
  ]);
  for (const text of [table, (await fleet('keys', 'list', '--json')).stdout]) {
    for (const key of keys) expect(text).not.toContain(key);
    expect(text).not.toMatch(/scrypt|key_hash|access_key/);
  }

  // Used: it authenticates against the API over that store, with its role; its use shows in the list.
  const res = await as('ci-admin', adminKey);
  expect(res.status).toBe(200);
  expect(((await res.json()) as AccessKey[]).map((k) => k.access_id)).toEqual(['ci-admin', 'ci-reader']);
  expect((await listed()).find((k) => k.access_id === 'ci-admin')?.last_used_time).toEqual(expect.any(Number));
  // ci-reader is read_only: it reads the SCC API, and may not manage keys.
  const readerKey = keys[1]!;
  expect((await as('ci-reader', readerKey, '/api/cmc.upgrades/1.0/image_repositories')).status).toBe(200);
  expect((await as('ci-reader', readerKey)).status).toBe(403);

  // Rotated: a new key, shown once; the old one is refused on the next request.
  const rotated = await fleet('keys', 'rotate', 'ci-admin');
  const newKey = printedKey(rotated.stdout);
  expect(rotated.stdout).toContain(
    'access key rotated (the old key no longer works): ci-admin  role admin  expires 2099-01-31T00:00:00Z',
  );
  expect(newKey).not.toBe(adminKey);
  expect((await as('ci-admin', adminKey)).status).toBe(401);
  expect((await as('ci-admin', newKey)).status).toBe(200);
  adminKey = newKey;

  // Revoked: refused on the next request, listed as revoked; a second revoke, a create of the same id, an unknown id are refused (exit 1).
  expect((await fleet('keys', 'revoke', 'ci-admin')).stdout.trim()).toBe(
    'access key ci-admin revoked: the API refuses it from the next request on',
  );
  expect((await as('ci-admin', adminKey)).status).toBe(401);
  expect((await listed()).find((k) => k.access_id === 'ci-admin')).toMatchObject({ status: 'revoked' });

  expect(await failure('keys', 'revoke', 'ci-admin')).toEqual({
    code: 1,
    stderr: 'fleet: access key ci-admin is revoked already\n',
  });
  expect(await failure('keys', 'create', '--id', 'ci-admin', '--role', 'operator')).toEqual({
    code: 1,
    stderr: 'fleet: access id ci-admin exists already (revoke or rotate it instead)\n',
  });
  expect(await failure('keys', 'rotate', 'nobody')).toEqual({ code: 1, stderr: 'fleet: no access key nobody\n' });
  expect(await failure('keys', 'create', '--id', 'ci-old', '--role', 'operator', '--expires', '2001-01-01')).toEqual({
    code: 1,
    stderr: 'fleet: expires_time must be in the future\n',
  });
}

let keyLifeFailure: unknown;
beforeAll(async () => {
  keyLifeFailure = await keyLife().then(
    () => undefined,
    (err: unknown) => err,
  );
});

describe('fleet keys', () => {
  test('a key created (shown once; listed, never the key), used with its role, rotated and revoked (the old key refused at once); refusals exit 1', () => {
    expect(keyLifeFailure).toBeUndefined();
  });

  test('usage errors exit 2 and change nothing', async () => {
    const before = await listed();
    for (const [args, message] of [
      [
        ['keys', 'create', '--id', 'ci-x'],
        'keys create --role must be one of read_only, operator, internal_service, admin',
      ],
      [['keys', 'create', '--role', 'admin'], 'keys create --id needs an ACCESS_ID'],
      [
        ['keys', 'create', '--id', 'ci:x', '--role', 'admin'],
        "access id 'ci:x': must not contain a colon or white space",
      ],
      [
        ['keys', 'create', '--id', 'ci-x', '--role', 'admin', '--expires', 'tomorrow'],
        "--expires: 'tomorrow' is neither a date (YYYY-MM-DD) nor an ISO 8601 time",
      ],
      [['keys', 'revoke'], 'keys revoke needs an ACCESS_ID'],
      [['keys', 'shred', 'ci-x'], "keys: unknown command 'shred' (one of create, list, revoke, rotate)"],
      [['keys'], 'keys needs a command: one of create, list, revoke, rotate'],
      [['keys', 'list', 'extra'], "keys list: unexpected argument 'extra'"],
      [['audit', '--limit', '0'], '--limit must be a whole number from 1 to 10000'],
      [
        ['audit', '--since', 'yesterday'],
        "--since: 'yesterday' is neither seconds since the epoch nor an ISO 8601 time",
      ],
    ] as const) {
      const result = await failure(...args);
      expect([args.join(' '), result.code]).toEqual([args.join(' '), 2]);
      expect(result.stderr).toContain(`fleet: ${message}\nusage:`);
    }
    expect(await listed()).toEqual(before);
  });
});

describe('fleet audit', () => {
  test("lists the CLI's own changes and refusals (cli:<user>, client cli) beside the API's refusals, oldest first", async () => {
    const entries = await audit();
    const cli = entries.filter((e) => e.actor === CLI_ACTOR);
    expect(cli.map((e) => [e.action, e.target, e.outcome])).toEqual([
      ['fleet keys create', '/api/fleet/1.0/access_keys', 'ok'],
      ['fleet keys create', '/api/fleet/1.0/access_keys', 'ok'],
      ['fleet keys rotate', '/api/fleet/1.0/access_keys/ci-admin', 'ok'],
      ['fleet keys revoke', '/api/fleet/1.0/access_keys/ci-admin', 'ok'],
      ['fleet keys revoke', '/api/fleet/1.0/access_keys/ci-admin', 'refused NOT_FOUND'],
      ['fleet keys create', '/api/fleet/1.0/access_keys', 'refused ACCESS_KEY_EXISTS'],
      ['fleet keys rotate', '/api/fleet/1.0/access_keys/nobody', 'refused NOT_FOUND'],
      ['fleet keys create', '/api/fleet/1.0/access_keys', 'refused INVALID_REQUEST'],
    ]);
    expect(cli.every((e) => e.client === 'cli')).toBe(true);
    expect(cli[0]!.details).toEqual({ access_id: 'ci-admin', created_id: 'ci-admin' });
    expect(cli[5]!.details).toEqual({ access_id: 'ci-admin' });
    // The API's refusals of the old and the revoked key, and of the read-only key, are in the same trail.
    expect(entries.filter((e) => e.actor !== CLI_ACTOR).map((e) => [e.actor, e.action, e.outcome])).toEqual([
      ['ci-reader', 'fleet_getAccessKeys', '403 FORBIDDEN'],
      ['ci-admin', 'fleet_getAccessKeys', '401 AUTH_REQUIRED'],
      ['ci-admin', 'fleet_getAccessKeys', '401 AUTH_REQUIRED'],
    ]);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.time).toBeGreaterThanOrEqual(entries[i - 1]!.time);
  });

  test('--id, --since (seconds or ISO 8601, inclusive), --limit; the table', async () => {
    const all = await audit();
    expect((await audit('--id', 'ci-admin')).map((e) => e.id)).toEqual(
      all.filter((e) => e.actor === 'ci-admin').map((e) => e.id),
    );
    const rotate = all.find((e) => e.action === 'fleet keys rotate')!;
    expect((await audit('--since', String(rotate.time))).map((e) => e.id)).toEqual(
      all.filter((e) => e.time >= rotate.time).map((e) => e.id),
    );
    expect((await audit('--since', new Date(rotate.time * 1000).toISOString()))[0]!.id).toBe(rotate.id);
    expect((await audit('--limit', '2')).map((e) => e.id)).toEqual(all.slice(0, 2).map((e) => e.id));
    expect(await audit('--id', 'nobody')).toEqual([]);

    const table = (await fleet('audit', '--id', CLI_ACTOR, '--limit', '3')).stdout.trim().split('\n');
    expect(table[0]).toMatch(/^TIME\s+ACTOR\s+ACTION\s+OUTCOME\s+CLIENT\s+TARGET\s+DETAILS$/);
    expect(table).toHaveLength(4);
    expect(table[3]).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s+${CLI_ACTOR}\\s+fleet keys rotate\\s+ok\\s+cli\\s+/api/fleet/1.0/access_keys/ci-admin\\s+\\{"access_id":"ci-admin"\\}$`,
      ),
    );
  });

  test('no key anywhere: not in the trail, not in a log line, not in the store files (only hashes are stored)', async () => {
    const trail = (await fleet('audit', '--json')).stdout + (await fleet('audit')).stdout;
    const files = ['fleet.db', 'fleet.db-wal']
      .map((f) => join(dir, f))
      .filter(existsSync)
      .map((f) => readFileSync(f).toString('latin1'));
    expect(keys).toHaveLength(3);
    for (const key of keys) {
      expect(trail).not.toContain(key);
      expect(logLines.join('\n')).not.toContain(key);
      for (const bytes of files) expect(bytes).not.toContain(key);
    }
  });
});
