import { collector, createUpgradeTaskRequest, targets, upgradableCollectorsQuery, upgradeTaskResponse } from '../../domain/sumo';

test('the seed samples parse, unknown fields kept', () => {
  const sample = { id: 100000000, name: 'SumoCollector_Local', hostName: 'TestHost', collectorType: 'Installable', collectorVersion: '20.1-2749', alive: true, lastSeenAlive: 1465848876035, fields: { team: 'a' } };
  expect(collector.parse(sample)).toEqual(sample);
  expect(targets.parse({ targets: [{ version: '19.115-37', latest: false }, { version: '20.1-2749', latest: true }] }).targets).toHaveLength(2);
  expect(upgradeTaskResponse.parse({ upgrade: { id: 12345, collectorId: 100000000, toVersion: '19.152-1', requestTime: 1465855411044, status: 2, message: '' } }).upgrade.status).toBe(2);
});

test('only the documented status codes', () => {
  const task = { collectorId: 1, toVersion: '19.152-1', requestTime: 1, message: '' };
  for (const status of [0, 1, 2, 3, 6]) expect(upgradeTaskResponse.safeParse({ upgrade: { ...task, status } }).success).toBe(true);
  for (const status of [4, 5, 7, -1]) expect(upgradeTaskResponse.safeParse({ upgrade: { ...task, status } }).success).toBe(false);
});

test('collector type and alive are required', () => {
  const result = collector.safeParse({ id: 1, name: 'x', alive: true });
  expect(result.success).toBe(false);
  expect(result.error!.issues[0]!.path).toEqual(['collectorType']);
});

test('list query: defaults offset 0 and limit 50, strings coerced, bad values named', () => {
  expect(upgradableCollectorsQuery.parse({})).toEqual({ offset: 0, limit: 50 });
  expect(upgradableCollectorsQuery.parse({ offset: '10', limit: '5', toVersion: '19.152-1' })).toEqual({ offset: 10, limit: 5, toVersion: '19.152-1' });
  for (const [query, field] of [[{ limit: '0' }, 'limit'], [{ limit: 'x' }, 'limit'], [{ offset: '-1' }, 'offset'], [{ offset: '1.5' }, 'offset']] as const) {
    const result = upgradableCollectorsQuery.safeParse(query);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual([field]);
    expect(result.error!.issues[0]!.message).toContain(field);
  }
  expect(upgradableCollectorsQuery.safeParse({ page: '1' }).success).toBe(false);
});

test('create request: collectorId required, toVersion optional', () => {
  expect(createUpgradeTaskRequest.parse({ collectorId: 100000000 })).toEqual({ collectorId: 100000000 });
  const missing = createUpgradeTaskRequest.safeParse({ toVersion: '19.152-1' });
  expect(missing.error!.issues[0]!.message).toBe('collectorId is required (a collector id, a number)');
});
