/**
 * The audit trail's digest of repeated 429s, on jest's fake clock: the first of a kind written at
 * once, its repeats within the window as one entry (how many, first and last time) when the window
 * ends or the API closes, other kinds apart, nothing written for a kind that did not repeat.
 */
import { RefusalDigest, REFUSAL_DIGEST_MS, type AuditRecord } from '../../api/audit';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const refusal = (atMs: number, client = '10.0.0.9', actor = 'admin'): AuditRecord => ({
  atMs,
  actor,
  action: 'getAppliancesByProduct',
  target: '/api/cmc.upgrades/1.0/appliances/SH',
  outcome: '429 TOO_MANY_FAILED_AUTHENTICATIONS',
  client,
  details: { product: 'SH' },
});

let written: AuditRecord[];
let digest: RefusalDigest;

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
  written = [];
  digest = new RefusalDigest(async (entry) => void written.push(entry));
});
afterEach(() => jest.useRealTimers());

test('repeats of a 429 within the window are one entry written when it ends: how many, from when to when', async () => {
  expect(digest.add(refusal(T0))).toEqual(refusal(T0));
  for (let i = 1; i <= 500; i++) expect(digest.add(refusal(T0 + i * 10))).toBeUndefined();
  // Another client, or another access id, is another kind: written at once.
  expect(digest.add(refusal(T0 + 20, '10.0.0.7'))).toEqual(refusal(T0 + 20, '10.0.0.7'));
  expect(digest.add(refusal(T0 + 30, '10.0.0.9', 'noc'))).toEqual(refusal(T0 + 30, '10.0.0.9', 'noc'));
  expect(written).toEqual([]);
  await jest.advanceTimersByTimeAsync(REFUSAL_DIGEST_MS);
  // The two that did not repeat leave nothing more.
  const counted = { product: 'SH', refused: 500, first_time: (T0 + 10) / 1000, last_time: (T0 + 5000) / 1000 };
  expect(written).toEqual([{ ...refusal(T0 + 5000), details: counted }]);
  // The window over, the next one is written at once again.
  expect(digest.add(refusal(T0 + REFUSAL_DIGEST_MS + 1))).toEqual(refusal(T0 + REFUSAL_DIGEST_MS + 1));
});

test('closing writes the digests still open', async () => {
  digest.add(refusal(T0));
  digest.add(refusal(T0 + 1));
  digest.add(refusal(T0 + 2));
  await digest.flush();
  const counted = { product: 'SH', refused: 2, first_time: (T0 + 1) / 1000, last_time: (T0 + 2) / 1000 };
  expect(written).toEqual([{ ...refusal(T0 + 2), details: counted }]);
  // Nothing is written twice when the window would have ended.
  await jest.advanceTimersByTimeAsync(REFUSAL_DIGEST_MS);
  expect(written).toHaveLength(1);
});
