/**
 * One simulated appliance. Jobs carry their start time and duration and are advanced lazily on
 * every read, so a fleet of thousands needs no timers.
 */
import type { DeviceCounters, DeviceHealth, DeviceInfo, DeviceJob, SimulatorStats } from '../domain/device-api';
import type { Version } from '../domain/scc';
import type { Fault } from './faults';
import { seededRandom, type ApplianceSpec } from './fleet';

export interface SimulatorTimings {
  /** Divides every simulated duration: 60 makes a minute pass in a second. */
  speed: number;
  defaultImageBytes: number;
  /** Applying a delta image to the running version, after its download. */
  patchSeconds: number;
  installSeconds: number;
  rebootSeconds: number;
  /** After a reboot, the appliance's services take this long to come up. */
  serviceStartSeconds: number;
}

export const DEFAULT_TIMINGS: SimulatorTimings = {
  speed: 1,
  defaultImageBytes: 800_000_000,
  patchSeconds: 30,
  installSeconds: 120,
  rebootSeconds: 90,
  serviceStartSeconds: 10,
};

/** The services an appliance reports in its health. */
const SERVICES = ['management', 'datapath', 'optimization'] as const;

/** Seeds each device's own random source from its serial, so flapping is repeatable. */
function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export class DeviceApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The device-API figures the simulator serves at `GET /admin/stats`. */

/** One job's place in FleetJobStats: it runs until `endsAt`, or until it stops early (`stopped`). */
export interface JobSpan {
  endsAt: number;
  stopped: boolean;
  inHeap: boolean;
}

/**
 * Jobs running across a fleet, counted from each job's interval (jobs end lazily, on reads): a
 * min-heap of end times. The count only rises when a job starts, so the peak is taken there,
 * after dropping the jobs that have ended by then.
 */
export class FleetJobStats {
  requests = 0;
  private started = 0;
  private peak = 0;
  private readonly heap: JobSpan[] = [];
  /** Spans still in the heap whose job stopped early (cancelled). */
  private stoppedInHeap = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** A job started now and, unless stopped, runs `durationMs` (Infinity: until stopped). */
  jobStarted(durationMs: number): JobSpan {
    const now = this.now();
    const span: JobSpan = { endsAt: now + durationMs, stopped: false, inHeap: true };
    this.push(span);
    this.started++;
    this.peak = Math.max(this.peak, this.running(now));
    return span;
  }

  /** The job stopped before its time (cancelled). */
  jobStopped(span: JobSpan): void {
    if (span.stopped || !span.inHeap) return;
    span.stopped = true;
    this.stoppedInHeap++;
  }

  stats(): SimulatorStats {
    const running = this.running(this.now());
    return { requests: this.requests, jobs_running: running, peak_jobs_running: this.peak, jobs_started: this.started };
  }

  /** Zeroes the counts; the peak restarts from the jobs running now. */
  reset(): void {
    this.requests = 0;
    this.started = 0;
    this.peak = this.running(this.now());
  }

  private running(now: number): number {
    while (this.heap.length && (this.heap[0]!.stopped || this.heap[0]!.endsAt <= now)) {
      const span = this.pop();
      if (span.stopped) this.stoppedInHeap--;
    }
    return this.heap.length - this.stoppedInHeap;
  }

  private push(span: JobSpan): void {
    const h = this.heap;
    h.push(span);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.endsAt <= h[i]!.endsAt) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private pop(): JobSpan {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let least = i;
        if (l < h.length && h[l]!.endsAt < h[least]!.endsAt) least = l;
        if (r < h.length && h[r]!.endsAt < h[least]!.endsAt) least = r;
        if (least === i) break;
        [h[least], h[i]] = [h[i]!, h[least]!];
        i = least;
      }
    }
    top.inHeap = false;
    return top;
  }
}

interface Job {
  id: string;
  kind: DeviceJob['kind'];
  startedAt: number;
  /** How long it runs (Infinity when hung). */
  durationMs: number;
  /** How long it would run without a hang: what the device expects. */
  expectedMs: number;
  span?: JobSpan;
  state: DeviceJob['state'];
  message?: string;
  /** Applied once, when the job's time is up. */
  complete: () => void;
}

interface StagedImage {
  version: Version;
  /** A delta image not yet patched against the running version: it cannot be installed. */
  delta: boolean;
  source_version?: Version;
}

interface RecordedResponse {
  status: number;
  body: unknown;
}

export class SimulatedAppliance {
  private runningVersion: Version;
  private standbyVersion: Version | null = null;
  private readonly staged = new Map<string, StagedImage>();
  private readonly jobs = new Map<string, Job>();
  private readonly idempotent = new Map<string, RecordedResponse>();
  private rebootingUntil = 0;
  /** Set by `no_return_from_reboot`: the device went down and stays down. */
  private gone = false;
  private disconnectedUntil = 0;
  /** When the appliance last came up (a simulated day before start-up, then each reboot's end). */
  private bootedAt: number;
  /** `unhealthy_after_upgrade` without a version: the version that stays healthy (running when the fault was added). */
  private healthyVersionId: string | undefined;
  /** Install jobs failed by `fail_first_installs` since it was added. */
  private installsFailed = 0;
  private faults: Fault[] = [];
  private readonly random: () => number;
  private jobSeq = 0;
  readonly counters: DeviceCounters = { stages: 0, patches: 0, installs: 0, reboots: 0, idempotent_replays: 0 };

  constructor(
    readonly spec: ApplianceSpec,
    private readonly timings: SimulatorTimings,
    private readonly now: () => number = Date.now,
    /** Fleet-wide job figures (the Simulator's); none for an appliance on its own. */
    private readonly jobStats?: FleetJobStats,
  ) {
    this.runningVersion = spec.running_version;
    this.random = seededRandom(hashSeed(spec.serial));
    this.bootedAt = this.now() - this.simulatedMs(86_400);
  }

  addFault(fault: Fault): void {
    this.faults.push(fault);
    if (fault.kind === 'unhealthy_after_upgrade') this.healthyVersionId = this.runningVersion.version_id;
    if (fault.kind === 'fail_first_installs') this.installsFailed = 0;
    if (fault.kind === 'disconnect')
      this.disconnectedUntil = fault.seconds ? this.now() + this.simulatedMs(fault.seconds) : Number.POSITIVE_INFINITY;
  }

  clearFaults(): void {
    this.faults = [];
    this.disconnectedUntil = 0;
    this.gone = false;
  }

  listFaults(): Fault[] {
    return [...this.faults];
  }

  private fault<K extends Fault['kind']>(kind: K, stage?: DeviceJob['kind']): Extract<Fault, { kind: K }> | undefined {
    return this.faults.find(
      (f): f is Extract<Fault, { kind: K }> =>
        f.kind === kind && (stage === undefined || !('stage' in f) || f.stage === stage),
    );
  }

  private simulatedMs(seconds: number): number {
    return (seconds * 1000) / this.timings.speed;
  }

  /** Finishes every job whose time is up. */
  private advance(): void {
    const now = this.now();
    for (const job of this.jobs.values()) {
      if (job.state === 'running' && now >= job.startedAt + job.durationMs && !this.fault('hold_at_stage', job.kind)) {
        const failure = this.fault('fail_at_stage', job.kind);
        const flapping = job.kind === 'install' ? this.fault('fail_first_installs') : undefined;
        if (failure) {
          job.state = 'failed';
          job.message = failure.message ?? `simulated failure during ${job.kind}`;
        } else if (flapping && this.installsFailed < flapping.count) {
          this.installsFailed++;
          job.state = 'failed';
          job.message = `simulated install failure ${this.installsFailed} of ${flapping.count}`;
        } else {
          job.state = 'succeeded';
          job.complete();
        }
      }
    }
  }

  /** Throws when the device cannot answer (disconnected, or down in a reboot). */
  private reachable(options: { listedDisconnected?: boolean } = {}): void {
    this.advance();
    const flapping = this.fault('flapping_5xx');
    if (flapping && this.random() < flapping.probability)
      throw new DeviceApiError(503, 'device.unavailable', `appliance ${this.spec.serial} is temporarily unavailable`);
    if ((!this.spec.connected && !options.listedDisconnected) || this.now() < this.disconnectedUntil)
      throw new DeviceApiError(503, 'device.disconnected', `appliance ${this.spec.serial} is not connected`);
    if (this.gone || this.now() < this.rebootingUntil)
      throw new DeviceApiError(503, 'device.rebooting', `appliance ${this.spec.serial} is rebooting`);
  }

  info(): DeviceInfo {
    // An appliance the fleet lists as disconnected still reports itself (connected: false), as
    // SCC shows one it cannot reach; every other call fails. A `disconnect` fault answers nothing.
    if (!this.spec.connected) this.reachable({ listedDisconnected: true });
    else this.reachable();
    const { bandwidth_bps: _bandwidth, running_version: _initial, ...fixed } = this.spec;
    return { ...fixed, running_version: this.runningVersion, standby_version: this.standbyVersion };
  }

  /**
   * Services come up `serviceStartSeconds` after boot (`slow_to_healthy`: its `seconds`); with
   * `unhealthy_after_upgrade`, on the faulty version one service is down and restarts count up.
   */
  health(): DeviceHealth {
    this.reachable();
    const uptime = ((this.now() - this.bootedAt) * this.timings.speed) / 1000;
    const startSeconds = this.fault('slow_to_healthy')?.seconds ?? this.timings.serviceStartSeconds;
    const unhealthy = this.fault('unhealthy_after_upgrade');
    const faulty =
      unhealthy !== undefined &&
      (unhealthy.version_id
        ? unhealthy.version_id === this.runningVersion.version_id
        : this.runningVersion.version_id !== this.healthyVersionId);
    const services = SERVICES.map((name) => ({
      name,
      state:
        uptime < startSeconds
          ? ('starting' as const)
          : faulty && name === 'optimization'
            ? ('down' as const)
            : ('up' as const),
    }));
    const restarts = faulty && uptime >= startSeconds ? 1 + Math.floor((uptime - startSeconds) / 30) : 0;
    return {
      serial: this.spec.serial,
      uptime_seconds: Math.floor(uptime),
      services,
      error_counters: { service_restarts: restarts, kernel_panics: 0 },
    };
  }

  /**
   * Runs a mutating call once per idempotency key: a repeated key returns the first answer and
   * changes nothing.
   */
  idempotently(key: string, call: () => RecordedResponse): RecordedResponse {
    const previous = this.idempotent.get(key);
    if (previous) {
      this.counters.idempotent_replays++;
      return previous;
    }
    const response = call();
    this.idempotent.set(key, response);
    return response;
  }

  private startJob(kind: Job['kind'], expectedMs: number, complete: () => void): DeviceJob {
    // A hung job never finishes; only a cancel (or the orchestrator's time limit) ends it.
    const durationMs = this.fault('hang_at_stage', kind) ? Number.POSITIVE_INFINITY : expectedMs;
    const busy = [...this.jobs.values()].find((j) => j.state === 'running');
    if (busy)
      throw new DeviceApiError(
        409,
        'device.busy',
        `appliance ${this.spec.serial} is busy with ${busy.kind} job ${busy.id}`,
      );
    const job: Job = {
      id: `${kind}-${++this.jobSeq}`,
      kind,
      startedAt: this.now(),
      durationMs,
      expectedMs,
      state: 'running',
      complete,
    };
    if (this.jobStats) job.span = this.jobStats.jobStarted(durationMs);
    this.jobs.set(job.id, job);
    return this.view(job);
  }

  stage(request: {
    target_version: Version;
    delta: boolean;
    source_version?: Version | undefined;
    size_bytes?: number | undefined;
  }): DeviceJob {
    this.reachable();
    const bytes =
      request.size_bytes ?? (request.delta ? this.timings.defaultImageBytes / 10 : this.timings.defaultImageBytes);
    const slow = this.fault('slow_link')?.factor ?? 1;
    return this.startJob('stage', this.simulatedMs((bytes * slow) / this.spec.bandwidth_bps), () => {
      this.counters.stages++;
      this.staged.set(request.target_version.version_id, {
        version: request.target_version,
        delta: request.delta,
        ...(request.source_version ? { source_version: request.source_version } : {}),
      });
    });
  }

  /** Applies a staged delta image to the running version: it must be the delta's source version. */
  patch(request: { version_id: string }): DeviceJob {
    this.reachable();
    const image = this.staged.get(request.version_id);
    if (!image?.delta)
      throw new DeviceApiError(
        409,
        'image.not_staged',
        `no staged delta image for version ${request.version_id} on ${this.spec.serial}`,
      );
    if (image.source_version && image.source_version.version_id !== this.runningVersion.version_id) {
      throw new DeviceApiError(
        409,
        'image.source_mismatch',
        `the delta image to ${request.version_id} applies to ${image.source_version.version_id}, ${this.spec.serial} runs ${this.runningVersion.version_id}`,
      );
    }
    return this.startJob('patch', this.simulatedMs(this.timings.patchSeconds), () => {
      this.counters.patches++;
      this.staged.set(request.version_id, { version: image.version, delta: false });
    });
  }

  install(request: { version_id: string; esxi_force: boolean }): DeviceJob {
    this.reachable();
    const image = this.staged.get(request.version_id);
    if (!image)
      throw new DeviceApiError(
        409,
        'image.not_staged',
        `no staged image for version ${request.version_id} on ${this.spec.serial}`,
      );
    if (image.delta)
      throw new DeviceApiError(
        409,
        'image.not_patched',
        `the staged image for ${request.version_id} is a delta: patch it before installing`,
      );
    if (this.fault('esxi_conflict') && !request.esxi_force) {
      throw new DeviceApiError(
        409,
        'install.esxi_conflict',
        `installing ${request.version_id} would replace ESXi ${this.spec.esxi_version ?? '(installed)'} on ${this.spec.serial}; set esxi_force to proceed`,
      );
    }
    return this.startJob('install', this.simulatedMs(this.timings.installSeconds), () => {
      this.counters.installs++;
      // Installs go to the standby partition; a reboot with switch_partition activates them.
      this.standbyVersion = image.version;
    });
  }

  reboot(request: { switch_partition: boolean }): DeviceJob {
    this.reachable();
    const durationMs = this.simulatedMs(this.timings.rebootSeconds);
    const job = this.startJob('reboot', durationMs, () => undefined);
    this.counters.reboots++;
    this.rebootingUntil = this.now() + durationMs;
    this.bootedAt = this.rebootingUntil;
    if (this.fault('no_return_from_reboot')) this.gone = true;
    if (request.switch_partition && this.standbyVersion && !this.fault('wrong_version_after_reboot')) {
      const previous = this.runningVersion;
      this.runningVersion = this.standbyVersion;
      this.standbyVersion = previous;
    }
    return job;
  }

  job(id: string): DeviceJob {
    this.reachable();
    const job = this.jobs.get(id);
    if (!job) throw new DeviceApiError(404, 'job.not_found', `no job ${id} on ${this.spec.serial}`);
    return this.view(job);
  }

  cancelJob(id: string): DeviceJob {
    this.reachable();
    const job = this.jobs.get(id);
    if (!job) throw new DeviceApiError(404, 'job.not_found', `no job ${id} on ${this.spec.serial}`);
    if (job.state === 'running' && job.kind !== 'reboot') {
      job.state = 'cancelled';
      job.message = 'cancelled by request';
      if (job.span) this.jobStats?.jobStopped(job.span);
    }
    return this.view(job);
  }

  private view(job: Job): DeviceJob {
    const progress =
      job.state === 'succeeded' ? 1 : Math.min(0.99, (this.now() - job.startedAt) / Math.max(1, job.durationMs));
    return {
      id: job.id,
      serial: this.spec.serial,
      kind: job.kind,
      state: job.state,
      progress: Math.max(0, progress),
      expected_seconds: job.expectedMs / 1000,
      ...(job.message ? { message: job.message } : {}),
    };
  }
}
