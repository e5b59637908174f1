/**
 * What every fleet command shares: the command class (usage errors in the CLI's own words), option
 * parsing, the audit trail of CLI changes, and printing (`--json` or a table).
 */
import { userInfo } from 'node:os';
import { Command, type HelpContext, type Option } from 'commander';
import { AccessKeyError } from '../../api/access-keys';
import { cliAuditRecord } from '../../api/audit';
import { SCC_PREFIXES } from '../../api/scc-routes';
import { loadConfig, type FleetConfig } from '../../domain/config';
import { OPERATION_KINDS, type OperationKind } from '../../domain/operation';
import { FleetStore } from '../../store/fleet-store';
import { CollectorUpgradeError } from '../collector-upgrades';
import { InvalidRequestError, OperationConflictError, OperationNotFoundError, TaskNotFoundError } from '../operations';

/** Wrong use of the CLI: exit 2, the message and the command's usage on stderr. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage is shown (the one that ran, when not given). */
    readonly command?: Command,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

const article = (name: string): string => (/^[AEIOU]/i.test(name) ? 'an' : 'a');

/**
 * commander's Command with its parse errors as UsageErrors in this CLI's words
 * (`keys revoke needs an ACCESS_ID`, `--version is required`).
 */
export class FleetCommand extends Command {
  override createCommand(name?: string): FleetCommand {
    return new FleetCommand(name);
  }

  /** The command as typed: `fleet keys revoke`. */
  path(): string {
    const names = [this.name()];
    for (let cmd = this.parent; cmd; cmd = cmd.parent) names.unshift(cmd.name());
    return names.join(' ');
  }

  /** Its path without `fleet`, as messages name it. */
  private shortPath(): string {
    return this.path().replace(/^fleet ?/, '');
  }

  missingArgument(name: string): never {
    throw new UsageError(`${this.shortPath()} needs ${article(name)} ${name}`, this);
  }

  missingMandatoryOptionValue(option: Option): never {
    throw new UsageError(`${option.long ?? option.flags} is required`, this);
  }

  optionMissingArgument(option: Option): never {
    throw new UsageError(`${option.long ?? option.flags} needs a value`, this);
  }

  unknownOption(flag: string): void {
    if ((this as unknown as { _allowUnknownOption: boolean })._allowUnknownOption) return;
    throw new UsageError(`${this.shortPath() || 'fleet'}: unknown option '${flag}'`, this);
  }

  unknownCommand(): never {
    const given = this.args[0];
    throw new UsageError(
      `${this.shortPath() ? `${this.shortPath()}: ` : ''}unknown command '${given}' (one of ${this.visibleNames().join(', ')})`,
      this,
    );
  }

  /** A command of commands given none of them: a usage error naming them (help itself is `--help`). */
  override help(context?: HelpContext): never;
  override help(cb: (str: string) => string): never;
  override help(context?: HelpContext | ((str: string) => string)): never {
    if (typeof context === 'object' && context.error && this.commands.length)
      throw new UsageError(
        this.parent
          ? `${this.shortPath()} needs a command: one of ${this.visibleNames().join(', ')}`
          : 'no command given',
        this,
      );
    return super.help(context as HelpContext);
  }

  private visibleNames(): string[] {
    return this.createHelp()
      .visibleCommands(this)
      .map((c) => c.name())
      .filter((n) => n !== 'help');
  }

  _excessArguments(received: string[]): void {
    if ((this as unknown as { _allowExcessArguments: boolean })._allowExcessArguments) return;
    throw new UsageError(
      `${this.shortPath()}: unexpected argument '${received[this.registeredArguments.length] ?? received.at(-1)}'`,
      this,
    );
  }
}

/** A command that runs something (every one also takes `--json`, added last by program.ts). */
export function leaf(parent: Command, name: string, description: string): FleetCommand {
  return (parent.command(name) as FleetCommand).description(description);
}

/** A command of commands (`inventory`, `collectors`, `keys`). */
export function group(parent: Command, name: string, description: string): FleetCommand {
  return (parent.command(name) as FleetCommand).description(description);
}

/** Configuration is read when a command runs (so `--help` works with any environment). */
export const config = (): FleetConfig => loadConfig();

export const kindOption = (
  cmd: Command,
  fallback: OperationKind | undefined = 'upgrade',
  what = "the operation's kind",
): Command => cmd.option('--kind <KIND>', `${what}: ${OPERATION_KINDS.join(', ')}`, fallback);

export function parseKind(value: string | undefined): OperationKind | undefined {
  if (value === undefined) return undefined;
  if (!(OPERATION_KINDS as readonly string[]).includes(value))
    throw new UsageError(`--kind must be one of ${OPERATION_KINDS.join(', ')}`);
  return value as OperationKind;
}

/** `+6h`, `+30m`, `+90s` or an ISO 8601 instant → seconds since the epoch. */
export function parseWhen(value: string, nowMs = Date.now(), option = '--at'): number {
  const relative = /^\+(\d+)([smhd])$/.exec(value);
  if (relative) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return Math.floor(nowMs / 1000) + Number(relative[1]) * unit;
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${option}: '${value}' is neither an ISO 8601 time nor +N[smhd]`);
  return Math.floor(ms / 1000);
}

/** `--timeout SECONDS`: a task's time limit (an operation's appliance tasks, a collector upgrade). */
export function parseTimeoutSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!(seconds > 0)) throw new UsageError('--timeout must be a positive number of seconds');
  return seconds;
}

/** A whole number option within bounds. */
export function parseCount(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      `${name} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`,
    );
  return n;
}

export function parseJsonOption(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--${name}: not valid JSON`);
  }
}

/** The OS user the CLI runs as: its audit entries' actor is `cli:<user>`. */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

/** What the audit trail records of a CLI change: the command, the resource (its API path), chosen details. */
export interface AuditSubject {
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

/** A refused or failed change in the API's words: `refused <error code>` (and the field), else `failed`. */
function refusal(err: unknown): { outcome: string; details: Record<string, unknown> } {
  if (err instanceof InvalidRequestError) return { outcome: 'refused INVALID_REQUEST', details: { field: err.field } };
  if (err instanceof OperationNotFoundError || err instanceof TaskNotFoundError)
    return { outcome: 'refused NOT_FOUND', details: {} };
  if (err instanceof AccessKeyError)
    return {
      outcome: `refused ${err.reason === 'exists' ? 'ACCESS_KEY_EXISTS' : err.reason === 'expiry_past' ? 'INVALID_REQUEST' : 'NOT_FOUND'}`,
      details: {},
    };
  if (err instanceof CollectorUpgradeError || err instanceof OperationConflictError)
    return { outcome: `refused ${err.code}`, details: {} };
  return { outcome: 'failed', details: {} };
}

/**
 * Records one CLI entry in the store's audit trail (the given store, else FLEET_STORE_URL's). A
 * failed write never undoes or fails the change: it is said on stderr.
 */
async function recordAudit(
  cfg: FleetConfig,
  store: FleetStore | undefined,
  subject: AuditSubject,
  outcome: string,
): Promise<void> {
  let own: FleetStore | undefined;
  try {
    own = store ? undefined : await FleetStore.open(cfg.FLEET_STORE_URL);
    await (store ?? own)!.recordAudit(
      cliAuditRecord(osUser(), subject.action, subject.target, outcome, subject.details ?? {}),
    );
  } catch (err) {
    console.error(
      `fleet: warning: the audit trail did not record ${subject.action} ${subject.target}: ${(err as Error).message}`,
    );
  } finally {
    await own?.close().catch(() => undefined);
  }
}

/**
 * Runs a change and records it: after success (`ok`, with what `after` adds, e.g. the created id),
 * and when refused or failed (then the error goes on to the caller). Usage errors are not changes.
 */
export async function audited<T>(
  cfg: FleetConfig,
  store: FleetStore | undefined,
  subject: AuditSubject,
  change: () => Promise<T>,
  after: (result: T) => Partial<AuditSubject> & { outcome?: string } = () => ({}),
): Promise<T> {
  let result: T;
  try {
    result = await change();
  } catch (err) {
    if (!(err instanceof UsageError)) {
      const { outcome, details } = refusal(err);
      await recordAudit(cfg, store, { ...subject, details: { ...subject.details, ...details } }, outcome);
    }
    throw err;
  }
  const more = after(result);
  await recordAudit(
    cfg,
    store,
    { ...subject, ...more, details: { ...subject.details, ...more.details } },
    more.outcome ?? 'ok',
  );
  return result;
}

/** Runs `use` with the store at FLEET_STORE_URL, closed afterwards. */
export async function withStore<T>(cfg: FleetConfig, use: (store: FleetStore) => Promise<T>): Promise<T> {
  const store = await FleetStore.open(cfg.FLEET_STORE_URL);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

export const operationPath = (kind: OperationKind, id?: string, serial?: string): string =>
  `${SCC_PREFIXES[0]}/operations/${kind}${id !== undefined ? `/${id}` : ''}${serial !== undefined ? `/appliances/${serial}` : ''}`;

/** `--json`: the value as JSON; else the text. */
export function print(json: boolean, value: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(value) : text());
}

/** Rows as columns two spaces apart, each as wide as its widest cell (the last one not padded). */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

export const isoTime = (seconds: number | undefined): string =>
  seconds === undefined ? '-' : new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
