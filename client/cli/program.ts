/**
 * The fleet CLI's commands: one module each (or per group), registered here in the order help
 * lists them. A new command is a module with a `register(program)` function and one line in
 * COMMANDS; one that asks an operation for something (as pause does) is a single call of
 * `operationCommand` (steer.ts), e.g.
 *   operationCommand(program, 'approve', 'let the rollout go on to its next wave', (client, id, kind) => approveOperation(client, id, kind), { approved: true });
 * Its --help, --json, usage line, audit entry and README row follow from that definition
 * (regenerate the README's table with `npm run -s fleet -- reference`).
 */
import type { Command, Option } from 'commander';
import { registerAudit } from './audit';
import { registerCollectors } from './collectors';
import { FleetCommand } from './common';
import { registerDevices } from './devices';
import { registerInventory } from './inventory';
import { registerKeys } from './keys';
import { registerLogs } from './logs';
import { registerOperate } from './operate';
import { registerOperations } from './operations';
import { registerRolloutSafety } from './rollout-safety';
import { registerStatus } from './status';
import { registerSteer } from './steer';

const COMMANDS: ((program: Command) => void)[] = [
  registerDevices,
  registerOperate,
  registerOperations,
  registerStatus,
  registerLogs,
  registerSteer,
  registerRolloutSafety,
  registerInventory,
  registerCollectors,
  registerKeys,
  registerAudit,
];

export const EXIT_CODES = 'Exit codes: 0 done, 1 failed (message on stderr), 2 usage error.';

/** The program: commands, options, help. Nothing runs until it parses arguments. */
export function buildProgram(): FleetCommand {
  const program = new FleetCommand('fleet')
    .description(
      'Upgrade, downgrade and reboot fleets of appliances on Temporal (FLEET_TEMPORAL_ADDRESS), with the store at FLEET_STORE_URL.',
    )
    .addHelpText('after', `\nChanges made here are recorded in the audit trail (actor cli:<os user>).\n${EXIT_CODES}`)
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    // Defaults that say something (not a flag's `false`).
    .configureHelp({
      optionDescription: (o) => `${o.description}${shownDefault(o) ? ` (default ${shownDefault(o)})` : ''}`,
    });
  for (const register of COMMANDS) register(program);
  for (const cmd of leaves(program)) cmd.option('--json', 'print JSON (machine-readable) instead of text', false);
  return program;
}

const shownDefault = (o: Option): string | undefined =>
  o.defaultValue === undefined || o.defaultValue === false || o.defaultValue === ''
    ? undefined
    : String(o.defaultValue);

/** Every command that runs something (not a group), depth first in help order. */
export function leaves(cmd: Command): Command[] {
  const visible = cmd
    .createHelp()
    .visibleCommands(cmd)
    .filter((c) => c.name() !== 'help');
  return visible.length ? visible.flatMap(leaves) : [cmd];
}

const options = (cmd: Command): readonly Option[] =>
  cmd
    .createHelp()
    .visibleOptions(cmd)
    .filter((o) => o.long !== '--help');

/** `fleet keys create --id <ACCESS_ID> [--role <ROLE>] [--json]`: the command line, from its definition. */
export function synopsis(cmd: Command): string {
  const path = (cmd as FleetCommand).path();
  const mandatory = options(cmd)
    .filter((o) => o.mandatory)
    .map((o) => o.flags);
  const optional = options(cmd)
    .filter((o) => !o.mandatory)
    .map((o) => `[${o.flags}]`);
  const args = cmd.registeredArguments.map((a) => {
    const name = `${a.name()}${a.variadic ? '...' : ''}`;
    return a.required ? name : `[${name}]`;
  });
  return [path, ...mandatory, ...args, ...optional].join(' ');
}

/** The usage of one command, or of every command under it. */
export function usage(cmd: Command): string {
  const lines = leaves(cmd).map((c) => `  ${synopsis(c)}`);
  return `usage:\n${lines.join('\n')}\n('${(cmd as FleetCommand).path()} --help' says more)`;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** The README's CLI reference: a row per command, its options described. */
export function markdownReference(program: Command): string {
  const rows = leaves(program).map((cmd) => {
    const described = options(cmd)
      .filter((o) => o.long !== '--json')
      .map((o) => `\`${o.flags}\` ${o.description}${shownDefault(o) ? ` (default ${shownDefault(o)})` : ''}`);
    return `| \`${cell(synopsis(cmd))}\` | ${cell([cmd.description(), ...described].join('; '))} |`;
  });
  return ['| command | does |', '|---|---|', ...rows].join('\n');
}
