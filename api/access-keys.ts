/**
 * Managing access keys (used by the admin routes and `fleet keys`): create (the key is shown once),
 * list (never the key), revoke, rotate. Keys are random, stored only as scrypt hashes (auth.ts).
 */
import { randomBytes } from 'node:crypto';
import type { AccessKey, AccessKeyCreated, Role } from '../domain/access';
import { msToSeconds, secondsToMs } from '../domain/operation';
import type { AccessKeyRecord, FleetStore } from '../store/fleet-store';
import { putAccessKey } from './auth';

export class AccessKeyError extends Error {
  constructor(
    readonly reason: 'exists' | 'not_found' | 'expiry_past',
    message: string,
  ) {
    super(message);
  }
}

const newKey = (): string => randomBytes(24).toString('base64url');

export function keyStatus(record: AccessKeyRecord, nowMs = Date.now()): AccessKey['status'] {
  if (record.revoked_ms !== undefined) return 'revoked';
  if (record.expires_ms !== undefined && record.expires_ms <= nowMs) return 'expired';
  return 'active';
}

/** An access key as listed: what it is and how it stands, never the key or its hash. */
export function accessKeyView(record: AccessKeyRecord, nowMs = Date.now()): AccessKey {
  return {
    access_id: record.access_id,
    role: record.role as Role,
    status: keyStatus(record, nowMs),
    create_time: msToSeconds(record.created_ms),
    ...(record.last_used_ms !== undefined ? { last_used_time: msToSeconds(record.last_used_ms) } : {}),
    ...(record.expires_ms !== undefined ? { expires_time: msToSeconds(record.expires_ms) } : {}),
    ...(record.revoked_ms !== undefined ? { revoke_time: msToSeconds(record.revoked_ms) } : {}),
  };
}

async function issue(
  store: FleetStore,
  accessId: string,
  role: Role,
  expiresMs: number | undefined,
): Promise<AccessKeyCreated> {
  const accessKey = newKey();
  await putAccessKey(store, accessId, accessKey, role, expiresMs);
  return { ...accessKeyView((await store.getAccessKey(accessId))!), access_key: accessKey };
}

/** A new access key; an access id in use (even revoked: its history stays its own) is refused. */
export async function createAccessKey(
  store: FleetStore,
  request: { access_id: string; role: Role; expires_time?: number },
  nowMs = Date.now(),
): Promise<AccessKeyCreated> {
  if (await store.getAccessKey(request.access_id))
    throw new AccessKeyError('exists', `access id ${request.access_id} exists already (revoke or rotate it instead)`);
  const expiresMs = request.expires_time === undefined ? undefined : secondsToMs(request.expires_time);
  if (expiresMs !== undefined && expiresMs <= nowMs)
    throw new AccessKeyError('expiry_past', 'expires_time must be in the future');
  return issue(store, request.access_id, request.role, expiresMs);
}

export async function listAccessKeys(store: FleetStore, nowMs = Date.now()): Promise<AccessKey[]> {
  return (await store.listAccessKeys()).map((record) => accessKeyView(record, nowMs));
}

export async function revokeAccessKey(store: FleetStore, accessId: string): Promise<void> {
  if (!(await store.revokeAccessKey(accessId))) {
    const known = await store.getAccessKey(accessId);
    throw new AccessKeyError(
      'not_found',
      known ? `access key ${accessId} is revoked already` : `no access key ${accessId}`,
    );
  }
}

/** A new key for an access id, same role and expiry; the old key stops working at once. */
export async function rotateAccessKey(store: FleetStore, accessId: string): Promise<AccessKeyCreated> {
  const record = await store.getAccessKey(accessId);
  if (!record) throw new AccessKeyError('not_found', `no access key ${accessId}`);
  return issue(store, accessId, record.role as Role, record.expires_ms);
}
