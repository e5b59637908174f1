/**
 * HTTPS and the HTML pages' security headers, over real sockets: a self-signed certificate made
 * with the openssl CLI; the API (createApi with `https`, a real SQLite store, a stand-in Temporal
 * client: nothing here starts a workflow) answers /health, /docs and the SCC routes over TLS to a
 * client trusting that certificate, with HSTS on every answer, errors included; plain HTTP to
 * the port gets no answer. `FLEET_API_TRUST_PROXY` decides whose address request.ip is. Then
 * api/main.ts as a process: one of the two variables alone, an unreadable file, a key that is
 * not the certificate's each stop start-up with one line naming the variable, no stack trace;
 * with both (on a real dev server) it listens on https:// and says so.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { putAccessKey } from '../../api/auth';
import { createApi } from '../../api/server';
import { readTlsFiles, STRICT_TRANSPORT_SECURITY, type TlsFiles } from '../../api/tls';
import { createLogger } from '../../domain/logging';
import { FleetStore } from '../../store/fleet-store';
import { recordLoaded } from '../../store/readiness';
import { freePort, startDevServer } from '../helpers/servers';

const root = join(__dirname, '..', '..');
const OPENSSL = '/usr/bin/openssl';
const ACCESS_ID = 'tls-reader';
const ACCESS_KEY = 'tls-reader-key-0123456789';
const AUTH = `Basic ${Buffer.from(`${ACCESS_ID}:${ACCESS_KEY}`).toString('base64')}`;
const REPOSITORIES = '/api/cmc.upgrades/1.0/image_repositories';

/** A Temporal client that answers /health's one call: readiness then depends on the store alone. */
const standInClient = { connection: { workflowService: { getSystemInfo: async () => ({}) } } } as unknown as Client;

let dir: string;
let certFile: string;
let keyFile: string;
/** A second key, not the certificate's. */
let otherKeyFile: string;
let tls: TlsFiles;
let store: FleetStore;
let app: FastifyInstance;
let port: number;

/** A self-signed certificate for 127.0.0.1, as the brief's openssl line makes it. */
function makeCertificate(name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    OPENSSL,
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** GET over HTTP or HTTPS (the module's own `request`), its whole answer read. */
function get(
  send: (options: RequestOptions, onAnswer: (res: IncomingMessage) => void) => ClientRequest,
  options: RequestOptions,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = send({ host: '127.0.0.1', agent: false, timeout: 10_000, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** GET over HTTPS from a client that trusts only `ca` (default: the test's certificate). */
function httpsGet(
  path: string,
  options: { ca?: Buffer | null; headers?: Record<string, string>; port?: number } = {},
): Promise<Answer> {
  return get(httpsRequest, {
    port: options.port ?? port,
    path,
    headers: options.headers ?? {},
    ...(options.ca === null ? {} : { ca: options.ca ?? tls.cert }),
  });
}

function httpGet(path: string, targetPort: number, headers: Record<string, string> = {}): Promise<Answer> {
  return get(httpRequest, { port: targetPort, path, headers });
}

async function listen(api: FastifyInstance): Promise<number> {
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-tls-'));
  ({ cert: certFile, key: keyFile } = makeCertificate('api'));
  otherKeyFile = makeCertificate('other').key;
  tls = readTlsFiles({ cert: certFile, key: keyFile }).https;
  store = await FleetStore.open(`sqlite:${join(dir, 'fleet.db')}`);
  await putAccessKey(store, ACCESS_ID, ACCESS_KEY, 'read_only');
  await recordLoaded(store, 'catalog');
  await recordLoaded(store, 'inventory');
  app = createApi({
    client: standInClient,
    logger: createLogger('test-tls', 'warn'),
    store,
    checkResponses: true,
    https: tls,
  });
  port = await listen(app);
});
afterAll(async () => {
  await app?.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('over HTTPS (createApi with https)', () => {
  test('/health answers to a client trusting the certificate, with HSTS', async () => {
    const answer = await httpsGet('/health');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      status: 'ready',
      temporal: 'ok',
      catalog: 'loaded',
      inventory: 'loaded',
    });
    expect(answer.headers['strict-transport-security']).toBe(STRICT_TRANSPORT_SECURITY);
    expect(STRICT_TRANSPORT_SECURITY).toMatch(/^max-age=\d{8,}/);
  });

  test('/docs carries HSTS and the HTML security headers, its CSP unchanged for Swagger UI', async () => {
    const answer = await httpsGet('/docs');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.body).toContain('<div id="swagger-ui"></div>');
    expect(answer.headers).toMatchObject({
      'strict-transport-security': STRICT_TRANSPORT_SECURITY,
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'x-content-type-options': 'nosniff',
    });
    const csp = answer.headers['content-security-policy'] ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"])
      expect(csp).toContain(directive);
    // Every powerful feature named is off: `feature=()`.
    const features = String(answer.headers['permissions-policy'] ?? '')
      .split(',')
      .map((f) => f.trim());
    expect(features).toEqual(expect.arrayContaining(['camera=()', 'microphone=()', 'geolocation=()']));
    for (const feature of features) expect(feature).toMatch(/^[a-z-]+=\(\)$/);
    // The page's assets too: never sniffed, for this origin's pages only.
    const css = /href="(\/docs\/swagger-ui\.css\?v=[0-9a-f]+)"/.exec(answer.body)?.[1];
    expect(css).toBeDefined();
    const asset = await httpsGet(css!);
    expect(asset.status).toBe(200);
    expect(asset.headers).toMatchObject({
      'strict-transport-security': STRICT_TRANSPORT_SECURITY,
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    });
  });

  test('the API routes answer over TLS, errors and unknown paths with HSTS too', async () => {
    const ok = await httpsGet(REPOSITORIES, { headers: { authorization: AUTH } });
    expect(ok.status).toBe(200);
    expect(ok.headers['strict-transport-security']).toBe(STRICT_TRANSPORT_SECURITY);
    const unauthenticated = await httpsGet(REPOSITORIES);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['www-authenticate']).toMatch(/^Basic /);
    expect(unauthenticated.headers['strict-transport-security']).toBe(STRICT_TRANSPORT_SECURITY);
    const missing = await httpsGet('/no/such/page');
    expect(missing.status).toBe(404);
    expect(missing.headers['strict-transport-security']).toBe(STRICT_TRANSPORT_SECURITY);
  });

  test('a client that does not trust the certificate is refused; plain HTTP to the port gets no answer', async () => {
    await expect(httpsGet('/health', { ca: null })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    await expect(httpGet('/health', port)).rejects.toThrow(/socket hang up|ECONNRESET/);
    // The server goes on serving TLS afterwards.
    expect((await httpsGet('/health')).status).toBe(200);
  });

  test('over plain HTTP (no https option) there is no HSTS, the HTML headers stay', async () => {
    const plain = createApi({
      client: standInClient,
      logger: createLogger('test-plain', 'warn'),
      store,
      checkResponses: true,
    });
    try {
      const plainPort = await listen(plain);
      const health = await httpGet('/health', plainPort);
      expect(health.status).toBe(200);
      expect(health.headers['strict-transport-security']).toBeUndefined();
      const docs = await httpGet('/docs', plainPort);
      expect(docs.headers['strict-transport-security']).toBeUndefined();
      expect(docs.headers).toMatchObject({
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cross-origin-opener-policy': 'same-origin',
      });
    } finally {
      await plain.close();
    }
  });
});

describe('behind a reverse proxy (trustProxy, FLEET_API_TRUST_PROXY)', () => {
  /** An API with a route answering request.ip, as failed-authentication limits and the audit trail see it. */
  async function clientAddress(trustProxy: string[] | undefined, headers: Record<string, string>): Promise<string> {
    const api = createApi({
      client: standInClient,
      logger: createLogger('test-proxy', 'warn'),
      store,
      ...(trustProxy ? { trustProxy } : {}),
    });
    api.get('/test/ip', async (request) => ({ ip: request.ip, protocol: request.protocol }));
    try {
      const answer = await httpGet('/test/ip', await listen(api), headers);
      return (JSON.parse(answer.body) as { ip: string }).ip;
    } finally {
      await api.close();
    }
  }

  test('off by default: X-Forwarded-For is not believed', async () => {
    expect(await clientAddress(undefined, { 'x-forwarded-for': '203.0.113.7' })).toBe('127.0.0.1');
  });

  test('from a trusted proxy address, request.ip is the forwarded client', async () => {
    expect(await clientAddress(['127.0.0.1'], { 'x-forwarded-for': '203.0.113.7' })).toBe('203.0.113.7');
    expect(await clientAddress(['loopback'], { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })).toBe('203.0.113.7');
    // A proxy that is not the one named is not believed.
    expect(await clientAddress(['10.0.0.0/8'], { 'x-forwarded-for': '203.0.113.7' })).toBe('127.0.0.1');
  });
});

describe('api/main.ts as a process', () => {
  /** Runs `npm run api`'s entry with these variables (the others of this process left out); answers its exit code and everything it printed. */
  function runApi(vars: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      FLEET_DATA_DIR: dir,
      FLEET_STORE_URL: `sqlite:${join(dir, 'main.db')}`,
      FLEET_TEMPORAL_ADDRESS: '127.0.0.1:1',
      FLEET_LOG_LEVEL: 'info',
      ...vars,
    };
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'api/main.ts')], {
        cwd: root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`api/main.ts did not exit within ${timeoutMs / 1000}s: ${output}`));
      }, timeoutMs);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  /** Exits non-zero with one line naming the variable and the reason, and no stack trace. */
  function expectRefusal(run: { code: number | null; output: string }, variable: string, reason: RegExp): void {
    expect(run.code).not.toBe(0);
    expect(run.code).not.toBeNull();
    // The log lines (pino JSON); anything else the runtime might print is allowed, a stack frame is not.
    const lines = run.output.split('\n').filter((l) => l.startsWith('{'));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: number; msg: string; err?: unknown };
    expect(line.level).toBe(60);
    expect(line.msg).toContain(variable);
    expect(line.msg).toMatch(reason);
    expect(line).not.toHaveProperty('err');
    expect(run.output).not.toMatch(/\bat .+:\d+:\d+|"stack"/);
  }

  test('FLEET_API_TLS_CERT alone: refused, naming FLEET_API_TLS_KEY', async () => {
    expectRefusal(
      await runApi({ FLEET_API_TLS_CERT: certFile }),
      'FLEET_API_TLS_KEY',
      /FLEET_API_TLS_KEY: must be set when FLEET_API_TLS_CERT is/,
    );
  });

  test('FLEET_API_TLS_KEY alone: refused, naming FLEET_API_TLS_CERT', async () => {
    expectRefusal(
      await runApi({ FLEET_API_TLS_KEY: keyFile }),
      'FLEET_API_TLS_CERT',
      /FLEET_API_TLS_CERT: must be set when FLEET_API_TLS_KEY is/,
    );
  });

  test('a file that cannot be read, or does not hold what it should, is named', async () => {
    const missing = join(dir, 'nowhere', 'api.crt');
    expectRefusal(
      await runApi({ FLEET_API_TLS_CERT: missing, FLEET_API_TLS_KEY: keyFile }),
      'FLEET_API_TLS_CERT',
      new RegExp(`cannot read ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(no such file\\)`),
    );
    expectRefusal(
      await runApi({ FLEET_API_TLS_CERT: certFile, FLEET_API_TLS_KEY: dir }),
      'FLEET_API_TLS_KEY',
      /cannot read .* \(a directory, not a file\)/,
    );
    // Swapped: the key file holds no certificate.
    expectRefusal(
      await runApi({ FLEET_API_TLS_CERT: keyFile, FLEET_API_TLS_KEY: certFile }),
      'FLEET_API_TLS_CERT',
      /holds no PEM certificate/,
    );
    const garbage = join(dir, 'garbage.key');
    writeFileSync(garbage, 'not a key\n');
    expectRefusal(
      await runApi({ FLEET_API_TLS_CERT: certFile, FLEET_API_TLS_KEY: garbage }),
      'FLEET_API_TLS_KEY',
      /holds no PEM private key/,
    );
    expectRefusal(
      await runApi({ FLEET_API_TLS_CERT: certFile, FLEET_API_TLS_KEY: otherKeyFile }),
      'FLEET_API_TLS_KEY',
      /does not belong to the certificate/,
    );
  });

  test('FLEET_API_TRUST_PROXY must name addresses: true is refused', async () => {
    expectRefusal(
      await runApi({ FLEET_API_TRUST_PROXY: 'true' }),
      'FLEET_API_TRUST_PROXY',
      /would believe X-Forwarded-For from any client/,
    );
    expectRefusal(
      await runApi({ FLEET_API_TRUST_PROXY: '127.0.0.1,10.0.0.0/99' }),
      'FLEET_API_TRUST_PROXY',
      /"10\.0\.0\.0\/99" is not an IP address/,
    );
  });

  test('with both files it listens over HTTPS and logs the https:// address', async () => {
    const env = await startDevServer();
    const apiPort = await freePort();
    const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'api/main.ts')], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dir,
        FLEET_DATA_DIR: dir,
        FLEET_STORE_URL: `sqlite:${join(dir, 'main-https.db')}`,
        FLEET_TEMPORAL_ADDRESS: env.address,
        FLEET_TASK_QUEUE: 'integration-tls',
        FLEET_INVENTORY_REFRESH_SECONDS: '0',
        FLEET_ADMIN_ACCESS_ID: 'admin',
        FLEET_ADMIN_ACCESS_KEY: 'tls-admin-key-0123456789',
        FLEET_API_PORT: String(apiPort),
        FLEET_API_TLS_CERT: certFile,
        FLEET_API_TLS_KEY: keyFile,
        FLEET_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines: string[] = [];
      const listening = await new Promise<{ url: string; tls: unknown }>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`api did not listen within 60s: ${lines.slice(-5).join('\n')}`)),
          60_000,
        );
        proc.once('exit', (code) => reject(new Error(`api exited with ${code}: ${lines.slice(-5).join('\n')}`)));
        createInterface({ input: proc.stdout }).on('line', (line) => {
          lines.push(line);
          if (line.includes('api listening on')) {
            clearTimeout(timer);
            resolve(JSON.parse(line) as { url: string; tls: unknown });
          }
        });
      });
      expect(listening.url).toBe(`https://127.0.0.1:${apiPort}`);
      expect(listening.tls).toMatchObject({ subject: 'CN=127.0.0.1' });
      const health = await httpsGet('/health', { port: apiPort });
      // Ready or still loading the inventory: either way an answer over TLS, with HSTS.
      expect([200, 503]).toContain(health.status);
      expect(health.headers['strict-transport-security']).toBe(STRICT_TRANSPORT_SECURITY);
      const admin = `Basic ${Buffer.from('admin:tls-admin-key-0123456789').toString('base64')}`;
      expect((await httpsGet(REPOSITORIES, { port: apiPort, headers: { authorization: admin } })).status).toBe(200);
      await expect(httpGet('/health', apiPort)).rejects.toThrow(/socket hang up|ECONNRESET/);
    } finally {
      const exited = new Promise<number | null>((resolve) =>
        proc.exitCode !== null ? resolve(proc.exitCode) : proc.once('exit', (code) => resolve(code)),
      );
      proc.kill('SIGTERM');
      const code = await exited;
      await env.teardown();
      expect(code).toBe(0);
    }
  });
});
