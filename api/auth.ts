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
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import type { FleetStore } from '../store/fleet-store';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export { ROLES, type Role } from '../domain/access';
import type { Role } from '../domain/access';

/** What a route needs beyond reading. */
export type Permission = 'read' | 'operate' | 'internal' | 'manage';

const GRANTS: Record<Role, readonly Permission[]> = {
  read_only: ['read'],
  operator: ['read', 'operate'],
  internal_service: ['read', 'internal'],
  // `manage`: access keys and the audit trail.
  admin: ['read', 'operate', 'internal', 'manage'],
};

export const allows = (role: Role, permission: Permission): boolean => GRANTS[role].includes(permission);

export async function hashKey(key: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${(await scryptAsync(key, salt, 32)).toString('base64')}`;
}

/** Where every check's scrypt derivation runs (libuv's threadpool); an object so the unit tests can watch it. */
export const derivation = { scrypt: scryptAsync };

export async function verifyKey(key: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await derivation.scrypt(key, Buffer.from(salt, 'base64'), expected.length);
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

/** How many failed authentications are allowed before a client address or an access id gets 429s. */
export interface FailureLimits {
  /** Failures per client address within `windowSeconds`. */
  perClient: number;
  /** Failures per access id within `windowSeconds` (from any address). */
  perAccessId: number;
  windowSeconds: number;
  /**
   * Access ids with checks of credentials not good before under way at once (they take one turn,
   * all ids and addresses together); a check for yet another id gets `limited` (1 s) at once,
   * spending no attempt, so a flood from many addresses for many ids queues only so much. 16
   * unless set.
   */
  pendingIds?: number;
}

export const DEFAULT_FAILURE_LIMITS: FailureLimits = { perClient: 30, perAccessId: 10, windowSeconds: 60 };
const DEFAULT_PENDING_IDS = 16;
/** The turn every derivation of credentials not good before takes (no access id has a colon). */
const UNVERIFIED_TURN = ':unverified';

export type Authentication =
  | { ok: true; accessId: string; role: Role }
  | { ok: false; reason: 'missing' | 'invalid' }
  | { ok: false; reason: 'limited'; retryAfterSeconds: number };

/** What an unknown access id is checked against, so it costs what a known one with a wrong key costs. */
const UNKNOWN_ID_HASH = `scrypt$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`;
/** A cached login is good for this long, and only while no key has changed (one small read per request). */
const CACHE_MS = 60_000;
/** A remembered login in use is checked again, in the background, once this little of its time is left. */
const REFRESH_AHEAD_MS = 15_000;
const TOUCH_MS = 60_000;

/**
 * Checks credentials against the store. scrypt is slow by design, so a success is remembered for
 * a minute under a digest of the credentials (never the key itself), until any key changes: every
 * API process sharing the store sees a create, revoke or rotate on its next request. Failed attempts
 * are counted per client address and per access id (rate-limiter-flexible); past the limit they
 * get `limited` without spending a derivation. A remembered login in use is checked again in its
 * last 15 s, so its client never waits for a derivation; derivations of credentials never good
 * here (a guess, a first login) take one turn all together, leaving libuv's other threads to those.
 */
/** The answer past a limit: retry once the last of the limits that hold has ended. */
const limitedFor = (over: RateLimiterRes[]): Authentication => ({
  ok: false,
  reason: 'limited',
  retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...over.map((r) => r.msBeforeNext)) / 1000)),
});

export class Authenticator {
  private readonly verified = new Map<string, { accessId: string; role: Role; until: number; version: string }>();
  private readonly byClient: RateLimiterMemory;
  private readonly byAccessId: RateLimiterMemory;
  private readonly touched = new Map<string, number>();
  private readonly deriving = new Map<string, Promise<void>>();
  private readonly checking = new Map<string, Promise<Authentication>>();
  private readonly pendingIds: number;
  /** Checks of credentials not good before under way, per access id (see FailureLimits.pendingIds). */
  private readonly unverified = new Map<string, number>();

  constructor(
    private readonly store: FleetStore,
    limits: FailureLimits = DEFAULT_FAILURE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.byClient = new RateLimiterMemory({
      keyPrefix: 'client',
      points: limits.perClient,
      duration: limits.windowSeconds,
    });
    this.byAccessId = new RateLimiterMemory({
      keyPrefix: 'id',
      points: limits.perAccessId,
      duration: limits.windowSeconds,
    });
    this.pendingIds = limits.pendingIds ?? DEFAULT_PENDING_IDS;
  }

  async authenticate(header: string | undefined, client: string): Promise<Authentication> {
    if (header === undefined) return { ok: false, reason: 'missing' };
    const credentials = parseBasic(header);
    if (!credentials) return (await this.spend(client, undefined)) ?? { ok: false, reason: 'invalid' };
    // Verified a moment ago: no derivation, so nothing to spend; still refused while a limit holds.
    const digest = createHash('sha256').update(`${credentials.accessId}\0${credentials.accessKey}`).digest('base64');
    const version = await this.store.accessKeysVersion();
    const cached = this.verified.get(digest);
    const nowMs = this.now();
    if (cached && cached.until > nowMs && cached.version === version) {
      // In use near its end: checked again meanwhile, so a busy client never waits for its derivation.
      if (cached.until - nowMs <= REFRESH_AHEAD_MS) this.refresh(digest, version, credentials);
      return (
        (await this.limitHeld(client, credentials.accessId)) ?? {
          ok: true,
          accessId: credentials.accessId,
          role: cached.role,
        }
      );
    }
    // The same credentials already being checked (a client's burst once its entry expired): that
    // check's answer, with no attempt spent and no derivation of its own.
    const running = this.checking.get(digest);
    if (running) {
      const shared = await running;
      return shared.ok ? ((await this.limitHeld(client, shared.accessId)) ?? shared) : shared;
    }
    // Credentials good here before (their entry ended, or a key changed) take their id's turn;
    // any others, of a known id or not, one turn all together, for so many ids at once.
    const goodBefore = cached !== undefined;
    const anotherId = !this.unverified.has(credentials.accessId);
    if (!goodBefore && anotherId && this.unverified.size >= this.pendingIds) {
      return { ok: false, reason: 'limited', retryAfterSeconds: 1 };
    }
    const check = this.spendAndCheck(digest, version, client, credentials, goodBefore).finally(() => {
      this.checking.delete(digest);
    });
    this.checking.set(digest, check);
    return check;
  }

  /** Remembered credentials checked again before their entry ends, as their digest's shared check; no attempt spent. */
  private refresh(digest: string, version: string, credentials: { accessId: string; accessKey: string }): void {
    if (this.checking.has(digest)) return;
    const check = this.check(digest, version, credentials.accessId, credentials.accessKey, credentials.accessId)
      .then((found): Authentication => (found ? { ok: true, ...found } : { ok: false, reason: 'invalid' }))
      .finally(() => this.checking.delete(digest));
    this.checking.set(digest, check);
    // Its failure (the store's) reaches the requests that wait for it; without them, the next request checks anew.
    check.catch(() => this.verified.delete(digest));
  }

  /**
   * Counted as a failure before the key is checked (and given back if it matches), so requests
   * arriving together cannot all pass the limit and each spend a derivation.
   */
  private async spendAndCheck(
    digest: string,
    version: string,
    client: string,
    credentials: { accessId: string; accessKey: string },
    goodBefore: boolean,
  ): Promise<Authentication> {
    const { accessId } = credentials;
    if (!goodBefore) this.unverified.set(accessId, (this.unverified.get(accessId) ?? 0) + 1);
    try {
      const limited = await this.spend(client, accessId);
      if (limited) return limited;
      const turn = goodBefore ? accessId : UNVERIFIED_TURN;
      const found = await this.check(digest, version, accessId, credentials.accessKey, turn);
      if (!found) return { ok: false, reason: 'invalid' };
      await Promise.all([this.byClient.reward(client, 1), this.byAccessId.reward(found.accessId, 1)]);
      return { ok: true, ...found };
    } finally {
      const left = (this.unverified.get(accessId) ?? 1) - 1;
      if (!goodBefore && left) this.unverified.set(accessId, left);
      else if (!goodBefore) this.unverified.delete(accessId);
    }
  }

  private async check(
    digest: string,
    version: string,
    accessId: string,
    accessKey: string,
    turn: string,
  ): Promise<{ accessId: string; role: Role } | undefined> {
    const stored = await this.store.getAccessKey(accessId);
    const matches = await this.oneAtATime(turn, () => verifyKey(accessKey, stored?.key_hash ?? UNKNOWN_ID_HASH));
    const nowMs = this.now();
    const expired = stored?.expires_ms !== undefined && stored.expires_ms <= nowMs;
    if (!stored || !matches || stored.revoked_ms !== undefined || expired) {
      // No longer good: its next try is as anyone's.
      this.verified.delete(digest);
      return undefined;
    }
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(digest, {
      accessId,
      role: stored.role as Role,
      until: nowMs + Math.min(CACHE_MS, (stored.expires_ms ?? Infinity) - nowMs),
      version,
    });
    await this.touch(accessId, nowMs);
    return { accessId, role: stored.role as Role };
  }

  /**
   * One derivation at a time per turn: guesses sent together take turns, not every core, and
   * leave libuv's other threads to the re-checks of keys good before.
   */
  private async oneAtATime<T>(turn: string, work: () => Promise<T>): Promise<T> {
    const before = this.deriving.get(turn) ?? Promise.resolve();
    const mine = before.then(work, work);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.deriving.set(turn, settled);
    try {
      return await mine;
    } finally {
      if (this.deriving.get(turn) === settled) this.deriving.delete(turn);
    }
  }

  /** The key's last use, written at most once a minute per access id. */
  private async touch(accessId: string, nowMs: number): Promise<void> {
    if (nowMs - (this.touched.get(accessId) ?? -Infinity) < TOUCH_MS) return;
    this.touched.set(accessId, nowMs);
    await this.store.touchAccessKey(accessId, nowMs);
  }

  /** `limited` while the client or the access id has no attempt left, without spending one. */
  private async limitHeld(client: string, accessId: string): Promise<Authentication | undefined> {
    const [byClient, byAccessId] = await Promise.all([this.byClient.get(client), this.byAccessId.get(accessId)]);
    const over = [
      [byClient, this.byClient.points],
      [byAccessId, this.byAccessId.points],
    ].flatMap(([res, points]) =>
      res && (res as RateLimiterRes).consumedPoints >= (points as number) ? [res as RateLimiterRes] : [],
    );
    if (!over.length) return undefined;
    return limitedFor(over);
  }

  /** Spends one attempt of the client and of the access id; `limited` when either has none left. */
  private async spend(client: string, accessId: string | undefined): Promise<Authentication | undefined> {
    const attempt = (limiter: RateLimiterMemory, key: string) =>
      limiter.consume(key).then(
        () => undefined,
        (res: RateLimiterRes) => res,
      );
    const spent = await Promise.all([
      attempt(this.byClient, client),
      ...(accessId === undefined ? [] : [attempt(this.byAccessId, accessId)]),
    ]);
    const over = spent.filter((res): res is RateLimiterRes => res !== undefined);
    if (!over.length) return undefined;
    return limitedFor(over);
  }
}

/** Stores (or replaces) an access key with its role. */
export async function putAccessKey(
  store: FleetStore,
  accessId: string,
  accessKey: string,
  role: Role,
  expiresMs?: number,
): Promise<void> {
  if (!accessId || accessId.includes(':')) throw new Error('an access id must be non-empty and contain no colon');
  if (accessKey.length < 12) throw new Error('an access key must be at least 12 characters');
  await store.putAccessKey(accessId, await hashKey(accessKey), role, expiresMs);
}
