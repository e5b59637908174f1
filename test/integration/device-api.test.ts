/**
 * The device API over a real socket: the simulator as a separate process, driven through the
 * device client. Idempotency keys, error classification, the reboot that activates a partition.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceClient, DeviceError } from '../../activities/device-client';
import type { DeviceJob } from '../../domain/device-api';
import { startSimulator, type SimulatorProcess } from '../helpers/servers';

let sim: SimulatorProcess;
let devices: DeviceClient;
const TARGET = { version_id: '9.16.0-100', version_number: '9.16.0', build_number: '100' };

beforeAll(async () => {
  sim = await startSimulator({ appliances: 12, speed: 1000 });
  devices = new DeviceClient({ baseUrl: sim.url, timeoutMs: 2000 });
});
afterAll(() => sim?.stop());

async function finished(serial: string, jobId: string): Promise<DeviceJob> {
  for (;;) {
    try {
      const job = await devices.job(serial, jobId);
      if (job.state !== 'running') return job;
    } catch (err) {
      // Down while rebooting: the classification says try again.
      if (!(err instanceof DeviceError) || !err.retryable) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function errorOf(promise: Promise<unknown>): Promise<DeviceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeviceError);
  return err as DeviceError;
}

test('repeating every mutating call with its idempotency key has one effect', async () => {
  const [serial] = await devices.listSerials('SH');
  const stage = { url: 'http://images.invalid/x.img', target_version: TARGET };
  const first = await devices.stage(serial!, stage, 'op1:stage');
  expect((await devices.stage(serial!, stage, 'op1:stage')).id).toBe(first.id);
  expect((await finished(serial!, first.id)).state).toBe('succeeded');
  expect((await devices.stage(serial!, stage, 'op1:stage')).id).toBe(first.id);

  const install = await devices.install(serial!, { version_id: TARGET.version_id }, 'op1:install');
  expect((await devices.install(serial!, { version_id: TARGET.version_id }, 'op1:install')).id).toBe(install.id);
  await finished(serial!, install.id);
  const standby = await devices.info(serial!);
  expect(standby.standby_version?.version_id).toBe(TARGET.version_id);
  expect(standby.running_version.version_id).not.toBe(TARGET.version_id);

  const reboot = await devices.reboot(serial!, { switch_partition: true }, 'op1:reboot');
  expect((await devices.reboot(serial!, { switch_partition: true }, 'op1:reboot')).id).toBe(reboot.id);
  expect((await finished(serial!, reboot.id)).state).toBe('succeeded');

  expect((await devices.info(serial!)).running_version.version_id).toBe(TARGET.version_id);
  expect(await devices.counters(serial!)).toEqual({
    stages: 1,
    patches: 0,
    installs: 1,
    reboots: 1,
    idempotent_replays: 4,
  });
});

test('a delta image is patched against the running version before it can be installed', async () => {
  const [serial] = await devices.listSerials('WW');
  const running = (await devices.info(serial!)).running_version;
  const other = { version_id: '9.10.0-100' };
  // A delta from another version stages (a download) but does not patch.
  const wrong = await devices.stage(
    serial!,
    { url: 'http://images.invalid/w.delta', target_version: TARGET, delta: true, source_version: other },
    'd:stage-wrong',
  );
  await finished(serial!, wrong.id);
  expect(
    await errorOf(devices.install(serial!, { version_id: TARGET.version_id }, 'd:install-unpatched')),
  ).toMatchObject({ status: 409, code: 'image.not_patched', retryable: false });
  expect(await errorOf(devices.patch(serial!, { version_id: TARGET.version_id }, 'd:patch-wrong'))).toMatchObject({
    status: 409,
    code: 'image.source_mismatch',
    retryable: false,
  });
  expect(await errorOf(devices.patch(serial!, { version_id: '9.99.0-100' }, 'd:patch-none'))).toMatchObject({
    status: 409,
    code: 'image.not_staged',
  });

  const right = await devices.stage(
    serial!,
    { url: 'http://images.invalid/r.delta', target_version: TARGET, delta: true, source_version: running },
    'd:stage',
  );
  await finished(serial!, right.id);
  const patch = await devices.patch(serial!, { version_id: TARGET.version_id }, 'd:patch');
  expect(patch).toMatchObject({ kind: 'patch', state: 'running' });
  expect((await devices.patch(serial!, { version_id: TARGET.version_id }, 'd:patch')).id).toBe(patch.id);
  expect((await finished(serial!, patch.id)).state).toBe('succeeded');
  const install = await devices.install(serial!, { version_id: TARGET.version_id }, 'd:install');
  expect((await finished(serial!, install.id)).state).toBe('succeeded');
  expect((await devices.info(serial!)).standby_version?.version_id).toBe(TARGET.version_id);
  expect(await devices.counters(serial!)).toMatchObject({ stages: 2, patches: 1, installs: 1 });
});

test('a rebooting device answers 503, classified retryable', async () => {
  const [serial] = await devices.listSerials('EX');
  const slow = await startSimulator({ appliances: 12, speed: 1 });
  try {
    const client = new DeviceClient({ baseUrl: slow.url });
    await client.reboot(serial!, {}, 'r1');
    const err = await errorOf(client.info(serial!));
    expect(err).toMatchObject({ status: 503, code: 'device.rebooting', retryable: true });
  } finally {
    await slow.stop();
  }
});

test('final errors are not retryable; network errors are', async () => {
  const [serial] = await devices.listSerials('IC');
  expect(await errorOf(devices.info('S00AB00000000'))).toMatchObject({
    status: 404,
    code: 'device.not_found',
    retryable: false,
  });
  expect(await errorOf(devices.install(serial!, { version_id: 'never-staged' }, 'k1'))).toMatchObject({
    status: 409,
    code: 'image.not_staged',
    retryable: false,
  });
  expect(await errorOf(devices.stage(serial!, { url: '', target_version: TARGET }, 'k2'))).toMatchObject({
    status: 400,
    code: 'request.invalid',
    retryable: false,
  });
  const res = await fetch(`${sim.url}/devices/${serial}/reboot`, {
    method: 'POST',
    body: '{}',
    headers: { 'content-type': 'application/json' },
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('request.idempotency_key_required');

  const nowhere = new DeviceClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 1000 });
  expect(await errorOf(nowhere.info(serial!))).toMatchObject({ status: 0, code: 'network', retryable: true });
  // Nothing above changed the device.
  expect(await devices.counters(serial!)).toEqual({
    stages: 0,
    patches: 0,
    installs: 0,
    reboots: 0,
    idempotent_replays: 0,
  });
});

test('a device busy with a job refuses another, retryably, and a cancelled job ends cancelled', async () => {
  const slow = await startSimulator({ appliances: 6, speed: 1 });
  try {
    const client = new DeviceClient({ baseUrl: slow.url });
    const [serial] = await client.listSerials('SH');
    const job = await client.stage(serial!, { url: 'http://images.invalid/x.img', target_version: TARGET }, 's1');
    expect(
      await errorOf(client.stage(serial!, { url: 'http://images.invalid/y.img', target_version: TARGET }, 's2')),
    ).toMatchObject({ status: 409, code: 'device.busy', retryable: true });
    expect(await client.cancelJob(serial!, job.id)).toMatchObject({ state: 'cancelled' });
    expect(await client.counters(serial!)).toMatchObject({ stages: 0 });
  } finally {
    await slow.stop();
  }
});

test('/admin/stats counts device-API requests and jobs running at once; a reset zeroes the counts', async () => {
  const slow = await startSimulator({ appliances: 6, speed: 1 });
  try {
    const client = new DeviceClient({ baseUrl: slow.url });
    const stats = async () => (await fetch(`${slow.url}/admin/stats`)).json();
    expect(await fetch(`${slow.url}/admin/stats/reset`, { method: 'POST' }).then((r) => r.json())).toEqual({
      requests: 0,
      jobs_running: 0,
      peak_jobs_running: 0,
      jobs_started: 0,
    });
    const [first, second] = await client.listSerials();
    const job = await client.stage(first!, { url: 'http://images.invalid/x.img', target_version: TARGET }, 'st1');
    expect(job.expected_seconds).toBeGreaterThan(30);
    await client.stage(second!, { url: 'http://images.invalid/x.img', target_version: TARGET }, 'st2');
    await client.cancelJob(first!, job.id);
    await client.counters(first!); // /admin: not a device-API request
    expect(await stats()).toEqual({ requests: 4, jobs_running: 1, peak_jobs_running: 2, jobs_started: 2 });
    await fetch(`${slow.url}/admin/stats/reset`, { method: 'POST' });
    expect(await stats()).toEqual({ requests: 0, jobs_running: 1, peak_jobs_running: 1, jobs_started: 0 });
  } finally {
    await slow.stop();
  }
});

test('a collector upgrade is idempotent and completes by itself', async () => {
  const withCollectors = await startSimulator({ appliances: 1, collectors: 30, speed: 1000, profile: 'demo' });
  try {
    const client = new DeviceClient({ baseUrl: withCollectors.url });
    const ids = await client.listCollectorIds();
    expect(ids).toHaveLength(30);
    const infos = await Promise.all(ids.map((id) => client.collector(id)));
    const target = infos.find(
      (c) => c.collectorType === 'Installable' && c.alive && c.collectorVersion !== '20.1-2749',
    )!;
    const first = await client.upgradeCollector(target.id, '20.1-2749', 'sumo-1');
    expect((await client.upgradeCollector(target.id, '20.1-2749', 'sumo-1')).id).toBe(first.id);
    for (;;) {
      if ((await client.collectorJob(target.id, first.id)).state === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await client.collector(target.id)).collectorVersion).toBe('20.1-2749');
    expect(await client.collectorCounters(target.id)).toEqual({ upgrades: 1, idempotent_replays: 1 });

    const hosted = infos.find((c) => c.collectorType === 'Hosted')!;
    expect(await errorOf(client.upgradeCollector(hosted.id, '20.1-2749', 'sumo-2'))).toMatchObject({
      status: 409,
      code: 'collector.hosted',
      retryable: false,
    });
    const dead = infos.find((c) => !c.alive && c.collectorType === 'Installable')!;
    expect(await errorOf(client.upgradeCollector(dead.id, '20.1-2749', 'sumo-3'))).toMatchObject({
      status: 503,
      code: 'collector.not_alive',
    });
  } finally {
    await withCollectors.stop();
  }
});

test('a fleet file gives exactly its devices; a bad one stops the simulator with the field named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-file-'));
  try {
    const file = join(dir, 'fleet.json');
    const appliance = {
      serial: 'S12AB12345678',
      product_code: 'SH',
      model: 'CX780',
      arch: 'x86_64',
      hostname: 'edge-1',
      ip_address: '10.0.0.1',
      time_zone: 'Europe/Paris',
      running_version: { version_id: '9.12.0-100' },
    };
    writeFileSync(
      file,
      JSON.stringify({
        appliances: [appliance, { ...appliance, serial: 'E12AB12345678', product_code: 'EX', hostname: 'edge-2' }],
        collectors: [
          {
            id: 4242,
            name: 'c',
            hostName: 'h',
            timeZone: 'UTC',
            collectorType: 'Installable',
            collectorVersion: '19.115-37',
            osVersion: '1',
            osName: 'Linux',
            osArch: 'amd64',
          },
        ],
      }),
    );
    const fromFile = await startSimulator({ appliances: 0, speed: 1000, fleetFile: file });
    try {
      const client = new DeviceClient({ baseUrl: fromFile.url });
      expect(await client.listSerials()).toEqual(['S12AB12345678', 'E12AB12345678']);
      expect(await client.info('S12AB12345678')).toMatchObject({
        hostname: 'edge-1',
        time_zone: 'Europe/Paris',
        connected: true,
        groups: [],
      });
      expect((await client.collector(4242)).collectorVersion).toBe('19.115-37');
    } finally {
      await fromFile.stop();
    }
    writeFileSync(file, JSON.stringify({ appliances: [{ ...appliance, serial: 'not-a-serial' }] }));
    await expect(startSimulator({ appliances: 0, speed: 1000, fleetFile: file })).rejects.toThrow(
      /simulator exited with 2: .*fleet file: appliances\.0\.serial: must match the serial pattern/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fleet-wide faults: through /admin/faults (repeatable by seed) and at start-up', async () => {
  const post = async (body: unknown) => {
    const res = await fetch(`${sim.url}/admin/faults`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    return {
      status: res.status,
      body: (await res.json()) as { serials?: string[]; error?: { code: string; message: string } },
    };
  };
  const sh = await devices.listSerials('SH');
  const hit = await post({ fault: { kind: 'slow_link', factor: 3 }, probability: 1, product_code: 'SH', seed: 5 });
  expect(hit.status).toBe(201);
  expect(hit.body.serials!.sort()).toEqual([...sh].sort());
  const faults = await fetch(`${sim.url}/admin/devices/${sh[0]}/faults`).then((r) => r.json());
  expect(faults).toEqual({ faults: [{ kind: 'slow_link', factor: 3 }] });
  for (const serial of sh) await devices.clearFaults(serial);
  expect(await post({ fault: { kind: 'slow_link', factor: 0.5 }, probability: 1 })).toMatchObject({
    status: 400,
    body: { error: { code: 'request.invalid' } },
  });

  const flapping = await startSimulator({ appliances: 6, speed: 1000, faults: ['flapping_5xx=1@1'] });
  try {
    const client = new DeviceClient({ baseUrl: flapping.url });
    const [serial] = await client.listSerials();
    expect(await errorOf(client.info(serial!))).toMatchObject({
      status: 503,
      code: 'device.unavailable',
      retryable: true,
    });
  } finally {
    await flapping.stop();
  }
  await expect(startSimulator({ appliances: 6, speed: 1000, faults: ['melt@1'] })).rejects.toThrow(
    /exited with 2: .*--fault 'melt@1'/,
  );
});
