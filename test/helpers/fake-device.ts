/**
 * In-memory stand-in for the device activities, for workflow tests on the time-skipping server
 * (where virtual time only jumps while no activity is running, so device calls must return at once).
 * Integration tests use the real activities against the simulator instead.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { DeviceActivities } from '../../activities/device-activities';
import type { ImageActivities } from '../../activities/image-activities';
import type { DeviceInfo, DeviceJob } from '../../domain/device-api';
import type { ProductCode } from '../../domain/scc';

export interface FakeCall {
  activity: string;
  serial: string;
  /** Wall-clock time of the call; the test server's virtual clock is read separately. */
  at: number;
}

/**
 * `unreachable`: every call fails (retryable); `failing`: staging is refused (final); `busy`: staging
 * fails (retryable) and the device asks to be tried again in an hour, so the task waits in a durable
 * retry until its time limit.
 */
export function fakeDeviceActivities(options: { productCode?: ProductCode; unreachable?: Set<string>; failing?: Set<string>; busy?: Set<string> } = {}) {
  const calls: FakeCall[] = [];
  const versions = new Map<string, string>();
  const record = (activity: string, serial: string): void => {
    calls.push({ activity, serial, at: Date.now() });
    if (options.unreachable?.has(serial)) throw ApplicationFailure.retryable(`appliance ${serial} does not answer`, 'network');
  };
  const job = (serial: string, kind: DeviceJob['kind']): DeviceJob => ({ id: `${kind}-1`, serial, kind, state: 'succeeded', progress: 1 });

  const activities: DeviceActivities & ImageActivities = {
    async readApplianceInfo({ serial }) {
      record('readApplianceInfo', serial);
      const version = versions.get(serial) ?? '9.12.0-100';
      const info: DeviceInfo = {
        serial,
        product_code: options.productCode ?? 'SH',
        model: 'CX780',
        arch: 'x86_64',
        hostname: serial.toLowerCase(),
        ip_address: '10.0.0.1',
        time_zone: 'UTC',
        running_version: { version_id: version },
        standby_version: null,
        esxi_version: null,
        connected: true,
        entitled: true,
        read_only: false,
        model_eol: false,
        groups: [],
      };
      return info;
    },
    async resolveUpgradeImage({ serial, target_version }) {
      record('resolveUpgradeImage', serial);
      return { url: `http://images.invalid/${target_version.version_id}.img`, target_version, delta: false };
    },
    async planImages({ serial, current_version, target_version }) {
      record('planImages', serial);
      const request = { url: `http://images.invalid/${target_version.version_id}.img`, target_version, delta: false };
      return { ok: true, hops: [{ image_id: `full-${target_version.version_id}`, repository: 'riverbed', delta: false, from_version_id: current_version.version_id, request }] };
    },
    async stageImage({ serial }) {
      record('stageImage', serial);
      if (options.failing?.has(serial)) throw ApplicationFailure.nonRetryable(`appliance ${serial} refused the image`, 'image.refused');
      if (options.busy?.has(serial)) throw ApplicationFailure.create({ message: `appliance ${serial} is busy`, type: 'device.busy', nextRetryDelay: '1 hour' });
      return job(serial, 'stage');
    },
    async patchImage({ serial }) {
      record('patchImage', serial);
      return job(serial, 'patch');
    },
    async installImage({ serial, request }) {
      record('installImage', serial);
      versions.set(`${serial}:standby`, request.version_id);
      return job(serial, 'install');
    },
    async rebootAppliance({ serial }) {
      record('rebootAppliance', serial);
      const standby = versions.get(`${serial}:standby`);
      if (standby) versions.set(serial, standby);
      return job(serial, 'reboot');
    },
    // Recorded under the name of the step it starts, as the separate start calls are.
    async runDeviceJob({ job: start, ...call }) {
      switch (start.kind) {
        case 'stage':
          return activities.stageImage({ ...call, request: start.request });
        case 'patch':
          return activities.patchImage({ ...call, request: start.request });
        case 'install':
          return activities.installImage({ ...call, request: start.request });
        case 'reboot':
          return activities.rebootAppliance({ ...call, request: start.request });
      }
    },
    async awaitDeviceJob({ serial, jobId }) {
      record('awaitDeviceJob', serial);
      return { ...job(serial, 'stage'), id: jobId };
    },
  };
  return { activities, calls };
}
