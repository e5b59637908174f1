/**
 * The device API over a real socket: the simulator as a separate process, driven through the
 * device client. Idempotency keys, error classification, the reboot that activates a partition.
 */
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
  expect(await devices.counters(serial!)).toEqual({ stages: 1, installs: 1, reboots: 1, idempotent_replays: 4 });
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
  expect(await errorOf(devices.info('S00AB00000000'))).toMatchObject({ status: 404, code: 'device.not_found', retryable: false });
  expect(await errorOf(devices.install(serial!, { version_id: 'never-staged' }, 'k1'))).toMatchObject({ status: 409, code: 'image.not_staged', retryable: false });
  expect(await errorOf(devices.stage(serial!, { url: '', target_version: TARGET }, 'k2'))).toMatchObject({ status: 400, code: 'request.invalid', retryable: false });
  const res = await fetch(`${sim.url}/devices/${serial}/reboot`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('request.idempotency_key_required');

  const nowhere = new DeviceClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 1000 });
  expect(await errorOf(nowhere.info(serial!))).toMatchObject({ status: 0, code: 'network', retryable: true });
  // Nothing above changed the device.
  expect(await devices.counters(serial!)).toEqual({ stages: 0, installs: 0, reboots: 0, idempotent_replays: 0 });
});

test('a device busy with a job refuses another, retryably, and a cancelled job ends cancelled', async () => {
  const slow = await startSimulator({ appliances: 6, speed: 1 });
  try {
    const client = new DeviceClient({ baseUrl: slow.url });
    const [serial] = await client.listSerials('SH');
    const job = await client.stage(serial!, { url: 'http://images.invalid/x.img', target_version: TARGET }, 's1');
    expect(await errorOf(client.stage(serial!, { url: 'http://images.invalid/y.img', target_version: TARGET }, 's2'))).toMatchObject({ status: 409, code: 'device.busy', retryable: true });
    expect(await client.cancelJob(serial!, job.id)).toMatchObject({ state: 'cancelled' });
    expect(await client.counters(serial!)).toMatchObject({ stages: 0 });
  } finally {
    await slow.stop();
  }
});
