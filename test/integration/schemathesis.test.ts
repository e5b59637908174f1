/**
 * Schemathesis (PyPI, installed by `npm run setup`: scripts/ensure-schemathesis.sh) fuzzes every
 * operation of /openapi.json on the real stack (dev server, simulator process, SQLite store,
 * worker, the API on a socket) as admin, with every check, a fixed seed and 25 examples per
 * operation. Server errors, response schema violations and undocumented status codes fail the
 * test; the other checks' failures are printed only. A canary first runs the same CLI and the same
 * report parsing against a tiny server with one sound route and one that answers 500, so a change
 * in schemathesis' reports cannot turn this test into one that always passes.
 *
 * FLEET_SCHEMATHESIS_REPORT_DIR=<dir> keeps the reports (JUnit, JSON, NDJSON, the CLI output,
 * failures.txt with the full list, and the API's log) there; otherwise they go to a temporary
 * folder that is removed, and the API's log is dropped (schemathesis sets its level with PUT /logging).
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  type WriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Fastify, { type FastifyInstance } from 'fastify';
import { ensureDemoCustomerImages } from '../../api/bootstrap';
import { createLogger } from '../../domain/logging';
import { schemathesisPath } from '../../scripts/toolchain';
import { SCC_KEYS, startSccApi, type SccApi } from '../helpers/scc-api';
import { listenOnLoopback } from '../helpers/servers';
import { TEST_IMAGE_BASE_URL } from '../helpers/stack';

// The API run takes about 5 minutes on 2 cores (158 operations), 8 when the machine is loaded; the limit leaves room.
jest.setTimeout(900_000);

const taskQueue = 'integration-schemathesis';
/** FLEET_SCHEMATHESIS_SEED / FLEET_SCHEMATHESIS_MAX_EXAMPLES (at least 25) change them for a deeper look. */
const SEED = Number(process.env.FLEET_SCHEMATHESIS_SEED ?? 20240611);
const MAX_EXAMPLES = Math.max(25, Number(process.env.FLEET_SCHEMATHESIS_MAX_EXAMPLES ?? 25));
/**
 * One worker: schemathesis' workers are threads, and CPython 3.11's ast module (Hypothesis parses
 * lambdas with it) is not thread-safe: two workers fail at random with "SystemError: AST constructor
 * recursion depth mismatch", which this test counts as a broken run.
 */
const WORKERS = 1;
/** A run that has not ended by then is killed and the test fails (it takes about 5 minutes here; 8 under load). */
const RUN_LIMIT_MS = 840_000;
/** The checks whose failures fail the test. */
const ASSERTED = ['not_a_server_error', 'response_schema_conformance', 'status_code_conformance'] as const;

/** Where the reports are kept, when asked (see above). */
const keep = process.env.FLEET_SCHEMATHESIS_REPORT_DIR ? resolve(process.env.FLEET_SCHEMATHESIS_REPORT_DIR) : undefined;

const ADMIN_AUTH = `admin:${SCC_KEYS.admin}`;
/** What must never be printed: the key, and the Basic header value made of it. */
const SECRETS = [SCC_KEYS.admin, Buffer.from(ADMIN_AUTH).toString('base64')];
const scrub = (text: string): string => SECRETS.reduce((t, s) => t.split(s).join('[key]'), text);
const clip = (text: string, n: number): string => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

interface Finding {
  operation: string;
  code: string;
  /** The request as sent (method, path, query, JSON body), the coverage scenario, and what came back. */
  method: string;
  target: string;
  body?: string;
  scenario?: string;
  status?: number;
  /** What the check said, its first lines. */
  said: string;
  /** The response body, for 4xx and 5xx answers. */
  response?: string;
}

interface CheckTally {
  /** Test cases the check ran on. */
  checked: number;
  /** Test cases it failed on. */
  failed: number;
  /** The first failure per operation. */
  byOperation: Map<string, Finding>;
}

interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  /** The JSON run report (`--report json`). */
  report: any;
  checks: Map<string, CheckTally>;
  /** Failure codes (ST101, …) seen in the NDJSON events. */
  codes: Set<string>;
  /** Schemathesis' own errors (NonFatalError events: it could not test something), one line each. */
  errors: string[];
  dir: string;
}

function onlyFile(dir: string, prefix: string): string {
  const found = readdirSync(dir).filter((f) => f.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${prefix}* report in ${dir}, found ${found.length}`);
  return join(dir, found[0]!);
}

function finding(operation: string, code: string, c: any, interaction: any, message: string): Finding {
  let path = String(c?.path ?? '?');
  for (const [name, value] of Object.entries(c?.path_parameters ?? {}))
    path = path.replace(`{${name}}`, encodeURIComponent(String(value)));
  const query =
    c?.query && Object.keys(c.query).length
      ? `?${new URLSearchParams(Object.entries(c.query).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString()}`
      : '';
  const status: number | undefined = interaction?.response?.status_code;
  const content = interaction?.response?.content;
  const response =
    status !== undefined && status >= 400 && content
      ? typeof content.$base64 === 'string'
        ? Buffer.from(content.$base64, 'base64').toString('utf8')
        : String(content.string ?? '')
      : undefined;
  return {
    operation,
    code,
    method: String(c?.method ?? '?'),
    target: path + query,
    ...(c?.body !== undefined ? { body: JSON.stringify(c.body) } : {}),
    ...(c?.meta?.phase?.data?.description
      ? { scenario: String(c.meta.phase.data.description).replace(/\s*\n\s*/g, '; ') }
      : {}),
    ...(status !== undefined ? { status } : {}),
    said: message
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(0, 2)
      .join(' / '),
    ...(response ? { response } : {}),
  };
}

/** One line: `n` caps each part (the full list uses a larger one). */
function oneLine(f: Finding, n: number): string {
  const parts = [
    `${f.code} ${f.method} ${clip(f.target, n)}`,
    f.body !== undefined ? `body=${clip(f.body, n)}` : '',
    `→ ${f.status ?? 'no response'}`,
    f.response ? `${clip(f.response, n)}` : '',
    f.scenario ? `[${clip(f.scenario, n)}]` : '',
    f.said ? `${clip(f.said, n)}` : '',
  ];
  return scrub(parts.filter(Boolean).join(' '));
}

/** Tallies every check result in the NDJSON events (one ScenarioFinished per scenario, with its cases, checks and interactions). */
async function readEvents(file: string): Promise<Pick<RunResult, 'checks' | 'codes' | 'errors'>> {
  const checks = new Map<string, CheckTally>();
  const codes = new Set<string>();
  const errors: string[] = [];
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    if (line.startsWith('{"NonFatalError"')) {
      const { value, label, phase } = JSON.parse(line).NonFatalError ?? {};
      errors.push(
        scrub(clip(`${label ?? '?'} (${phase ?? '?'}): ${value?.type ?? 'error'}: ${value?.message ?? ''}`, 400)),
      );
      continue;
    }
    if (!line.includes('"ScenarioFinished"')) continue;
    const recorder = JSON.parse(line).ScenarioFinished?.recorder;
    if (!recorder) continue;
    for (const [caseId, results] of Object.entries<any[]>(recorder.checks ?? {})) {
      for (const result of results) {
        const tally = checks.get(result.name) ?? { checked: 0, failed: 0, byOperation: new Map() };
        checks.set(result.name, tally);
        tally.checked++;
        if (result.status !== 'failure') continue;
        tally.failed++;
        const failure = result.failure_info?.failure ?? {};
        const operation = String(failure.operation ?? recorder.label);
        codes.add(String(failure.code));
        if (!tally.byOperation.has(operation)) {
          tally.byOperation.set(
            operation,
            finding(
              operation,
              String(failure.code),
              recorder.cases?.[caseId]?.value,
              recorder.interactions?.[caseId],
              String(failure.message ?? failure.title ?? ''),
            ),
          );
        }
      }
    }
  }
  return { checks, codes, errors };
}

/** Runs `st run <schemaUrl>` with the reports in `dir`; resolves when the process has exited and its reports are read. */
async function runSchemathesis(schemaUrl: string, dir: string, extra: string[]): Promise<RunResult> {
  mkdirSync(dir, { recursive: true });
  const args = [
    'run',
    schemaUrl,
    '--checks',
    'all',
    '--seed',
    String(SEED),
    '--max-examples',
    String(MAX_EXAMPLES),
    '--workers',
    String(WORKERS),
    '--request-timeout',
    '30',
    // No example database: with a fixed seed, every run sends the same requests.
    '--generation-database',
    'none',
    '--report',
    'junit,json,ndjson',
    '--report-dir',
    dir,
    '--no-color',
    ...extra,
  ];
  const out = openSync(join(dir, 'st-output.txt'), 'w');
  const started = Date.now();
  // cwd: its own folder, where schemathesis may leave .hypothesis/.schemathesis, never the repo.
  const proc = spawn(schemathesisPath(), args, {
    cwd: dir,
    env: { ...process.env, PYTHONUTF8: '1', NO_COLOR: '1' },
    stdio: ['ignore', out, out],
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), RUN_LIMIT_MS);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
    proc.once('error', fail);
    proc.once('exit', (c, s) => done({ code: c, signal: s }));
  }).finally(() => {
    clearTimeout(killer);
    closeSync(out);
  });
  const seconds = (Date.now() - started) / 1000;
  // 0: no failures, 1: failures found; anything else (usage error, crash, killed) is no result.
  if (code !== 0 && code !== 1) {
    const tail = scrub(readFileSync(join(dir, 'st-output.txt'), 'utf8').split('\n').slice(-30).join('\n'));
    throw new Error(
      `schemathesis ended with ${signal ?? `exit code ${code}`} after ${seconds.toFixed(0)}s${signal === 'SIGKILL' ? ` (limit ${RUN_LIMIT_MS / 1000}s)` : ''}:\n${tail}`,
    );
  }
  const report = JSON.parse(readFileSync(onlyFile(dir, 'json-'), 'utf8'));
  return { exitCode: code, signal, seconds, report, ...(await readEvents(onlyFile(dir, 'ndjson-'))), dir };
}

/** Failing test cases of each asserted check. */
const assertedFailures = (run: RunResult): Record<string, number> =>
  Object.fromEntries(ASSERTED.map((name) => [name, run.checks.get(name)?.failed ?? 0]));

/**
 * What makes a run's counts trustworthy: it ran to the end, tested `operations` operations (when
 * given) without errors, every asserted check ran, and the NDJSON events hold every kind of
 * failure the JSON report counts (so no failure was missed by the parsing).
 */
function expectSoundRun(run: RunResult, operations?: number): void {
  const { report } = run;
  expect({ complete: report.complete, stop_reason: report.stop_reason }).toEqual({
    complete: true,
    stop_reason: 'completed',
  });
  expect({ errors: report.errors.length, details: run.errors }).toEqual({ errors: 0, details: [] });
  expect(report.operations.errored).toBe(0);
  if (operations !== undefined)
    expect({ selected: report.operations.selected, tested: report.operations.tested }).toEqual({
      selected: operations,
      tested: operations,
    });
  for (const name of ASSERTED)
    expect({ name, ran: (run.checks.get(name)?.checked ?? 0) > 0 }).toEqual({ name, ran: true });
  expect([...run.codes].sort()).toEqual(
    [...new Set<string>(report.failures.map((f: { code: string }) => f.code))].sort(),
  );
  expect(run.exitCode).toBe(report.failures.length > 0 ? 1 : 0);
}

/** Counts per check (asserted ones first), the first few failing operations of each with an example, the checks that passed on one line. */
function summary(title: string, run: RunResult, perCheck = 4): string {
  const { report } = run;
  const asserted = (name: string) => (ASSERTED as readonly string[]).includes(name);
  const names = [...ASSERTED, ...[...run.checks.keys()].filter((n) => !asserted(n)).sort()];
  const lines = [
    `${title}: schemathesis ${report.schemathesis_version}, seed ${report.seed}, ${report.operations.tested}/${report.operations.total} operations, ` +
      `${report.test_cases.generated} test cases, ${run.seconds.toFixed(1)}s (phases: ${Object.entries<any>(
        report.phases,
      )
        .map(([p, v]) => `${p} ${v.status}`)
        .join(', ')})`,
  ];
  const passed: string[] = [];
  for (const name of names) {
    const tally = run.checks.get(name);
    if (!tally) continue;
    if (!tally.failed && !asserted(name)) {
      passed.push(name);
      continue;
    }
    const mark = !tally.failed ? 'ok  ' : asserted(name) ? 'FAIL' : 'warn';
    lines.push(
      `  ${mark} ${name}: ${tally.failed} failing of ${tally.checked} cases, ${tally.byOperation.size} operations`,
    );
    for (const f of [...tally.byOperation.values()].slice(0, perCheck)) lines.push(`         ${oneLine(f, 140)}`);
    if (tally.byOperation.size > perCheck)
      lines.push(
        `         … and ${tally.byOperation.size - perCheck} more operations${keep ? ' (failures.txt)' : ' (FLEET_SCHEMATHESIS_REPORT_DIR=<dir> keeps the full list)'}`,
      );
  }
  if (passed.length) lines.push(`  ok   no failures: ${passed.join(', ')}`);
  const warnings = Object.entries<any>(report.warnings ?? {})
    .filter(([, v]) => Array.isArray(v) && v.length)
    .map(([k, v]) => `${k} ${v.length}`);
  if (warnings.length) lines.push(`  schemathesis warnings (operations): ${warnings.join(', ')}`);
  for (const error of run.errors.slice(0, 3)) lines.push(`  schemathesis error: ${error}`);
  return lines.join('\n');
}

/** Every check's failing operations with one example each, for failures.txt. */
function fullList(run: RunResult): string {
  const lines: string[] = [];
  for (const [name, tally] of [...run.checks].sort(([a], [b]) => a.localeCompare(b))) {
    if (!tally.failed) continue;
    lines.push(`## ${name}: ${tally.failed} failing cases, ${tally.byOperation.size} operations`);
    for (const f of [...tally.byOperation.values()].sort((a, b) => a.operation.localeCompare(b.operation)))
      lines.push(`- ${f.operation}: ${oneLine(f, 2000)}`);
  }
  return lines.join('\n') + '\n';
}

let reportRoot: string;

beforeAll(() => {
  reportRoot = keep ?? mkdtempSync(join(tmpdir(), 'fleet-schemathesis-'));
  if (keep) rmSync(keep, { recursive: true, force: true });
  mkdirSync(reportRoot, { recursive: true });
});
afterAll(() => {
  if (!keep && reportRoot && existsSync(reportRoot)) rmSync(reportRoot, { recursive: true, force: true });
});

describe('the harness (a canary server)', () => {
  let canary: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    const ok = {
      type: 'object',
      required: ['ok'],
      properties: { ok: { type: 'boolean' } },
      additionalProperties: false,
    };
    const error = { type: 'object' };
    const doc = {
      openapi: '3.1.0',
      info: { title: 'canary', version: '1' },
      paths: {
        '/ok': {
          get: {
            responses: {
              '200': { description: 'ok', content: { 'application/json': { schema: ok } } },
              '4XX': { description: 'error', content: { 'application/json': { schema: error } } },
            },
          },
        },
        '/boom': {
          post: {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
                },
              },
            },
            responses: {
              '200': { description: 'ok', content: { 'application/json': { schema: ok } } },
              '4XX': { description: 'error', content: { 'application/json': { schema: error } } },
            },
          },
        },
      },
    };
    canary = Fastify();
    canary.get('/openapi.json', async () => doc);
    canary.get('/ok', async () => ({ ok: true }));
    canary.post('/boom', async (request, reply) => {
      const n = (request.body as { n?: unknown } | undefined)?.n;
      if (typeof n !== 'number' || !Number.isInteger(n)) return reply.code(400).send({ error: 'n must be an integer' });
      if (n > 10) return reply.code(500).send({ error: 'boom' });
      return { ok: true };
    });
    base = await listenOnLoopback(canary);
  });
  afterAll(async () => {
    await canary?.close();
  });

  test('a route that answers 500 fails the asserted checks', async () => {
    const run = await runSchemathesis(`${base}/openapi.json`, join(reportRoot, 'canary-boom'), [
      '--include-path',
      '/boom',
    ]);
    console.log(summary('canary /boom', run, 1));
    expectSoundRun(run, 1);
    expect(assertedFailures(run).not_a_server_error).toBeGreaterThan(0);
    expect(run.checks.get('not_a_server_error')?.byOperation.has('POST /boom')).toBe(true);
  });

  test('a sound route passes them', async () => {
    const run = await runSchemathesis(`${base}/openapi.json`, join(reportRoot, 'canary-ok'), ['--include-path', '/ok']);
    console.log(summary('canary /ok', run, 1));
    expectSoundRun(run, 1);
    expect(assertedFailures(run)).toEqual({
      not_a_server_error: 0,
      response_schema_conformance: 0,
      status_code_conformance: 0,
    });
  });
});

describe('the API', () => {
  let api: SccApi;
  let apiLog: WriteStream | undefined;

  beforeAll(async () => {
    apiLog = keep ? createWriteStream(join(reportRoot, 'api-log.ndjson')) : undefined;
    const logger = createLogger('test-api', 'silent', { write: (line: string) => void apiLog?.write(line) });
    api = await startSccApi({ appliances: 30, speed: 400, taskQueue, logger });
    // The demo's customer repository, so the image routes answer with data.
    await ensureDemoCustomerImages(api.stack.store, TEST_IMAGE_BASE_URL);
  }, 240_000);
  afterAll(async () => {
    await api?.stop();
    await new Promise<void>((done) => (apiLog ? apiLog.end(done) : done()));
  });

  test('schemathesis finds no server error, schema violation or undocumented status on any route', async () => {
    const doc = (await (await fetch(`${api.base}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    const run = await runSchemathesis(`${api.base}/openapi.json`, join(reportRoot, 'api'), ['--auth', ADMIN_AUTH]);
    writeFileSync(join(run.dir, 'failures.txt'), fullList(run));
    console.log(summary('API', run) + (keep ? `\n  reports: ${run.dir}` : ''));
    expectSoundRun(run, operations);
    expect(assertedFailures(run)).toEqual({
      not_a_server_error: 0,
      response_schema_conformance: 0,
      status_code_conformance: 0,
    });
  });
});
