/**
 * HTTP Basic authentication with access ids and keys (as both seeds' curl samples), keys stored
 * hashed with scrypt, and roles:
 *   read_only         reads only
 *   operator          reads, creates and cancels operations, manages images and logging
 *   internal_service  reads, and sets task state / appends task logs (the seed's internal endpoints)
 *   admin             everything
 */
import { randomBytes, scrypt, timingSafeEqual, createHash } from 'node:crypto';
import { promisify } from 'node:util';
import type { FleetStore } from '../store/fleet-store';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export const ROLES = ['read_only', 'operator', 'internal_service', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a route needs beyond reading. */
export type Permission = 'read' | 'operate' | 'internal';

const GRANTS: Record<Role, readonly Permission[]> = {
  read_only: ['read'],
  operator: ['read', 'operate'],
  internal_service: ['read', 'internal'],
  admin: ['read', 'operate', 'internal'],
};

export const allows = (role: Role, permission: Permission): boolean => GRANTS[role].includes(permission);

export async function hashKey(key: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${(await scryptAsync(key, salt, 32)).toString('base64')}`;
}

export async function verifyKey(key: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(key, Buffer.from(salt, 'base64'), expected.length);
  return timingSafeEqual(actual, expected);
}

/** `Authorization: Basic base64(id:key)` → its parts, or undefined. */
export function parseBasic(header: string | undefined): { accessId: string; accessKey: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { accessId: decoded.slice(0, colon), accessKey: decoded.slice(colon + 1) };
}

/**
 * Checks credentials against the store. scrypt is slow by design, so a success is remembered for
 * a minute under a digest of the credentials (never the key itself).
 */
export class Authenticator {
  private readonly verified = new Map<string, { role: Role; until: number }>();

  constructor(
    private readonly store: FleetStore,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate(header: string | undefined): Promise<{ accessId: string; role: Role } | undefined> {
    const credentials = parseBasic(header);
    if (!credentials) return undefined;
    const digest = createHash('sha256').update(`${credentials.accessId}\0${credentials.accessKey}`).digest('base64');
    const cached = this.verified.get(digest);
    if (cached && cached.until > this.now()) return { accessId: credentials.accessId, role: cached.role };
    const stored = await this.store.getAccessKey(credentials.accessId);
    if (!stored || !(await verifyKey(credentials.accessKey, stored.key_hash))) return undefined;
    const role = stored.role as Role;
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(digest, { role, until: this.now() + 60_000 });
    return { accessId: credentials.accessId, role };
  }
}

/** Stores (or replaces) an access key with its role. */
export async function putAccessKey(store: FleetStore, accessId: string, accessKey: string, role: Role): Promise<void> {
  if (!accessId || accessId.includes(':')) throw new Error('an access id must be non-empty and contain no colon');
  if (accessKey.length < 12) throw new Error('an access key must be at least 12 characters');
  await store.putAccessKey(accessId, await hashKey(accessKey), role);
}
