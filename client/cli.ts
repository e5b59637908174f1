/**
 * The fleet CLI: `npm run fleet -- <command>`.
 *
 *   fleet devices [--product CODE] [--limit N]                    serials the device API serves (the simulator's fleet)
 *   fleet upgrade|downgrade --product SH --version 9.14.2-100 [--at ISO|+6h] [--local] [--reboot [--reboot-at WHEN]] SERIAL...
 *   fleet reboot [--switch-partition] [--at WHEN] [--local] SERIAL...
 *   fleet status OPERATION_ID [--kind KIND] [--watch] [--json]
 *   fleet cancel OPERATION_ID [--kind KIND] [--serial SERIAL]
 *   fleet pause|resume OPERATION_ID [--kind KIND]
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
  isTerminal,
  OperationNotFoundError,
  setOperationPaused,
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

export function formatOperation(view: OperationView): string {
  const { operation, tasks } = view;
  const lines = [
    `operation ${operation.id}  ${operation.target_version ? `to ${operation.target_version.version_id}  ${operation.product_code}` : `reboot${operation.switch_partition ? ' (switch partition)' : ''}`}  status: ${operation.status}`,
    `created ${operation.create_time} by ${operation.username}${operation.comment ? `  comment: ${operation.comment}` : ''}`,
    '',
    `${'SERIAL'.padEnd(16)}${'STATUS'.padEnd(12)}${'STAGE'.padEnd(14)}MESSAGE`,
    ...tasks.map((t) => `${t.serial.padEnd(16)}${t.status.padEnd(12)}${t.stage.padEnd(14)}${t.message ?? ''}`),
  ];
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  lines.push('', [...counts].map(([status, n]) => `${n} ${status}`).join(', '));
  return lines.join('\n');
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
      const client = await connectClient(config);
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
        const { operation, linked } = await createOperation(client, command, body, {
          taskQueue: config.FLEET_TASK_QUEUE,
          username: values.user,
          timeZones: (serials) => store.timeZones(serials),
          eligibility: (kind, request) => ineligibleAppliances(store, kind, request),
        });
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
      for (;;) {
        const view = await getOperation(client, id, kind);
        if (values.json) console.log(JSON.stringify(view));
        else console.log(`${values.watch ? '\x1b[2J\x1b[H' : ''}${formatOperation(view)}`);
        if (!values.watch || isTerminal(view.operation.status)) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    case 'cancel': {
      const id = positionals[0];
      if (!id) throw new UsageError('cancel needs an OPERATION_ID');
      if (values.serial) {
        const status = await cancelApplianceTask(await connectClient(config), id, values.serial, kind);
        console.log(status === 'cancelled' ? `cancel requested for ${values.serial} in operation ${id}` : `${values.serial} had already finished: ${status}`);
        return;
      }
      await cancelOperation(await connectClient(config), id, kind);
      console.log(`cancel requested for operation ${id}`);
      return;
    }
    case 'pause':
    case 'resume': {
      const id = positionals[0];
      if (!id) throw new UsageError(`${command} needs an OPERATION_ID`);
      await setOperationPaused(await connectClient(config), id, command === 'pause', kind);
      console.log(`${command} requested for operation ${id}`);
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
        const client = await connectClient(config);
        let task;
        try {
          task = await createCollectorUpgrade(client, store, { collectorId: Number(arg), ...(values.to !== undefined ? { toVersion: values.to } : {}) }, { taskQueue: config.FLEET_TASK_QUEUE, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
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
