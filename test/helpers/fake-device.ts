/**
 * In-memory stand-in for the device activities, for workflow tests on the time-skipping server
 * (where virtual time only jumps while no activity is running, so device calls must return at once).
 * Integration tests use the real activities against the simulator instead.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { DeviceActivities, DeviceJobStart } from '../../activities/device-activities';
import type { ImageActivities } from '../../activities/image-activities';
import type { DeviceHealth, DeviceInfo, DeviceJob } from '../../domain/device-api';
import type { ProductCode } from '../../domain/scc';

export interface FakeCall {
  activity: string;
  serial: string;
  /** Wall-clock time of the call; the test server's virtual clock is read separately. */
  at: number;
}

/** The name each device job's start is recorded under (as the separate device calls were named). */
const START_NAMES = {
  stage: 'stageImage',
  patch: 'patchImage',
  install: 'installImage',
  reboot: 'rebootAppliance',
} as const;

export interface FakeDeviceOptions {
  productCode?: ProductCode;
  unreachable?: Set<string>;
  failing?: Set<string>;
  busy?: Set<string>;
  /** Each device job lasts this long (virtual time read from `clock`); default: done at once. */
  jobSeconds?: number;
  /** The time the jobs' durations are measured in (the test server's virtual clock). */
  clock?: () => Promise<number>;
  /** Health: each of these appliances reports its services up only this many seconds (`clock` time) after its last reboot started; the others at once. */
  healthySecondsAfterReboot?: Record<string, number>;
}

/**
 * `unreachable`: every call fails (retryable); `failing`: staging is refused (final); `busy`: staging
 * fails (retryable) and the device asks to be tried again in an hour, so the task waits in a durable
 * retry until its time limit.
 */
export function fakeDeviceActivities(options: FakeDeviceOptions = {}) {
  const calls: FakeCall[] = [];
  const versions = new Map<string, string>();
  /** Every timed job's start and end in `clock` time, and whether it was cancelled. */
  const jobs = new Map<
    string,
    { serial: string; kind: DeviceJob['kind']; startMs: number; endMs: number; cancelled?: boolean }
  >();
  const record = (activity: string, serial: string): void => {
    calls.push({ activity, serial, at: Date.now() });
    if (options.unreachable?.has(serial))
      throw ApplicationFailure.retryable(`appliance ${serial} does not answer`, 'network');
  };
  const clock = options.clock ?? (async () => Date.now());
  const rebootedAtMs = new Map<string, number>();

  function applyEffect(serial: string, start: DeviceJobStart): void {
    if (start.kind === 'install') versions.set(`${serial}:standby`, start.request.version_id);
    if (start.kind === 'reboot') {
      const standby = versions.get(`${serial}:standby`);
      if (standby) versions.set(serial, standby);
    }
  }

  async function view(id: string): Promise<DeviceJob> {
    const job = jobs.get(id)!;
    const now = await clock();
    const state = job.cancelled ? 'cancelled' : now >= job.endMs ? 'succeeded' : 'running';
    const progress = state === 'succeeded' ? 1 : Math.min(0.99, (now - job.startMs) / (job.endMs - job.startMs));
    return { id, serial: job.serial, kind: job.kind, state, progress, expected_seconds: options.jobSeconds! };
  }

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
    async planImages({ serial, current_version, target_version }) {
      record('planImages', serial);
      const request = { url: `http://images.invalid/${target_version.version_id}.img`, target_version, delta: false };
      return {
        ok: true,
        hops: [
          {
            image_id: `full-${target_version.version_id}`,
            repository: 'riverbed',
            delta: false,
            from_version_id: current_version.version_id,
            request,
          },
        ],
      };
    },
    async startDeviceJob({ serial, job: start, idempotencyKey }) {
      record(START_NAMES[start.kind], serial);
      if (start.kind === 'stage' && options.failing?.has(serial))
        throw ApplicationFailure.nonRetryable(`appliance ${serial} refused the image`, 'image.refused');
      if (start.kind === 'stage' && options.busy?.has(serial))
        throw ApplicationFailure.create({
          message: `appliance ${serial} is busy`,
          type: 'device.busy',
          nextRetryDelay: '1 hour',
        });
      applyEffect(serial, start);
      if (start.kind === 'reboot') rebootedAtMs.set(serial, await clock());
      if (options.jobSeconds === undefined)
        return { id: `${start.kind}-1`, serial, kind: start.kind, state: 'succeeded', progress: 1 };
      if (!jobs.has(idempotencyKey)) {
        const startMs = await clock();
        jobs.set(idempotencyKey, { serial, kind: start.kind, startMs, endMs: startMs + options.jobSeconds * 1000 });
      }
      return view(idempotencyKey);
    },
    async readDeviceJob({ serial, jobId }) {
      record('readDeviceJob', serial);
      return { reachable: true, job: await view(jobId) };
    },
    async readApplianceHealth({ serial }) {
      record('readApplianceHealth', serial);
      const uptimeMs = (await clock()) - (rebootedAtMs.get(serial) ?? Number.NEGATIVE_INFINITY);
      const up = uptimeMs >= (options.healthySecondsAfterReboot?.[serial] ?? 0) * 1000;
      const health: DeviceHealth = {
        serial,
        uptime_seconds: Math.min(Math.floor(uptimeMs / 1000), 86_400),
        services: [{ name: 'optimization', state: up ? 'up' : 'starting' }],
        error_counters: {},
      };
      return { reachable: true, health };
    },
    async cancelDeviceJob({ serial, jobId }) {
      record('cancelDeviceJob', serial);
      const job = jobs.get(jobId);
      if (job) {
        job.cancelled = true;
        job.endMs = Math.min(job.endMs, await clock());
      }
      return 'the device stopped its job';
    },
  };

  /** The most timed jobs that ran at the same instant. */
  function peakConcurrentJobs(): number {
    const edges = [...jobs.values()]
      .flatMap((j) => [
        { at: j.startMs, d: 1 },
        { at: j.endMs, d: -1 },
      ])
      .sort((a, b) => a.at - b.at || a.d - b.d);
    let running = 0;
    let peak = 0;
    for (const e of edges) peak = Math.max(peak, (running += e.d));
    return peak;
  }
  /** From the first timed job's start to the last one's end (`clock` time). */
  function jobSpanMs(): number {
    const all = [...jobs.values()];
    return Math.max(...all.map((j) => j.endMs)) - Math.min(...all.map((j) => j.startMs));
  }
  return { activities, calls, peakConcurrentJobs, jobSpanMs };
}
