/**
 * The Authenticator over a real SQLite store, on a clock the test moves (jest's fake Date, which
 * the failure counters read too): expiry, revocation and rotation on the next request, failure
 * limits per client and per access id, and their end after the window; the turns derivations
 * take, how many ids may wait for one, and remembered keys checked again ahead of their end.
 */
import { createAccessKey, revokeAccessKey, rotateAccessKey } from '../../api/access-keys';
import { Authenticator, derivation, putAccessKey } from '../../api/auth';
import { FleetStore } from '../../store/fleet-store';

const basic = (id: string, key: string) => `Basic ${Buffer.from(`${id}:${key}`).toString('base64')}`;
const T0 = Date.parse('2026-12-01T00:00:00Z');
let store: FleetStore;

beforeEach(async () => {
  jest.useFakeTimers({ now: T0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  store = await FleetStore.open('sqlite::memory:');
});
afterEach(async () => {
  jest.useRealTimers();
  await store.close();
});

test('a key that expires is refused from its expiry on, even when its login is cached', async () => {
  const created = await createAccessKey(store, { access_id: 'noc', role: 'read_only', expires_time: T0 / 1000 + 3600 });
  const auth = new Authenticator(store);
  expect(await auth.authenticate(basic('noc', created.access_key), 'c')).toEqual({
    ok: true,
    accessId: 'noc',
    role: 'read_only',
  });
  jest.setSystemTime(T0 + 3_599_000);
  expect((await auth.authenticate(basic('noc', created.access_key), 'c')).ok).toBe(true);
  jest.setSystemTime(T0 + 3_600_000);
  expect(await auth.authenticate(basic('noc', created.access_key), 'c')).toEqual({ ok: false, reason: 'invalid' });
});

test('revoke and rotate take effect on the next request of another Authenticator over the same store', async () => {
  const created = await createAccessKey(store, { access_id: 'agent', role: 'internal_service' });
  const [first, second] = [new Authenticator(store), new Authenticator(store)];
  for (const auth of [first, second])
    expect((await auth.authenticate(basic('agent', created.access_key), 'c')).ok).toBe(true);
  const rotated = await rotateAccessKey(store, 'agent');
  expect(await second.authenticate(basic('agent', created.access_key), 'c')).toEqual({ ok: false, reason: 'invalid' });
  expect(await second.authenticate(basic('agent', rotated.access_key), 'c')).toEqual({
    ok: true,
    accessId: 'agent',
    role: 'internal_service',
  });
  await revokeAccessKey(store, 'agent');
  expect(await first.authenticate(basic('agent', rotated.access_key), 'c')).toEqual({ ok: false, reason: 'invalid' });
  expect((await store.getAccessKey('agent'))!.last_used_ms).toBe(T0);
});

test('failures past the limit get limited with Retry-After, per client and per access id, and end after the window', async () => {
  await putAccessKey(store, 'ops', 'ops-key-0123456789', 'operator');
  const auth = new Authenticator(store, { perClient: 5, perAccessId: 3, windowSeconds: 60 });
  for (let i = 0; i < 3; i++)
    expect(await auth.authenticate(basic('ops', `wrong-${i}`), 'attacker')).toEqual({ ok: false, reason: 'invalid' });
  // The access id is locked from every address, the right key too; other ids are served.
  expect(await auth.authenticate(basic('ops', 'ops-key-0123456789'), 'someone-else')).toEqual({
    ok: false,
    reason: 'limited',
    retryAfterSeconds: 60,
  });
  await putAccessKey(store, 'noc', 'noc-key-0123456789', 'read_only');
  expect((await auth.authenticate(basic('noc', 'noc-key-0123456789'), 'someone-else')).ok).toBe(true);
  // The client address: two more failures (other ids) reach its limit of 5.
  for (const id of ['x', 'y'])
    expect((await auth.authenticate(basic(id, 'guess-guess-guess'), 'attacker')).ok).toBe(false);
  expect(await auth.authenticate(basic('noc', 'noc-key-0123456789'), 'attacker')).toMatchObject({
    ok: false,
    reason: 'limited',
  });
  jest.advanceTimersByTime(30_000);
  expect(await auth.authenticate(basic('noc', 'noc-key-0123456789'), 'attacker')).toEqual({
    ok: false,
    reason: 'limited',
    retryAfterSeconds: 30,
  });
  jest.advanceTimersByTime(31_000);
  expect((await auth.authenticate(basic('noc', 'noc-key-0123456789'), 'attacker')).ok).toBe(true);
  expect((await auth.authenticate(basic('ops', 'ops-key-0123456789'), 'attacker')).ok).toBe(true);
});

test('a header that is not Basic counts as a failure of the client; none at all is only missing', async () => {
  const auth = new Authenticator(store, { perClient: 2, perAccessId: 2, windowSeconds: 60 });
  expect(await auth.authenticate(undefined, 'c')).toEqual({ ok: false, reason: 'missing' });
  expect(await auth.authenticate('Bearer abc', 'c')).toEqual({ ok: false, reason: 'invalid' });
  expect(await auth.authenticate('Basic !!', 'c')).toEqual({ ok: false, reason: 'invalid' });
  expect(await auth.authenticate('Bearer abc', 'c')).toMatchObject({ ok: false, reason: 'limited' });
});

test('requests with the same credentials arriving together share one check; a remembered key spends no attempt', async () => {
  await putAccessKey(store, 'agent', 'agent-key-0123456789', 'internal_service');
  const reads = jest.spyOn(store, 'getAccessKey');
  const auth = new Authenticator(store, { perClient: 3, perAccessId: 3, windowSeconds: 60 });
  const burst = await Promise.all(
    Array.from({ length: 20 }, () => auth.authenticate(basic('agent', 'agent-key-0123456789'), 'c')),
  );
  expect(burst.every((a) => a.ok)).toBe(true);
  expect(reads).toHaveBeenCalledTimes(1);
  // Remembered: a hundred more requests leave every attempt of the client and the id for failures.
  for (let i = 0; i < 100; i++)
    expect((await auth.authenticate(basic('agent', 'agent-key-0123456789'), 'c')).ok).toBe(true);
  expect(reads).toHaveBeenCalledTimes(1);
  for (let i = 0; i < 3; i++)
    expect(await auth.authenticate(basic('agent', `wrong-key-${i}-0123456789`), 'c')).toEqual({
      ok: false,
      reason: 'invalid',
    });
  // Out of attempts: the remembered key too is refused until the window ends.
  expect(await auth.authenticate(basic('agent', 'agent-key-0123456789'), 'c')).toMatchObject({
    ok: false,
    reason: 'limited',
  });
  jest.advanceTimersByTime(61_000);
  expect((await auth.authenticate(basic('agent', 'agent-key-0123456789'), 'c')).ok).toBe(true);
});

/** Waits, turn by turn of the event loop, until `done` holds. */
const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
};

test('guesses and first logins take one derivation turn across all ids; a key good before does not wait', async () => {
  await putAccessKey(store, 'ops', 'ops-key-0123456789', 'operator');
  const auth = new Authenticator(store);
  expect((await auth.authenticate(basic('ops', 'ops-key-0123456789'), 'ops-host')).ok).toBe(true);
  jest.setSystemTime(T0 + 61_000);
  // Each derivation waits for its gate, then runs.
  const scrypt = derivation.scrypt;
  const gates: (() => void)[] = [];
  const gated: typeof scrypt = (password, salt, keylen) =>
    new Promise<void>((open) => gates.push(open)).then(() => scrypt(password, salt, keylen));
  const derive = jest.spyOn(derivation, 'scrypt').mockImplementation(gated);
  const started = (): string[] => derive.mock.calls.map(([password]) => password);
  const open = (password: string): void => gates[started().indexOf(password)]!();
  // Guesses for a known id, an unknown one and another, from three addresses; the good key (entry ended) beside them.
  const guess = (id: string, i: number) => auth.authenticate(basic(id, `guess-${i}-0123456789`), `attacker-${i}`);
  const guesses = ['ops', 'nobody', 'someone'].map(guess);
  const good = auth.authenticate(basic('ops', 'ops-key-0123456789'), 'ops-host');
  await until(() => started().length >= 2);
  open('ops-key-0123456789');
  expect(await good).toEqual({ ok: true, accessId: 'ops', role: 'operator' });
  expect(started()).toEqual(['guess-0-0123456789', 'ops-key-0123456789']);
  for (let i = 0; i < 3; i++) {
    open(`guess-${i}-0123456789`);
    expect(await guesses[i]).toEqual({ ok: false, reason: 'invalid' });
    if (i < 2) await until(() => started().includes(`guess-${i + 1}-0123456789`));
  }
  expect(started()).toHaveLength(4);
  derive.mockRestore();
});

test('past pendingIds ids waiting, a guess for another id is limited at once, spending no attempt', async () => {
  await putAccessKey(store, 'noc', 'noc-key-0123456789', 'read_only');
  await putAccessKey(store, 'ops', 'ops-key-0123456789', 'operator');
  const auth = new Authenticator(store, { perClient: 1, perAccessId: 5, windowSeconds: 60, pendingIds: 2 });
  expect((await auth.authenticate(basic('noc', 'noc-key-0123456789'), 'noc-host')).ok).toBe(true);
  expect((await auth.authenticate(basic('ops', 'ops-key-0123456789'), 'ops-host')).ok).toBe(true);
  jest.setSystemTime(T0 + 61_000);
  // Guesses at once from six addresses for five ids (id-0 twice); the keys of noc and ops (entries ended) beside them.
  const guess = (id: number, i: number) =>
    auth.authenticate(basic(`id-${id}`, `guess-${i}-0123456789`), `attacker-${i}`);
  const guesses = [0, 1, 2, 3, 4, 0].map(guess);
  const good = ['noc', 'ops'].map((id) => auth.authenticate(basic(id, `${id}-key-0123456789`), `${id}-host`));
  const busy = { ok: false, reason: 'limited', retryAfterSeconds: 1 };
  const invalid = { ok: false, reason: 'invalid' };
  expect(await Promise.all(guesses)).toEqual([invalid, invalid, busy, busy, busy, invalid]);
  expect((await Promise.all(good)).map((a) => a.ok)).toEqual([true, true]);
  // Those refused at once kept their one attempt: checked now, and refused for the key.
  expect(await auth.authenticate(basic('id-4', 'guess-4-0123456789'), 'attacker-4')).toEqual(invalid);
  const locked = { ok: false, reason: 'limited', retryAfterSeconds: 60 };
  expect(await auth.authenticate(basic('id-4', 'guess-4-0123456789'), 'attacker-4')).toEqual(locked);
});

test('a remembered key in use is checked again before its entry ends: no request waits for it', async () => {
  await putAccessKey(store, 'agent', 'agent-key-0123456789', 'internal_service');
  const auth = new Authenticator(store);
  const header = basic('agent', 'agent-key-0123456789');
  expect((await auth.authenticate(header, 'c')).ok).toBe(true);
  const read = store.getAccessKey.bind(store);
  const reads = jest.spyOn(store, 'getAccessKey');
  jest.setSystemTime(T0 + 44_000);
  expect((await auth.authenticate(header, 'c')).ok).toBe(true);
  expect(reads).not.toHaveBeenCalled();
  // 15 s or less left: answered from the entry while the check again waits on a gate.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  reads.mockImplementationOnce(async (id) => gate.then(() => read(id)));
  jest.setSystemTime(T0 + 50_000);
  expect(await auth.authenticate(header, 'c')).toEqual({ ok: true, accessId: 'agent', role: 'internal_service' });
  expect(reads).toHaveBeenCalledTimes(1);
  // Past the entry's end while that check runs: this request waits for it, starting none of its own.
  jest.setSystemTime(T0 + 61_000);
  const late = auth.authenticate(header, 'c');
  const another = auth.authenticate(header, 'c');
  open();
  expect((await Promise.all([late, another])).map((a) => a.ok)).toEqual([true, true]);
  expect(reads).toHaveBeenCalledTimes(1);
  // Renewed from that check (at T0 + 61 s): good until T0 + 121 s with no further read.
  jest.setSystemTime(T0 + 100_000);
  expect((await auth.authenticate(header, 'c')).ok).toBe(true);
  expect(reads).toHaveBeenCalledTimes(1);
  // Revoked meanwhile: refused on the next request, entry or not.
  await revokeAccessKey(store, 'agent');
  expect(await auth.authenticate(header, 'c')).toEqual({ ok: false, reason: 'invalid' });
});
