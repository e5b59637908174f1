/**
 * Every seed object round-trips through zod and the store, on both backends: what goes in (with an
 * extension property) comes back equal and still valid by its schema.
 */
import type { z } from 'zod';
import * as scc from '../../domain/scc';
import * as sumo from '../../domain/sumo';
import { FleetStore } from '../../store/fleet-store';
import { BACKENDS, type Backend } from '../helpers/store-backends';

const version = (id: string) => ({ version_id: id, version_number: id.split('-')[0]!, build_number: id.split('-')[1]!, build_timestamp: 1_790_000_000, channel: 'ga' });
const at = (datetime: number, time_type: 'utc' | 'local' = 'utc') => ({ datetime, time_type, note: 'x' });
const definition = (delta = false) => ({ product_code: 'SH' as const, arch: 'x86_64' as const, target_version: version('9.16.0-100'), delta, ...(delta ? { source_version: version('9.14.0-100') } : {}), vendor_note: 'n' });

const appliance = { product_code: 'SH', arch: 'x86_64', serial: 'S12AB12345678', model: 'CX780', hostname: 'branch-1', ip_address: '10.0.0.1', current_version: version('9.14.0-100'), connected: true, time_zone: 'Europe/Berlin', entitled: true, read_only: false, groups: ['emea'], rack: 'r1' };
const upgradeOp = { id: '1790000000001', username: 'alice', create_time: '2026-11-01T10:00:00.000Z', status: 'scheduled', product_code: 'SH', upgrade_time: at(1_790_000_000, 'local'), target_version: version('9.16.0-100'), reboot: true, reboot_time: at(1_790_003_600), esxi_force: false, comment: 'q4', reboot_id: 1790000000002, appliances: ['S12AB12345678'], ticket: 'CHG-1' };
const downgradeOp = { id: '1790000000003', username: 'bob', create_time: '2026-11-02T10:00:00.000Z', status: 'running', product_code: 'SH', downgrade_time: at(1_790_000_000), target_version: version('9.12.0-100'), reboot: false, comment: 'back', appliances: ['S12AB12345678'], ticket: 'CHG-2' };
const rebootOp = { id: '1790000000002', username: 'alice', create_time: '2026-11-01T10:00:01.000Z', status: 'scheduled', switch_partition: true, reboot_time: at(1_790_003_600), comment: 'after upgrade', upgrade_id: '1790000000001', appliances: ['S12AB12345678'], ticket: 'CHG-1' };
const upgradeTask = { operation_id: upgradeOp.id, serial: 'S12AB12345678', status: 'scheduled', stage: 'waiting', upgrade_time: at(1_790_000_000), task_start_time: at(1_790_000_100), target_version: version('9.16.0-100'), reboot: true, reboot_time: at(1_790_003_600), esxi_force: false, current_version: version('9.14.0-100'), hostname: 'branch-1', extra: 1 };
const downgradeTask = { operation_id: downgradeOp.id, serial: 'S12AB12345678', status: 'running', stage: 'installing', downgrade_time: at(1_790_000_000), target_version: version('9.12.0-100'), reboot: false, current_version: version('9.16.0-100'), extra: 2 };
const rebootTask = { operation_id: rebootOp.id, serial: 'S12AB12345678', status: 'scheduled', stage: 'waiting', switch_partition: true, reboot_time: at(1_790_003_600), deferred: false, hostname: 'branch-1', extra: 3 };
const log = { timestamp: 1_790_000_000, log_entry: 'started', severity: 'notice', source: 'test' };
const collector = { id: 100000000, name: 'SumoCollector_Local', hostName: 'TestHost', timeZone: 'UTC', links: [{ rel: 'sources', href: '/v1/collectors/100000000/sources' }], ephemeral: false, sourceSyncMode: 'UI', collectorType: 'Installable', collectorVersion: '20.1-2749', osVersion: '10.11.5', osName: 'Mac OS X', osArch: 'x86_64', lastSeenAlive: 1465848876035, alive: true };

/** Parses with the schema (it must be valid) and checks parsing kept everything. */
function valid<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.parse(value);
  expect(parsed).toEqual(value);
  return parsed;
}

describe.each(BACKENDS)('%s', (_name, makeBackend) => {
  let backend: Backend;
  let store: FleetStore;
  beforeAll(async () => {
    backend = await makeBackend();
    store = await FleetStore.open(await backend.freshUrl());
  });
  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  test('appliance', async () => {
    await store.upsertAppliance(valid(scc.appliance, appliance) as never, { address: 'https://10.0.0.1', username: 'admin', password: 'secret' });
    expect(valid(scc.appliance, await store.getAppliance(appliance.serial))).toEqual(appliance);
  });

  test.each([
    ['riverbed', 'riverbed', scc.riverbedHostedImage, { id: 'rb-1', image_definition: definition(), url: 'https://support.example/sh.img', source_versions: [version('9.12.0-100')], size: 1 }],
    ['customer', 'local', scc.locallyHostedImage, { id: 'lo-1', image_definition: definition(true), modification_time: 1_790_000_000, size: 2 }],
    ['customer', 'customer_url', scc.customerUrlHostedImage, { id: 'cu-1', image_definition: definition(), url: 'https://cdn.example/sh.img', registration_time: 1_790_000_000, size: 3 }],
  ] as const)('%s image from %s', async (repository, source, schema, image) => {
    await store.addImage({ repository, source, image: valid(schema, image) as never });
    const stored = await store.getImage(image.id);
    expect(stored).toEqual({ repository, source, image });
    valid(schema, stored!.image);
    valid(scc.image, { ...stored!.image, image_sources: [stored!.source] });
  });

  test.each([
    ['upgrade', scc.upgradeOperation, upgradeOp, scc.applianceUpgradeTask, upgradeTask, scc.applianceUpgradeTaskState],
    ['downgrade', scc.downgradeOperation, downgradeOp, scc.applianceDowngradeTask, downgradeTask, scc.applianceDowngradeTaskState],
    ['reboot', scc.rebootOperation, rebootOp, scc.applianceRebootTask, rebootTask, scc.applianceRebootTaskState],
  ] as const)('%s operation, its appliance task, task state and logs', async (kind, opSchema, op, taskSchema, task, stateSchema) => {
    await store.insertOperation(kind, valid(opSchema, op) as never, [valid(taskSchema, task) as never]);
    expect(valid(opSchema, await store.getOperation(kind, op.id))).toEqual(op);
    const storedTask = await store.getTask(op.id, task.serial);
    expect(valid(taskSchema, storedTask)).toEqual(task);
    valid(stateSchema, { operation_id: op.id, serial: task.serial, status: storedTask!.status, stage: storedTask!.stage });
    await store.appendLog(op.id, valid(scc.logEntry, log) as never);
    await store.appendLog(op.id, valid(scc.logEntry, { ...log, log_entry: 'task line' }) as never, task.serial);
    valid(scc.operationLog, { operation_id: op.id, log: await store.getLog(op.id) });
    valid(scc.applianceTaskLog, { operation_id: op.id, serial: task.serial, log: await store.getLog(op.id, task.serial) });
    expect(await store.getLog(op.id, task.serial)).toEqual([{ ...log, log_entry: 'task line' }]);
  });

  test('logging level', async () => {
    await store.setSetting('logging_level', valid(scc.loggingLevel, 'notice'));
    valid(scc.logging, { level: await store.getSetting('logging_level') });
    expect(await store.getSetting('logging_level')).toBe('notice');
  });

  test('Sumo collector and upgrade task', async () => {
    await store.upsertCollector(valid(sumo.collector, collector) as never);
    expect(valid(sumo.collector, await store.getCollector(collector.id))).toEqual(collector);
    const created = await store.insertCollectorUpgradeTask({ collectorId: collector.id, toVersion: '19.152-1', requestTime: 1465855411044, status: 0, message: '' });
    await store.updateCollectorUpgradeTask(created.id, { status: 2 });
    const task = await store.getCollectorUpgradeTask(created.id);
    expect(valid(sumo.upgradeTaskResponse, { upgrade: task })).toEqual({ upgrade: { id: created.id, collectorId: collector.id, toVersion: '19.152-1', requestTime: 1465855411044, status: 2, message: '' } });
  });
});
