/** One simulated Sumo collector. An upgrade, once asked for, completes by itself, as real collectors do. */
import type { CollectorCounters, CollectorInfo, CollectorJob } from '../domain/device-api';
import { DeviceApiError, type SimulatorTimings } from './appliance';
import { COLLECTOR_BUILDS, type CollectorSpec } from './fleet';

interface UpgradeJob {
  id: string;
  toVersion: string;
  startedAt: number;
  durationMs: number;
  state: CollectorJob['state'];
}

export class SimulatedCollector {
  private version: string;
  private readonly jobs = new Map<string, UpgradeJob>();
  private readonly idempotent = new Map<string, CollectorJob>();
  private seq = 0;
  /** While held (/admin/collectors/{id}/hold), a running upgrade does not complete: tests release it when they are ready. */
  held = false;
  readonly counters: CollectorCounters = { upgrades: 0, idempotent_replays: 0 };

  constructor(
    readonly spec: CollectorSpec,
    private readonly timings: SimulatorTimings & { collectorUpgradeSeconds?: number },
    private readonly now: () => number = Date.now,
  ) {
    this.version = spec.collectorVersion;
  }

  private advance(): void {
    if (this.held) return;
    for (const job of this.jobs.values()) {
      if (job.state === 'running' && this.now() >= job.startedAt + job.durationMs) {
        job.state = 'succeeded';
        this.version = job.toVersion;
        this.counters.upgrades++;
      }
    }
  }

  info(): CollectorInfo {
    this.advance();
    return {
      ...this.spec,
      collectorVersion: this.version,
      lastSeenAlive: this.spec.alive ? this.now() : this.now() - 86_400_000,
    };
  }

  upgrade(toVersion: string, idempotencyKey: string): CollectorJob {
    const previous = this.idempotent.get(idempotencyKey);
    if (previous) {
      this.counters.idempotent_replays++;
      return previous;
    }
    this.advance();
    if (!this.spec.alive)
      throw new DeviceApiError(503, 'collector.not_alive', `collector ${this.spec.id} is not running`);
    if (this.spec.collectorType !== 'Installable')
      throw new DeviceApiError(409, 'collector.hosted', `collector ${this.spec.id} is a Hosted collector`);
    if (!(COLLECTOR_BUILDS as readonly string[]).includes(toVersion))
      throw new DeviceApiError(400, 'request.invalid', `unknown collector build ${toVersion}`);
    if ([...this.jobs.values()].some((j) => j.state === 'running'))
      throw new DeviceApiError(409, 'device.busy', `collector ${this.spec.id} is already upgrading`);
    const job: UpgradeJob = {
      id: `upgrade-${++this.seq}`,
      toVersion,
      startedAt: this.now(),
      durationMs: ((this.timings.collectorUpgradeSeconds ?? 90) * 1000) / this.timings.speed,
      state: 'running',
    };
    this.jobs.set(job.id, job);
    const view = this.view(job);
    this.idempotent.set(idempotencyKey, view);
    return view;
  }

  job(id: string): CollectorJob {
    this.advance();
    const job = this.jobs.get(id);
    if (!job) throw new DeviceApiError(404, 'job.not_found', `no job ${id} on collector ${this.spec.id}`);
    return this.view(job);
  }

  private view(job: UpgradeJob): CollectorJob {
    const progress =
      job.state === 'succeeded' ? 1 : Math.min(0.99, (this.now() - job.startedAt) / Math.max(1, job.durationMs));
    return {
      id: job.id,
      collector_id: this.spec.id,
      kind: 'upgrade',
      to_version: job.toVersion,
      state: job.state,
      progress,
    };
  }
}
