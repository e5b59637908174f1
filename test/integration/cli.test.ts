/**
 * The fleet CLI as a process against real parts (dev server, simulator process, SQLite store,
 * worker): `status --watch` into a pipe (a line per change, ending when the operation finishes),
 * `logs --follow` (ending when the operation ends), `operations` and its filters, `--json` of
 * every command, exit codes. Every wait is on a process ending or printing, never a time window.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import type { ListedOperation } from '../../client/operation-progress';
import { startStack, type Stack } from '../helpers/stack';

jest.setTimeout(300_000);

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const taskQueue = 'integration-cli';
const TARGET = '9.16.0-100';
const FAILURE = 'install failed: flash write error (injected)';

let stack: Stack;
let cliEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startStack({ appliances: 40, speed: 200, taskQueue, collectors: 3 });
  cliEnv = {
    ...process.env,
    FLEET_TEMPORAL_ADDRESS: stack.env.address,
    FLEET_TASK_QUEUE: taskQueue,
    FLEET_DEVICE_API_URL: stack.sim.url,
    FLEET_STORE_URL: stack.storeUrl,
    FLEET_LOG_LEVEL: 'warn',
  };
  await fleet('inventory', 'sync');
  serials = (await fleet('devices', '--product', 'WW')).stdout.trim().split('\n');
});
afterAll(() => stack?.stop());

const fleet = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'client/cli.ts'), ...args], {
    cwd: root,
    env: cliEnv,
    maxBuffer: 64 * 1024 * 1024,
  });
const outcome = (...args: string[]) =>
  fleet(...args).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
const json = async <T>(...args: string[]): Promise<T> => JSON.parse((await fleet(...args, '--json')).stdout) as T;

/** A long-running CLI process: its output so far, a promise of its first output, and its end. */
function background(...args: string[]) {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'client/cli.ts'), ...args], {
    cwd: root,
    env: cliEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const printed = new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
  proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    proc.once('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { printed, ended, running: () => proc.exitCode === null };
}

/** The CLI on a pseudo-terminal of 100 columns (script(1), util-linux): what it wrote, raw. */
function inPty(args: string) {
  const command = `stty cols 100 rows 40; exec ${process.execPath} --import tsx ${join(root, 'client/cli.ts')} ${args}`;
  const proc = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: root,
    env: cliEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const printed = new Promise<void>((resolve) =>
    proc.stdout.on('data', () => stdout.includes('upgrade operation') && resolve()),
  );
  const ended = new Promise<{ code: number | null; stdout: string }>((resolve) =>
    proc.once('close', (code) => resolve({ code, stdout })),
  );
  return { printed, ended, running: () => proc.exitCode === null };
}

let serials: string[] = [];
const take = (n: number): string[] => serials.splice(0, n);

type Ended = Awaited<ReturnType<typeof background>['ended']>;

/*
 * One story, told by the CLI: an upgrade with a failing appliance followed to its end, then a
 * scheduled operation followed while it is paused, resumed and cancelled. The operations are made
 * and followed once (beforeAll); each test reads what they left, so the tests run in any order.
 */
describe('a finished upgrade and a cancelled scheduled operation, followed from the command line', () => {
  let upgraded: { id: string };
  let faulty: string;
  let mine: string[];
  let watched: Ended;
  let followed: Ended;

  /** The upgrade of three WW appliances, one failing at install, watched and followed until it ends. */
  async function followUpgrade(): Promise<void> {
    mine = take(3);
    faulty = mine[1]!;
    await stack.devices.addFault(faulty, { kind: 'fail_at_stage', stage: 'install', message: FAILURE });
    upgraded = await json<{ id: string }>(
      'upgrade',
      '--product',
      'WW',
      '--version',
      TARGET,
      '--reboot',
      '--comment',
      'cli test',
      ...mine,
    );
    const watch = background('status', upgraded.id, '--watch', '--interval', '0.2');
    const follow = background('logs', upgraded.id, '--follow', '--interval', '0.2');
    [watched, followed] = await Promise.all([watch.ended, follow.ended]);
  }

  let scheduled: { id: string };
  let scheduledMine: string[];
  let followedScheduled: {
    watched: Ended;
    followed: Ended;
    drawn: { code: number | null; stdout: string };
    runningWhilePrinted: boolean[];
    answers: unknown[];
  };

  /** An operation an hour ahead, followed three ways (a pipe, logs, a terminal) while it is paused, resumed and cancelled. */
  async function followScheduled(): Promise<void> {
    scheduledMine = take(2);
    scheduled = await json<{ id: string }>(
      'upgrade',
      '--product',
      'WW',
      '--version',
      TARGET,
      '--at',
      '+1h',
      ...scheduledMine,
    );
    const watch = background('status', scheduled.id, '--watch', '--interval', '0.2');
    const follow = background('logs', scheduled.id, '--follow', '--interval', '0.2');
    // On a terminal (a pseudo-terminal from script(1), 100 columns): the frame, redrawn in place.
    const onTerminal = inPty(`status ${scheduled.id} --watch --interval 0.2`);
    await Promise.all([watch.printed, onTerminal.printed]);
    const runningWhilePrinted = [watch.running(), follow.running(), onTerminal.running()];
    const answers = [
      await json('pause', scheduled.id),
      await json('resume', scheduled.id),
      await json('cancel', scheduled.id, '--serial', scheduledMine[0]!),
      await json('cancel', scheduled.id),
    ];
    const [w, f, drawn] = await Promise.all([watch.ended, follow.ended, onTerminal.ended]);
    followedScheduled = { watched: w, followed: f, drawn, runningWhilePrinted, answers };
  }

  beforeAll(async () => {
    await followUpgrade();
    await followScheduled();
  });

  test('status --watch into a pipe prints a line per change and ends when the operation finishes; logs --follow ends with it', async () => {
    expect([watched.code, watched.stderr]).toEqual([0, '']);
    const lines = watched.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d {2}upgrade operation ${upgraded.id} {2}WW to ${TARGET}, reboot {2}(running|scheduled) {2}by \\S+ {2}"cli test"$`,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^\\d\\d:\\d\\d:\\d\\d {2}${faulty} failed: .*${FAILURE.replace(/[()]/g, '\\$&')}`),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/ 100% 3\/3 finished · 0 scheduled · 0 running · 2 successful · 1 failed · 0 cancelled/),
    );
    expect(lines.at(-1)).toMatch(/^\d\d:\d\d:\d\d {2}operation partially_successful \(elapsed \d+/);
    // Counts lines only when the counts changed: never two alike in a row.
    const counts = lines.filter((l) => l.includes(' finished · ')).map((l) => l.slice(10).replace(/ · elapsed.*$/, ''));
    expect(counts.length).toBeGreaterThanOrEqual(2);
    counts.slice(1).forEach((c, i) => expect(c).not.toBe(counts[i]));

    expect([followed.code, followed.stderr]).toEqual([0, '']);
    const logged = followed.stdout.trim().split('\n');
    // Every task's lines and the operation's, the operation's last line included.
    for (const serial of mine) expect(logged.some((l) => l.includes(`  ${serial}  `))).toBe(true);
    expect(logged.at(-1)).toMatch(/^\S+Z {2}\S+\s+operation +finished partially_successful/);
    expect(logged.some((l) => l.includes(faulty) && l.includes(FAILURE))).toBe(true);
    // What a later read prints: the same lines.
    expect((await fleet('logs', upgraded.id)).stdout.trim().split('\n')).toEqual(logged);
  });

  test('status once: the frame, the failed appliance and its reason; --all a row each; --json the operation, its tasks and the summary', async () => {
    const text = (await fleet('status', upgraded.id)).stdout.split('\n');
    expect(text[0]).toContain(`upgrade operation ${upgraded.id}  WW to ${TARGET}, reboot  partially_successful`);
    expect(text[1]).toMatch(/^█{30} 100% {2}3\/3 finished {2}elapsed \d+/);
    expect(text).toContain('tasks   0 scheduled · 0 running · 2 successful · 1 failed · 0 cancelled');
    expect(text).toContain('failed  1');
    expect(text.find((l) => l.startsWith(`  ${faulty}  `))).toContain(FAILURE);
    const all = (await fleet('status', upgraded.id, '--all', '--kind', 'upgrade')).stdout.split('\n');
    expect(all.filter((l) => /^[A-Z0-9]{11,13}\s+(successful|failed)\s/.test(l))).toHaveLength(3);

    const view = await json<{
      operation: { id: string; status: string };
      tasks: { serial: string; status: string; message?: string }[];
      progress: { counts: Record<string, number>; failed: { serial: string }[]; total: number };
    }>('status', upgraded.id);
    expect(view.operation).toMatchObject({ id: upgraded.id, status: 'partially_successful' });
    expect(view.tasks.map((t) => t.status).sort()).toEqual(['failed', 'successful', 'successful']);
    expect(view.tasks.find((t) => t.serial === faulty)?.message).toContain(FAILURE);
    expect(view.progress).toMatchObject({
      total: 3,
      counts: { successful: 2, failed: 1 },
      failed: [{ serial: faulty }],
    });
    // The per-task log, and --json of logs: one object a line.
    const own = (await fleet('logs', upgraded.id, '--serial', faulty)).stdout.trim().split('\n');
    expect(own.every((l) => !l.includes('operation '))).toBe(true);
    expect(own.some((l) => l.includes(FAILURE))).toBe(true);
    const entries = (await fleet('logs', upgraded.id, '--json')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { serial: string | null; severity: string; log_entry: string; timestamp: number });
    expect(entries.at(-1)).toMatchObject({
      serial: null,
      log_entry: expect.stringMatching(/^finished partially_successful/),
    });
    const ownEntries = entries.filter((e) => e.serial === faulty);
    expect(ownEntries).toHaveLength(own.length);
    ownEntries.forEach((e, i) => expect(own[i]!.endsWith(`  ${e.log_entry}`)).toBe(true));
  });

  test('following a scheduled operation: both wait (printed, still running) until it is cancelled, then end; pause, resume and cancel --json', () => {
    const { watched, followed, drawn, runningWhilePrinted, answers } = followedScheduled;
    expect(runningWhilePrinted).toEqual([true, true, true]);
    expect(answers).toEqual([
      { operation_id: scheduled.id, paused: true },
      { operation_id: scheduled.id, paused: false },
      { operation_id: scheduled.id, serial: scheduledMine[0], status: 'cancelled', cancel_requested: true },
      { operation_id: scheduled.id, cancel_requested: true },
    ]);
    expect([watched.code, followed.code, drawn.code]).toEqual([0, 0, 0]);
    // log-update: each redraw erases the frame before (erase line, cursor up), never clears the screen.
    expect(drawn.stdout).toContain('\x1b[2K\x1b[1A');
    expect(drawn.stdout).not.toContain('\x1b[2J');
    const frames = drawn.stdout.split('\x1b[G').map((f) => stripVTControlCharacters(f));
    expect(frames[0]).toContain(`upgrade operation ${scheduled.id}  WW to ${TARGET}  scheduled`);
    const last = frames.at(-1)!;
    expect(last).toContain(`upgrade operation ${scheduled.id}  WW to ${TARGET}  cancelled`);
    expect(last).toContain(`${'█'.repeat(30)} 100%  2/2 finished`);
    expect(last).toContain('tasks   0 scheduled · 0 running · 0 successful · 0 failed · 2 cancelled');
    expect(watched.stdout.trim().split('\n').at(-1)).toMatch(/operation cancelled \(elapsed /);
    expect(followed.stdout).toMatch(/operation +paused: no new task starts until resumed\n.*operation +resumed\n/);
    expect(followed.stdout.trim().split('\n').at(-1)).toMatch(/operation +finished cancelled/);
  });

  test('operations: every operation, filtered by status and kind; the table', async () => {
    // The story's two operations (the rollout-safety test may have added one of its own, before or after).
    const all = await json<ListedOperation[]>('operations');
    const ours = all.filter((o) => [upgraded.id, scheduled.id].includes(o.operation.id));
    expect(ours.map((o) => [o.kind, o.operation.id, o.operation.status])).toEqual([
      ['upgrade', upgraded.id, 'partially_successful'],
      ['upgrade', scheduled.id, 'cancelled'],
    ]);
    expect(ours[0]!.task_counts).toEqual({ successful: 2, failed: 1 });
    expect((await json<ListedOperation[]>('operations', '--status', 'cancelled')).map((o) => o.operation.id)).toEqual([
      scheduled.id,
    ]);
    expect(
      (await json<ListedOperation[]>('operations', '--status', 'partially_successful', '--kind', 'upgrade')).map(
        (o) => o.operation.id,
      ),
    ).toEqual([upgraded.id]);
    expect(await json('operations', '--kind', 'reboot')).toEqual([]);
    expect((await json<ListedOperation[]>('operations', '--limit', '1')).map((o) => o.operation.id)).toEqual([
      all.at(-1)!.operation.id,
    ]);
    const table = (await fleet('operations')).stdout.trim().split('\n');
    expect(table[0]).toMatch(/^ID\s+KIND\s+STATUS\s+PRODUCT\s+TARGET\s+APPLIANCES\s+FINISHED\s+FAILED\s+CREATED\s+BY$/);
    expect(table.find((row) => row.startsWith(upgraded.id))).toMatch(
      new RegExp(`^${upgraded.id}\\s+upgrade\\s+partially_successful\\s+WW\\s+${TARGET}\\s+3\\s+3\\s+1\\s+\\d{4}-`),
    );
  });

  test('--json of every other command; exit codes: 1 for what fails, 2 for usage', async () => {
    const two = await json<string[]>('devices', '--product', 'WW', '--limit', '2');
    expect(two).toHaveLength(2);
    for (const serial of two) expect(serial).toMatch(/^W[0-9A-Z]{10}$/);
    expect(await json<string[]>('devices', '--limit', '2')).toHaveLength(2);
    expect(await json('inventory', 'sync')).toMatchObject({ appliances: 40 });
    expect((await json<{ serial: string }[]>('inventory', 'list', '--product', 'WW')).length).toBeGreaterThan(0);
    expect(await json('collectors', 'sync')).toMatchObject({ collectors: 3 });
    expect(await json<{ targets: { version: string; latest: boolean }[] }>('collectors', 'targets')).toMatchObject({
      targets: expect.arrayContaining([expect.objectContaining({ latest: true })]),
    });
    expect(Array.isArray(await json('keys', 'list'))).toBe(true);
    const trail = await json<{ action: string; outcome: string }[]>('audit');
    expect(trail.map((e) => e.action)).toEqual(
      expect.arrayContaining(['fleet upgrade', 'fleet pause', 'fleet resume', 'fleet cancel --serial', 'fleet cancel']),
    );

    expect(await outcome('status', '424242')).toMatchObject({
      code: 1,
      stderr: 'fleet: no operation with id 424242\n',
    });
    expect(await outcome('status', upgraded.id, '--kind', 'reboot')).toMatchObject({
      code: 1,
      stderr: `fleet: no operation with id ${upgraded.id}\n`,
    });
    expect(await outcome('logs', upgraded.id, '--serial', 'S00AB00000000')).toMatchObject({
      code: 1,
      stderr: `fleet: appliance S00AB00000000 is not part of operation ${upgraded.id}\n`,
    });
    expect(await outcome('cancel', '99999999999')).toMatchObject({ code: 1 });
    expect(await outcome('upgrade', '--product', 'WW', '--version', TARGET, 'S00AB00000000')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        'appliances: 1 appliance(s) cannot be part of this upgrade operation: S00AB00000000 (unknown)',
      ),
    });
    expect(await outcome('operations', '--status', 'nope')).toMatchObject({ code: 2 });
  });
});

test('rollout safety from the command line: --health-check, --rollback, --task-retries reach the operation; a bad one is refused naming it', async () => {
  const [serial] = take(1);
  const refused = await outcome(
    'upgrade',
    '--product',
    'WW',
    '--version',
    TARGET,
    '--reboot',
    '--rollback',
    'sometimes',
    serial!,
  );
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('rollback');
  const safety = [
    '--health-check',
    '{"settle_seconds":0,"probes":2,"interval_seconds":1}',
    '--rollback',
    'on_failure',
    '--task-retries',
    '{"max":1,"on":["failed"]}',
  ];
  const created = await json<Record<string, unknown>>(
    'upgrade',
    '--product',
    'WW',
    '--version',
    TARGET,
    '--reboot',
    ...safety,
    serial!,
  );
  expect(created).toMatchObject({
    health_check: { settle_seconds: 0, probes: 2, interval_seconds: 1 },
    rollback: 'on_failure',
    task_retries: { max: 1, on: ['failed'] },
  });
  const watched = await background('status', String(created.id), '--watch', '--interval', '0.2').ended;
  expect(watched.code).toBe(0);
  expect(watched.stdout).toContain('safety: ');
  expect(watched.stdout.trim().split('\n').at(-1)).toMatch(/operation successful/);
});
