/** `fleet keys …`: API access keys in the store at FLEET_STORE_URL (the same rules as `/api/fleet/1.0/access_keys`). */
import type { Command } from 'commander';
import { createAccessKey, listAccessKeys, revokeAccessKey, rotateAccessKey } from '../../api/access-keys';
import { ADMIN_PREFIX } from '../../api/admin-routes';
import { SCC_PREFIXES } from '../../api/scc-routes';
import { accessId as accessIdSchema, ROLES, type AccessKeyCreated, type Role } from '../../domain/access';
import type { FleetConfig } from '../../domain/config';
import { audited, config, group, isoTime, leaf, print, table, UsageError, withStore } from './common';

const KEYS_PATH = `${ADMIN_PREFIX}/access_keys`;

/** `--expires`: a date (`2030-01-31`, midnight UTC) or an ISO 8601 instant → seconds since the epoch. */
function parseExpires(value: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms))
    throw new UsageError(`--expires: '${value}' is neither a date (YYYY-MM-DD) nor an ISO 8601 time`);
  return Math.floor(ms / 1000);
}

function parseAccessId(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${what} needs an ACCESS_ID`);
  const parsed = accessIdSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`access id '${value}': ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** Where the API listens, for the curl line printed with a new key. */
export function apiBase(cfg: FleetConfig): string {
  const host = ['0.0.0.0', '::', ''].includes(cfg.FLEET_API_HOST) ? '127.0.0.1' : cfg.FLEET_API_HOST;
  const scheme = cfg.FLEET_API_TLS_CERT ? 'https' : 'http';
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${cfg.FLEET_API_PORT}`;
}

/** A new key, shown this once, with a curl line that uses it. */
function printCreated(created: AccessKeyCreated, verb: string, cfg: FleetConfig, json: boolean): void {
  print(json, created, () =>
    [
      `access key ${verb}: ${created.access_id}  role ${created.role}  expires ${isoTime(created.expires_time)}`,
      `key (shown only now, keep it safe): ${created.access_key}`,
      `use it:  curl -u ${created.access_id}:${created.access_key} ${apiBase(cfg)}${SCC_PREFIXES[0]}/operations/upgrade`,
    ].join('\n'),
  );
}

export function registerKeys(program: Command): void {
  const keys = group(program, 'keys', 'API access keys in the store (shown once; only their scrypt hash is stored)');
  for (const register of [registerCreate, registerList, registerRevoke, registerRotate]) register(keys);
}

/** `fleet keys create`. */
function registerCreate(keys: Command): void {
  leaf(keys, 'create', 'create an API access key and print it once, with a curl line that uses it')
    .option('--id <ACCESS_ID>', 'its access id (not one in use, even revoked)')
    .option('--role <ROLE>', `its role: ${ROLES.join(', ')}`)
    .option('--expires <WHEN>', 'its expiry: YYYY-MM-DD (midnight UTC) or ISO 8601; default: never')
    .action(async (o: { id?: string; role?: string; expires?: string; json: boolean }) => {
      const access_id = parseAccessId(o.id, 'keys create --id');
      if (!o.role || !(ROLES as readonly string[]).includes(o.role))
        throw new UsageError(`keys create --role must be one of ${ROLES.join(', ')}`);
      const request = {
        access_id,
        role: o.role as Role,
        ...(o.expires !== undefined ? { expires_time: parseExpires(o.expires) } : {}),
      };
      const cfg = config();
      await withStore(cfg, async (store) => {
        const created = await audited(
          cfg,
          store,
          { action: 'fleet keys create', target: KEYS_PATH, details: { access_id } },
          () => createAccessKey(store, request),
          (made) => ({ details: { created_id: made.access_id } }),
        );
        printCreated(created, 'created', cfg, o.json);
      });
    });
}

/** `fleet keys list`. */
function registerList(keys: Command): void {
  leaf(
    keys,
    'list',
    'every access key: id, role, status (active, expired, revoked), created, last used, expiry; never the key',
  ).action((o: { json: boolean }) =>
    withStore(config(), async (store) => {
      const all = await listAccessKeys(store);
      print(o.json, all, () =>
        table([
          ['ACCESS ID', 'ROLE', 'STATUS', 'CREATED', 'LAST USED', 'EXPIRES'],
          ...all.map((k) => [
            k.access_id,
            k.role,
            k.status,
            isoTime(k.create_time),
            isoTime(k.last_used_time),
            isoTime(k.expires_time),
          ]),
        ]),
      );
    }),
  );
}

/** `fleet keys revoke`. */
function registerRevoke(keys: Command): void {
  leaf(keys, 'revoke', 'revoke a key: the API refuses it from its next request on, in every API process over the store')
    .argument('<ACCESS_ID>')
    .action(async (arg: string, o: { json: boolean }) => {
      const id = parseAccessId(arg, 'keys revoke');
      const cfg = config();
      await withStore(cfg, async (store) => {
        await audited(
          cfg,
          store,
          { action: 'fleet keys revoke', target: `${KEYS_PATH}/${id}`, details: { access_id: id } },
          () => revokeAccessKey(store, id),
        );
        print(
          o.json,
          { access_id: id, status: 'revoked' },
          () => `access key ${id} revoked: the API refuses it from the next request on`,
        );
      });
    });
}

/** `fleet keys rotate`. */
function registerRotate(keys: Command): void {
  leaf(
    keys,
    'rotate',
    'a new key for the access id (same role and expiry), printed once; the old one is refused from then on',
  )
    .argument('<ACCESS_ID>')
    .action(async (arg: string, o: { json: boolean }) => {
      const id = parseAccessId(arg, 'keys rotate');
      const cfg = config();
      await withStore(cfg, async (store) => {
        const rotated = await audited(
          cfg,
          store,
          { action: 'fleet keys rotate', target: `${KEYS_PATH}/${id}`, details: { access_id: id } },
          () => rotateAccessKey(store, id),
        );
        printCreated(rotated, 'rotated (the old key no longer works)', cfg, o.json);
      });
    });
}
