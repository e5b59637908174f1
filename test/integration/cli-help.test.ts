/**
 * The fleet CLI as a process, without a stack: every command's --help (its own options, exit 0),
 * usage errors (exit 2, the message and the command's usage on stderr), and the README's CLI
 * section, which is generated from the same definitions (`fleet reference`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import type { FleetCommand } from '../../client/cli/common';
import { buildProgram, leaves } from '../../client/cli/program';

jest.setTimeout(180_000);

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'fleet-cli-help-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Nothing listens on port 1: a command that reached Temporal or the device API would fail (exit 1), not pass.
const env = {
  ...process.env,
  FLEET_STORE_URL: `sqlite:${join(dir, 'fleet.db')}`,
  FLEET_TEMPORAL_ADDRESS: '127.0.0.1:1',
  FLEET_DEVICE_API_URL: 'http://127.0.0.1:1',
  FLEET_LOG_LEVEL: 'warn',
};
const fleet = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'client/cli.ts'), ...args], { cwd: root, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

/** A few processes at once (2 cores). */
async function inTurns<T, R>(items: readonly T[], each: (item: T) => Promise<R>, atOnce = 3): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += atOnce)
    results.push(...(await Promise.all(items.slice(i, i + atOnce).map(each))));
  return results;
}

const commandPath = (cmd: Command): string[] => (cmd as FleetCommand).path().split(' ').slice(1);

test('every command has its own --help: its usage, description and each of its options, exit 0', async () => {
  const commands = leaves(buildProgram());
  expect(commands.map((c) => commandPath(c).join(' '))).toEqual(
    expect.arrayContaining([
      'devices',
      'upgrade',
      'downgrade',
      'reboot',
      'operations',
      'status',
      'logs',
      'cancel',
      'pause',
      'resume',
      'inventory sync',
      'inventory list',
      'inventory import',
      'collectors sync',
      'collectors upgrade',
      'collectors status',
      'collectors targets',
      'keys create',
      'keys list',
      'keys revoke',
      'keys rotate',
      'audit',
    ]),
  );
  const helps = await inTurns(commands, (cmd) => fleet(...commandPath(cmd), '--help'));
  commands.forEach((cmd, i) => {
    const { code, stdout } = helps[i]!;
    expect([commandPath(cmd).join(' '), code]).toEqual([commandPath(cmd).join(' '), 0]);
    expect(stdout.startsWith(`Usage: fleet ${commandPath(cmd).join(' ')} `)).toBe(true);
    expect(stdout.replace(/\s+/g, ' ')).toContain(cmd.description().replace(/\s+/g, ' '));
    for (const option of cmd.options) expect(stdout).toContain(option.flags);
    expect(stdout).toContain('--json');
  });
  const top = await fleet('--help');
  expect(top.code).toBe(0);
  for (const name of ['devices', 'upgrade', 'status', 'logs', 'operations', 'keys', 'audit'])
    expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  expect(top.stdout).toContain('Exit codes: 0 done, 1 failed (message on stderr), 2 usage error.');
  // A group's help lists its commands.
  expect((await fleet('collectors', '--help')).stdout).toMatch(/^ {2}targets \[options\]/m);
});

test('usage errors exit 2 with the message and the usage of that command; a failure exits 1', async () => {
  const cases: [string[], string, string][] = [
    [[], 'no command given', 'fleet devices'],
    [
      ['frobnicate'],
      "unknown command 'frobnicate' (one of devices, upgrade, downgrade, reboot, operations, status, logs, cancel, pause, resume, approve, reject, retry, inventory, collectors, keys, audit)",
      'fleet devices',
    ],
    [['status'], 'status needs an OPERATION_ID', 'fleet status OPERATION_ID [--kind <KIND>] [--watch]'],
    [
      ['status', '1', '--kind', 'sideways'],
      '--kind must be one of upgrade, downgrade, reboot',
      'fleet status OPERATION_ID',
    ],
    [['status', '1', '--failures', '-1'], '--failures must be a whole number from 0 up', 'fleet status OPERATION_ID'],
    [['logs'], 'logs needs an OPERATION_ID', 'fleet logs OPERATION_ID [--serial <SERIAL>]'],
    [['logs', '1', '--interval', '0'], '--interval must be at least 0.05 seconds', 'fleet logs OPERATION_ID'],
    [
      ['operations', '--status', 'sleeping'],
      '--status must be one of scheduled, running, successful, partially_successful, failed, cancelled',
      'fleet operations [--status <STATUS>]',
    ],
    [['operations', '--kind', 'patch'], '--kind must be one of upgrade, downgrade, reboot', 'fleet operations'],
    [['operations', 'extra'], "operations: unexpected argument 'extra'", 'fleet operations'],
    [
      ['upgrade', '--version', '9.16.0-100', 'S1'],
      '--product is required',
      'fleet upgrade --product <CODE> --version <VERSION_ID> [SERIAL...]',
    ],
    [
      ['upgrade', '--product', 'SH', '--version', '9.16.0-100', '--at', 'soon', 'S1'],
      "--at: 'soon' is neither an ISO 8601 time nor +N[smhd]",
      'fleet upgrade',
    ],
    [
      ['upgrade', '--product', 'SH', '--version', '9.16.0-100', '--rollout', '{', 'S1'],
      '--rollout: not valid JSON',
      'fleet upgrade',
    ],
    [['reboot', '--timeout', '0', 'S1'], '--timeout must be a positive number of seconds', 'fleet reboot'],
    [['cancel'], 'cancel needs an OPERATION_ID', 'fleet cancel OPERATION_ID'],
    [['pause', '1', '--kind', 'x'], '--kind must be one of upgrade, downgrade, reboot', 'fleet pause OPERATION_ID'],
    [['inventory'], 'inventory needs a command: one of sync, list, import', 'fleet inventory sync'],
    [['inventory', 'import'], 'inventory import needs a FILE', 'fleet inventory import FILE'],
    [
      ['collectors', 'upgrade', 'abc'],
      'collectors upgrade needs a COLLECTOR_ID (a number)',
      'fleet collectors upgrade COLLECTOR_ID',
    ],
    [['devices', '--limit', 'many'], '--limit must be a whole number from 0 up', 'fleet devices'],
    [['devices', '--frob'], "devices: unknown option '--frob'", 'fleet devices'],
    [['audit', '--since'], '--since needs a value', 'fleet audit'],
  ];
  const results = await inTurns(cases, ([args]) => fleet(...args));
  cases.forEach(([args, message, usage], i) => {
    const { code, stderr, stdout } = results[i]!;
    expect([args.join(' '), code]).toEqual([args.join(' '), 2]);
    expect(stderr).toContain(`fleet: ${message}\nusage:\n  ${usage}`);
    expect(stdout).toBe('');
  });
  // Not usage errors: an unknown key, Temporal out of reach (exit 1, the message alone).
  expect(await fleet('keys', 'revoke', 'nobody')).toMatchObject({ code: 1, stderr: 'fleet: no access key nobody\n' });
  expect(await fleet('logs', '424242')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^fleet: [^\n]+\n$/) });
});

test("README's CLI section is what the definitions generate (`fleet reference`)", async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = /<!-- fleet-cli-reference:start[^>]*-->\n([\s\S]*?)\n<!-- fleet-cli-reference:end -->/.exec(
    readme,
  )?.[1];
  const generated = await fleet('reference');
  expect(generated.code).toBe(0);
  expect(section).toBe(generated.stdout.trimEnd());
  for (const cmd of leaves(buildProgram())) expect(section).toContain(`| \`fleet ${commandPath(cmd).join(' ')}`);
});
