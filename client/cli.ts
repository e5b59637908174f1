/**
 * The fleet CLI: `npm run fleet -- <command>`.
 *
 *   fleet devices [--product CODE] [--limit N]                    serials the device API serves (the simulator's fleet)
 *   fleet upgrade|downgrade --product SH --version 9.14.2-100 [--at ISO|+6h] [--local] [--reboot [--reboot-at WHEN]] SERIAL...
 *   fleet reboot [--switch-partition] [--at WHEN] [--local] SERIAL...
 *   fleet status OPERATION_ID [--kind KIND] [--watch] [--json]
 *   fleet cancel OPERATION_ID [--kind KIND] [--serial SERIAL]
 *   fleet pause|resume OPERATION_ID [--kind KIND]
 *   fleet approve|reject OPERATION_ID [--kind KIND]   |   fleet retry OPERATION_ID [--kind KIND] [--json]
 *   fleet inventory sync | list [--product CODE] [--json] | import FILE
 *   fleet collectors sync | upgrade COLLECTOR_ID [--to VERSION] [--timeout SECONDS] | status TASK_ID [--watch] | targets [--set V1,V2,…]
 *   fleet keys create --id ID --role ROLE [--expires DATE] | list [--json] | revoke ID | rotate ID
 *   fleet audit [--since ISO|SECONDS] [--id ACTOR] [--limit N] [--json]
 *
 * Changes made here (operations created, cancelled, paused, resumed, a task cancelled, a collector
 * upgrade created, access keys created, revoked, rotated) are recorded in the store's audit trail
 * as the API's are, with actor `cli:<os user>` and client `cli`: after success, and when refused.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { DeviceClient } from '../activities/device-client';
import { AccessKeyError, createAccessKey, listAccessKeys, revokeAccessKey, rotateAccessKey } from '../api/access-keys';
import { ADMIN_PREFIX } from '../api/admin-routes';
import { auditView, cliAuditRecord } from '../api/audit';
import { SCC_PREFIXES } from '../api/scc-routes';
import { SUMO_PREFIX } from '../api/sumo-routes';
import { accessId as accessIdSchema, ROLES, type AccessKeyCreated, type Role } from '../domain/access';
import { loadConfig, type FleetConfig } from '../domain/config';
import { parseInventoryFile } from '../domain/inventory';
import { OPERATION_KINDS, OPERATION_TIME_FIELD, type OperationKind } from '../domain/operation';
import { safetySummary } from '../domain/rollout-safety';
import type { ProductCode } from '../domain/scc';
import { UPGRADE_TASK_STATUS_TEXT } from '../domain/sumo';
import { ineligibleAppliances } from '../store/fleet-facts';
import { FleetStore } from '../store/fleet-store';
import { recordLoaded } from '../store/readiness';
import { collectorTargets, CollectorUpgradeError, createCollectorUpgrade, setCollectorTargets, syncCollectors } from './collector-upgrades';
import { runInventoryRefresh } from './inventory';
import {
  cancelApplianceTask,
  cancelOperation,
  connectClient,
  createOperation,
  getOperation,
  InvalidRequestError,
  decideApproval,
  isTerminal,
  OperationConflictError,
  OperationNotFoundError,
  retryOperation,
  setOperationPaused,
  withStoredSafety,
  TaskNotFoundError,
  type OperationView,
} from './operations';

const USAGE = `usage:
  fleet devices [--product CODE] [--limit N]
  fleet upgrade --product CODE --version VERSION_ID [--at ISO8601|+6h|+30m] [--local] [--reboot [--reboot-at WHEN]]
                [--comment TEXT] [--rollout JSON] [--timeout SECONDS] [--json] SERIAL...
  fleet downgrade …                            the same options as upgrade, to an older version
  fleet reboot [--switch-partition] [--at WHEN] [--local] [--comment TEXT] [--timeout SECONDS] [--json] SERIAL...
                                               --local: the time is each appliance's own wall-clock time
  fleet status OPERATION_ID [--kind upgrade|downgrade|reboot] [--watch] [--json]
  fleet cancel OPERATION_ID [--kind KIND] [--serial SERIAL]     the whole operation, or one appliance's task
  fleet pause OPERATION_ID | fleet resume OPERATION_ID [--kind KIND]
  fleet approve OPERATION_ID | fleet reject OPERATION_ID [--kind KIND] [--user NAME]
                                               the approval the rollout waits for after a wave (rollout.approval)
  fleet retry OPERATION_ID [--kind KIND] [--user NAME] [--json]
                                               a new operation over the appliances whose tasks did not succeed
  fleet inventory sync                         discover devices and refresh every appliance into the store now
  fleet inventory list [--product CODE] [--json]
  fleet inventory import FILE                  appliances (with connection details) and collectors from a JSON file
  fleet collectors sync                        read every Sumo collector the device API serves into the store
  fleet collectors upgrade COLLECTOR_ID [--to VERSION] [--timeout SECONDS] [--json]
                                               upgrade (or downgrade) a collector; default: the latest build
  fleet collectors status TASK_ID [--watch] [--json]
  fleet collectors targets [--set V1,V2,...] [--json]   the available collector builds (or replace them)
  fleet keys create --id ACCESS_ID --role ROLE [--expires YYYY-MM-DD|ISO8601] [--json]
                                               a new API access key (role: ${ROLES.join(', ')}); the key is shown once
  fleet keys list [--json]                     every access key: id, role, status, created, last used, expiry (never the key)
  fleet keys revoke ACCESS_ID                  refused by the API from the next request on
  fleet keys rotate ACCESS_ID [--json]         a new key for the access id (the old one stops working); shown once
  fleet audit [--since ISO8601|SECONDS] [--id ACTOR] [--limit N] [--json]
                                               the audit trail, oldest first: every change and refused attempt (API and CLI)`;

class UsageError extends Error {}

/** `+6h`, `+30m`, `+90s` or an ISO 8601 instant → seconds since the epoch. */
export function parseWhen(value: string, nowMs = Date.now()): number {
  const relative = /^\+(\d+)([smhd])$/.exec(value);
  if (relative) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return Math.floor(nowMs / 1000) + Number(relative[1]) * unit;
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`--at: '${value}' is neither an ISO 8601 time nor +N[smhd]`);
  return Math.floor(ms / 1000);
}

/** `--timeout SECONDS`: a task's time limit (an operation's appliance tasks, a collector upgrade). */
function parseTimeoutSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!(seconds > 0)) throw new UsageError('--timeout must be a positive number of seconds');
  return seconds;
}

function parseJsonOption(name: string, text: string): unknown {
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
interface AuditSubject {
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

/** A refused or failed change in the API's words: `refused <error code>` (and the field), else `failed`. */
function refusal(err: unknown): { outcome: string; details: Record<string, unknown> } {
  if (err instanceof InvalidRequestError) return { outcome: 'refused INVALID_REQUEST', details: { field: err.field } };
  if (err instanceof OperationNotFoundError || err instanceof TaskNotFoundError) return { outcome: 'refused NOT_FOUND', details: {} };
  if (err instanceof AccessKeyError) return { outcome: `refused ${err.reason === 'exists' ? 'ACCESS_KEY_EXISTS' : err.reason === 'expiry_past' ? 'INVALID_REQUEST' : 'NOT_FOUND'}`, details: {} };
  if (err instanceof CollectorUpgradeError) return { outcome: `refused ${err.code}`, details: {} };
  if (err instanceof OperationConflictError) return { outcome: `refused ${err.code}`, details: {} };
  return { outcome: 'failed', details: {} };
}

/**
 * Records one CLI entry in the store's audit trail (the given store, else FLEET_STORE_URL's). A
 * failed write never undoes or fails the change: it is said on stderr.
 */
async function recordAudit(config: FleetConfig, store: FleetStore | undefined, subject: AuditSubject, outcome: string): Promise<void> {
  let own: FleetStore | undefined;
  try {
    own = store ? undefined : await FleetStore.open(config.FLEET_STORE_URL);
    await (store ?? own)!.recordAudit(cliAuditRecord(osUser(), subject.action, subject.target, outcome, subject.details ?? {}));
  } catch (err) {
    console.error(`fleet: warning: the audit trail did not record ${subject.action} ${subject.target}: ${(err as Error).message}`);
  } finally {
    await own?.close().catch(() => undefined);
  }
}

/**
 * Runs a change and records it: after success (`ok`, with what `after` adds, e.g. the created id),
 * and when refused or failed (then the error goes on to the caller). Usage errors are not changes.
 */
async function audited<T>(config: FleetConfig, store: FleetStore | undefined, subject: AuditSubject, change: () => Promise<T>, after: (result: T) => Partial<AuditSubject> & { outcome?: string } = () => ({})): Promise<T> {
  let result: T;
  try {
    result = await change();
  } catch (err) {
    if (!(err instanceof UsageError)) {
      const { outcome, details } = refusal(err);
      await recordAudit(config, store, { ...subject, details: { ...subject.details, ...details } }, outcome);
    }
    throw err;
  }
  const more = after(result);
  await recordAudit(config, store, { ...subject, ...more, details: { ...subject.details, ...more.details } }, more.outcome ?? 'ok');
  return result;
}

const operationPath = (kind: OperationKind, id?: string, serial?: string): string =>
  `${SCC_PREFIXES[0]}/operations/${kind}${id !== undefined ? `/${id}` : ''}${serial !== undefined ? `/appliances/${serial}` : ''}`;

export function formatOperation(view: OperationView): string {
  const { operation, tasks } = view;
  const lines = [
    `operation ${operation.id}  ${operation.target_version ? `to ${operation.target_version.version_id}  ${operation.product_code}` : `reboot${operation.switch_partition ? ' (switch partition)' : ''}`}  status: ${operation.status}`,
    `created ${operation.create_time} by ${operation.username}${operation.comment ? `  comment: ${operation.comment}` : ''}`,
    ...[safetySummary(operation)].filter((l) => l !== undefined).map((l) => `safety: ${l}`),
    '',
    `${'SERIAL'.padEnd(16)}${'STATUS'.padEnd(12)}${'STAGE'.padEnd(14)}MESSAGE`,
    ...tasks.map((t) => `${t.serial.padEnd(16)}${t.status.padEnd(12)}${t.stage.padEnd(14)}${t.message ?? ''}`),
  ];
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  lines.push('', [...counts].map(([status, n]) => `${n} ${status}`).join(', '));
  lines.push(...rolloutSafetyLines(view));
  return lines.join('\n');
}

/** What `status` says of the rollout's gates and retry links (README "Rollout safety"). */
function rolloutSafetyLines({ operation, hold }: OperationView): string[] {
  const approval = operation.approval as { state: string; after_wave: number; timeout_time?: number; decided_by?: string } | undefined;
  const at = (seconds: number) => new Date(seconds * 1000).toISOString();
  return [
    ...(!isTerminal(operation.status) && (hold === 'awaiting_approval' || approval?.state === 'awaiting') ? [`rollout: awaiting approval after wave ${approval?.after_wave ?? '?'}${approval?.timeout_time ? ` (until ${at(approval.timeout_time)})` : ''}: fleet approve|reject ${operation.id}`] : []),
    ...(approval && approval.state !== 'awaiting' ? [`approval after wave ${approval.after_wave}: ${approval.state}${approval.decided_by ? ` by ${approval.decided_by}` : ''}`] : []),
    ...(!isTerminal(operation.status) && (hold === 'paused' || operation.paused === true) ? [`rollout: paused${operation.pause_reason ? `: ${String(operation.pause_reason)}` : ''}`] : []),
    ...(operation.stop_reason ? [`rollout stopped: ${String(operation.stop_reason).replace(/^rollout (stopped: )?/, '')}`] : []),
    ...(operation.retry_of ? [`retry of operation ${String(operation.retry_of)}`] : []),
    ...(operation.retried_by ? [`retried by operation ${String(operation.retried_by)}`] : []),
  ];
}

async function run(argv: string[], config: FleetConfig): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      product: { type: 'string' },
      version: { type: 'string' },
      at: { type: 'string' },
      reboot: { type: 'boolean', default: false },
      comment: { type: 'string', default: '' },
      user: { type: 'string', default: process.env.USER ?? 'fleet-cli' },
      watch: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      serial: { type: 'string' },
      rollout: { type: 'string' },
      local: { type: 'boolean', default: false },
      'reboot-at': { type: 'string' },
      'switch-partition': { type: 'boolean', default: false },
      kind: { type: 'string', default: 'upgrade' },
      to: { type: 'string' },
      timeout: { type: 'string' },
      set: { type: 'string' },
      id: { type: 'string' },
      role: { type: 'string' },
      expires: { type: 'string' },
      since: { type: 'string' },
    },
  });
  if (!(OPERATION_KINDS as readonly string[]).includes(values.kind)) throw new UsageError(`--kind must be one of ${OPERATION_KINDS.join(', ')}`);
  const kind = values.kind as OperationKind;
  const when = (value: string) => ({ datetime: parseWhen(value), time_type: values.local ? 'local' : 'utc' });

  switch (command) {
    case 'devices': {
      const serials = await new DeviceClient({ baseUrl: config.FLEET_DEVICE_API_URL }).listSerials(values.product);
      const limit = values.limit ? Number(values.limit) : serials.length;
      console.log(serials.slice(0, limit).join('\n'));
      return;
    }
    case 'upgrade':
    case 'downgrade':
    case 'reboot': {
      if (command !== 'reboot' && !values.product) throw new UsageError('--product is required');
      if (command !== 'reboot' && !values.version) throw new UsageError('--version is required');
      const timeout = parseTimeoutSeconds(values.timeout);
      const limit = timeout !== undefined ? { task_timeout: timeout } : {};
      const body =
        command === 'reboot'
          ? { switch_partition: values['switch-partition'], comment: values.comment, appliances: positionals, ...(values.at ? { reboot_time: when(values.at) } : {}), ...limit }
          : {
              product_code: values.product,
              target_version: { version_id: values.version },
              reboot: values.reboot,
              comment: values.comment,
              appliances: positionals,
              ...(values.at ? { [OPERATION_TIME_FIELD[command]]: when(values.at) } : {}),
              ...(values['reboot-at'] ? { reboot_time: when(values['reboot-at']) } : {}),
              ...(values.rollout ? { rollout: parseJsonOption('rollout', values.rollout) } : {}),
              ...limit,
            };
      // Eligibility and local times come from the inventory.
      const store = await FleetStore.open(config.FLEET_STORE_URL);
      try {
        const { operation, linked } = await audited(
          config,
          store,
          // `username`: the operation's (--user), beside the OS user the actor names.
          { action: `fleet ${command}`, target: operationPath(command), details: { username: values.user } },
          async () =>
            createOperation(await connectClient(config), command, body, {
              taskQueue: config.FLEET_TASK_QUEUE,
              username: values.user,
              timeZones: (serials) => store.timeZones(serials),
              eligibility: (kind, request) => ineligibleAppliances(store, kind, request),
            }),
          (created) => ({ details: { created_id: created.operation.id, ...(created.linked ? { reboot_id: created.linked.operation.id } : {}) } }),
        );
        const web = (k: string, id: string) => `http://localhost:${config.FLEET_TEMPORAL_UI_PORT}/namespaces/${config.FLEET_TEMPORAL_NAMESPACE}/workflows/${k}-${id}`;
        const what = operation.target_version ? ` to ${operation.target_version.version_id}` : '';
        console.log(
          values.json
            ? JSON.stringify(linked ? { operation, reboot_operation: linked.operation } : operation, null, 2)
            : [
                `operation ${operation.id} ${operation.status}: ${command} of ${operation.appliances.length} appliance(s)${what}`,
                ...(linked ? [`reboot operation ${linked.operation.id} follows it at the reboot time`] : []),
                `watch it: npm run fleet -- status ${operation.id}${command === 'upgrade' ? '' : ` --kind ${command}`} --watch`,
                `Web UI:   ${web(command, operation.id)}`,
              ].join('\n'),
        );
      } finally {
        await store.close();
      }
      return;
    }
    case 'status': {
      const id = positionals[0];
      if (!id) throw new UsageError('status needs an OPERATION_ID');
      const client = await connectClient(config);
      const store = await FleetStore.open(config.FLEET_STORE_URL).catch(() => undefined);
      for (;;) {
        const read = await getOperation(client, id, kind);
        const view = store ? await withStoredSafety(read, store, kind) : read;
        if (values.json) console.log(JSON.stringify(view));
        else console.log(`${values.watch ? '\x1b[2J\x1b[H' : ''}${formatOperation(view)}`);
        if (!values.watch || isTerminal(view.operation.status)) return void (await store?.close());
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    case 'cancel': {
      const id = positionals[0];
      if (!id) throw new UsageError('cancel needs an OPERATION_ID');
      if (values.serial) {
        const serial = values.serial;
        const status = await audited(
          config,
          undefined,
          { action: 'fleet cancel --serial', target: operationPath(kind, id, serial), details: { id, serial } },
          async () => cancelApplianceTask(await connectClient(config), id, serial, kind),
          // A task that had already finished is not changed: the API's 409 ALREADY_FINISHED.
          (status) => (status === 'cancelled' ? {} : { outcome: 'refused ALREADY_FINISHED', details: { status } }),
        );
        console.log(status === 'cancelled' ? `cancel requested for ${serial} in operation ${id}` : `${serial} had already finished: ${status}`);
        return;
      }
      await audited(config, undefined, { action: 'fleet cancel', target: operationPath(kind, id), details: { id } }, async () => cancelOperation(await connectClient(config), id, kind));
      console.log(`cancel requested for operation ${id}`);
      return;
    }
    case 'pause':
    case 'resume': {
      const id = positionals[0];
      if (!id) throw new UsageError(`${command} needs an OPERATION_ID`);
      await audited(config, undefined, { action: `fleet ${command}`, target: operationPath(kind, id), details: { id } }, async () => setOperationPaused(await connectClient(config), id, command === 'pause', kind));
      console.log(`${command} requested for operation ${id}`);
      return;
    }
    case 'approve':
    case 'reject': {
      const id = positionals[0];
      if (!id) throw new UsageError(`${command} needs an OPERATION_ID`);
      const approval = await audited(config, undefined, { action: `fleet ${command}`, target: `${operationPath(kind, id)}/${command}`, details: { id } }, async () =>
        decideApproval(await connectClient(config), id, { approve: command === 'approve', username: values.user }, kind),
      );
      console.log(`operation ${id}: approval after wave ${approval.after_wave} ${approval.state}`);
      return;
    }
    case 'retry': {
      const id = positionals[0];
      if (!id) throw new UsageError('retry needs an OPERATION_ID');
      const store = await FleetStore.open(config.FLEET_STORE_URL);
      try {
        const { operation } = await audited(
          config,
          store,
          { action: 'fleet retry', target: `${operationPath(kind, id)}/retry`, details: { id, username: values.user } },
          async () => retryOperation(await connectClient(config), store, kind, id, { taskQueue: config.FLEET_TASK_QUEUE, username: values.user, timeZones: (serials) => store.timeZones(serials), eligibility: (k, request) => ineligibleAppliances(store, k, request) }),
          (created) => ({ details: { created_id: created.operation.id } }),
        );
        console.log(values.json ? JSON.stringify(operation, null, 2) : `operation ${operation.id} ${operation.status}: retry of ${id} over ${operation.appliances.length} appliance(s)`);
      } finally {
        await store.close();
      }
      return;
    }
    case 'inventory': {
      const sub = positionals[0];
      if (sub === 'sync') {
        const result = await runInventoryRefresh(await connectClient(config), config.FLEET_TASK_QUEUE);
        console.log(values.json ? JSON.stringify(result) : `${result.appliances} appliances (${result.discovered} new): ${result.connected} connected, ${result.disconnected} disconnected`);
        return;
      }
      if (sub === 'list') {
        const store = await FleetStore.open(config.FLEET_STORE_URL);
        try {
          const appliances = await store.listAppliances(values.product ? { product_code: values.product as ProductCode } : {});
          if (values.json) console.log(JSON.stringify(appliances));
          else {
            console.log(`${'SERIAL'.padEnd(16)}${'PRODUCT'.padEnd(9)}${'ARCH'.padEnd(8)}${'VERSION'.padEnd(14)}${'CONNECTED'.padEnd(11)}HOSTNAME`);
            for (const a of appliances) console.log(`${a.serial.padEnd(16)}${a.product_code.padEnd(9)}${String(a.arch ?? '').padEnd(8)}${String(a.current_version?.version_id ?? '').padEnd(14)}${String(a.connected).padEnd(11)}${String(a.hostname ?? '')}`);
          }
        } finally {
          await store.close();
        }
        return;
      }
      if (sub === 'import') {
        const file = positionals[1];
        if (!file) throw new UsageError('inventory import needs a FILE');
        const { readFileSync } = await import('node:fs');
        const inventory = parseInventoryFile(readFileSync(file, 'utf8'));
        const store = await FleetStore.open(config.FLEET_STORE_URL);
        try {
          const counts = await store.importInventory(inventory);
          await recordLoaded(store, 'inventory');
          console.log(`imported ${counts.appliances} appliance(s) and ${counts.collectors} collector(s)`);
        } finally {
          await store.close();
        }
        return;
      }
      throw new UsageError(`inventory needs 'sync', 'list' or 'import FILE'`);
    }
    case 'collectors':
      return collectorsCommand(positionals, values, config);
    case 'keys':
      return keysCommand(positionals, values, config);
    case 'audit':
      return auditCommand(positionals, values, config);
    default:
      throw new UsageError(command ? `unknown command '${command}'` : 'no command given');
  }
}

/** `fleet collectors …`: Sumo collector upgrade tasks, with the same rules as `POST /api/v1/collectors/upgrades`. */
async function collectorsCommand(
  positionals: string[],
  values: { to?: string | undefined; timeout?: string | undefined; set?: string | undefined; watch: boolean; json: boolean },
  config: FleetConfig,
): Promise<void> {
  const [sub, arg] = positionals;
  const store = await FleetStore.open(config.FLEET_STORE_URL);
  try {
    switch (sub) {
      case 'sync': {
        const result = await syncCollectors(new DeviceClient({ baseUrl: config.FLEET_DEVICE_API_URL }), store);
        console.log(values.json ? JSON.stringify(result) : `${result.collectors} collectors (${result.alive} alive) in the store`);
        return;
      }
      case 'upgrade': {
        if (!arg || !/^[1-9]\d{0,15}$/.test(arg)) throw new UsageError('collectors upgrade needs a COLLECTOR_ID (a number)');
        const timeout = parseTimeoutSeconds(values.timeout);
        const timeoutMs = timeout !== undefined ? timeout * 1000 : undefined;
        let task;
        try {
          task = await audited(
            config,
            store,
            { action: 'fleet collectors upgrade', target: `${SUMO_PREFIX}/collectors/upgrades`, details: { collector_id: Number(arg) } },
            async () =>
              createCollectorUpgrade(await connectClient(config), store, { collectorId: Number(arg), ...(values.to !== undefined ? { toVersion: values.to } : {}) }, { taskQueue: config.FLEET_TASK_QUEUE, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }),
            (created) => ({ details: { created_id: String(created.id) } }),
          );
        } catch (err) {
          if (err instanceof CollectorUpgradeError) throw new Error(`${err.code}: ${err.message}`);
          throw err;
        }
        console.log(
          values.json
            ? JSON.stringify(task)
            : [`upgrade task ${task.id} created: collector ${task.collectorId} to ${task.toVersion}`, `watch it: npm run fleet -- collectors status ${task.id} --watch`].join('\n'),
        );
        return;
      }
      case 'status': {
        if (!arg || !/^\d{1,15}$/.test(arg)) throw new UsageError('collectors status needs a TASK_ID (a number)');
        for (;;) {
          const task = await store.getCollectorUpgradeTask(Number(arg));
          if (!task) throw new Error(`no collector upgrade task ${arg}`);
          if (values.json) console.log(JSON.stringify({ upgrade: task }));
          else console.log(`task ${task.id}  collector ${task.collectorId}  to ${task.toVersion}  requested ${new Date(task.requestTime).toISOString()}  status ${task.status} (${UPGRADE_TASK_STATUS_TEXT[task.status] ?? 'unknown'})${task.message ? `  ${task.message}` : ''}`);
          if (!values.watch || task.status === 2 || task.status === 3) return;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      case 'targets': {
        if (values.set !== undefined) await setCollectorTargets(store, values.set.split(',').map((v) => v.trim()).filter(Boolean));
        const targets = await collectorTargets(store);
        console.log(values.json ? JSON.stringify({ targets }) : targets.map((t) => `${t.version}${t.latest ? '  (latest)' : ''}`).join('\n'));
        return;
      }
      default:
        throw new UsageError(`collectors needs 'sync', 'upgrade COLLECTOR_ID', 'status TASK_ID' or 'targets'`);
    }
  } finally {
    await store.close();
  }
}

/** `--expires`: a date (`2030-01-31`, midnight UTC) or an ISO 8601 instant → seconds since the epoch. */
function parseExpires(value: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) throw new UsageError(`--expires: '${value}' is neither a date (YYYY-MM-DD) nor an ISO 8601 time`);
  return Math.floor(ms / 1000);
}

/** `--since`: seconds since the epoch, or an ISO 8601 time → epoch seconds. */
function parseSince(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) throw new UsageError(`--since: '${value}' is neither seconds since the epoch nor an ISO 8601 time`);
  return ms / 1000;
}

function parseAccessId(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${what} needs an ACCESS_ID`);
  const parsed = accessIdSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`access id '${value}': ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** Rows as columns two spaces apart, each as wide as its widest cell (the last one not padded). */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

const isoTime = (seconds: number | undefined): string => (seconds === undefined ? '-' : new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z'));

/** Where the API listens, for the curl line printed with a new key. */
function apiBase(config: FleetConfig): string {
  const host = ['0.0.0.0', '::', ''].includes(config.FLEET_API_HOST) ? '127.0.0.1' : config.FLEET_API_HOST;
  const scheme = config.FLEET_API_TLS_CERT ? 'https' : 'http';
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${config.FLEET_API_PORT}`;
}

/** A new key, shown this once, with a curl line that uses it. */
function printCreated(created: AccessKeyCreated, verb: string, config: FleetConfig, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(created));
    return;
  }
  console.log(
    [
      `access key ${verb}: ${created.access_id}  role ${created.role}  expires ${isoTime(created.expires_time)}`,
      `key (shown only now, keep it safe): ${created.access_key}`,
      `use it:  curl -u ${created.access_id}:${created.access_key} ${apiBase(config)}${SCC_PREFIXES[0]}/operations/upgrade`,
    ].join('\n'),
  );
}

/** `fleet keys …`: API access keys in the store at FLEET_STORE_URL (the same rules as `/api/fleet/1.0/access_keys`). */
async function keysCommand(positionals: string[], values: { id?: string | undefined; role?: string | undefined; expires?: string | undefined; json: boolean }, config: FleetConfig): Promise<void> {
  const [sub, arg, extra] = positionals;
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke' && sub !== 'rotate') throw new UsageError(`keys needs 'create --id ID --role ROLE', 'list', 'revoke ID' or 'rotate ID'`);
  if (extra !== undefined || (sub !== 'revoke' && sub !== 'rotate' && arg !== undefined)) throw new UsageError(`keys ${sub}: unexpected argument '${extra ?? arg}'`);
  let request: { access_id: string; role: Role; expires_time?: number } | undefined;
  if (sub === 'create') {
    const access_id = parseAccessId(values.id, 'keys create --id');
    if (!values.role || !(ROLES as readonly string[]).includes(values.role)) throw new UsageError(`keys create --role must be one of ${ROLES.join(', ')}`);
    request = { access_id, role: values.role as Role, ...(values.expires !== undefined ? { expires_time: parseExpires(values.expires) } : {}) };
  } else if (sub === 'revoke' || sub === 'rotate') {
    parseAccessId(arg, `keys ${sub}`);
  }
  const store = await FleetStore.open(config.FLEET_STORE_URL);
  try {
    const keysPath = `${ADMIN_PREFIX}/access_keys`;
    switch (sub) {
      case 'create': {
        const created = await audited(config, store, { action: 'fleet keys create', target: keysPath, details: { access_id: request!.access_id } }, () => createAccessKey(store, request!), (made) => ({ details: { created_id: made.access_id } }));
        printCreated(created, 'created', config, values.json);
        return;
      }
      case 'list': {
        const keys = await listAccessKeys(store);
        if (values.json) console.log(JSON.stringify(keys));
        else console.log(table([['ACCESS ID', 'ROLE', 'STATUS', 'CREATED', 'LAST USED', 'EXPIRES'], ...keys.map((k) => [k.access_id, k.role, k.status, isoTime(k.create_time), isoTime(k.last_used_time), isoTime(k.expires_time)])]));
        return;
      }
      case 'revoke': {
        await audited(config, store, { action: 'fleet keys revoke', target: `${keysPath}/${arg!}`, details: { access_id: arg! } }, () => revokeAccessKey(store, arg!));
        console.log(`access key ${arg!} revoked: the API refuses it from the next request on`);
        return;
      }
      case 'rotate': {
        const rotated = await audited(config, store, { action: 'fleet keys rotate', target: `${keysPath}/${arg!}`, details: { access_id: arg! } }, () => rotateAccessKey(store, arg!));
        printCreated(rotated, 'rotated (the old key no longer works)', config, values.json);
        return;
      }
    }
  } finally {
    await store.close();
  }
}

/** `fleet audit`: the audit trail, oldest first (what `GET /api/fleet/1.0/audit` answers). */
async function auditCommand(positionals: string[], values: { id?: string | undefined; since?: string | undefined; limit?: string | undefined; json: boolean }, config: FleetConfig): Promise<void> {
  if (positionals.length) throw new UsageError(`audit takes no argument ('${positionals[0]!}'); filter with --since, --id, --limit`);
  const since = values.since !== undefined ? parseSince(values.since) : undefined;
  const limit = values.limit !== undefined ? Number(values.limit) : 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be a whole number from 1 to 10000');
  if (values.id === '') throw new UsageError('--id must name an actor');
  const store = await FleetStore.open(config.FLEET_STORE_URL);
  try {
    const entries = (await store.listAudit({ ...(since !== undefined ? { sinceMs: Math.round(since * 1000) } : {}), ...(values.id !== undefined ? { actor: values.id } : {}), limit })).map(auditView);
    if (values.json) {
      console.log(JSON.stringify(entries));
      return;
    }
    const rows = entries.map((e) => [new Date(e.time * 1000).toISOString(), e.actor || '-', e.action, e.outcome, e.client, e.target, Object.keys(e.details).length ? JSON.stringify(e.details) : '']);
    console.log(table([['TIME', 'ACTOR', 'ACTION', 'OUTCOME', 'CLIENT', 'TARGET', 'DETAILS'], ...rows]));
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  run(process.argv.slice(2), loadConfig()).then(
    () => process.exit(0),
    (err: unknown) => {
      if (err instanceof UsageError) console.error(`fleet: ${err.message}\n${USAGE}`);
      else console.error(`fleet: ${(err as Error).message}`);
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}
