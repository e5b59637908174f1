/**
 * HTTP client for the device API (docs/device-api.md). Node's fetch pools keep-alive connections;
 * every call has its own timeout; failures are DeviceError, classified retryable or final.
 */
import { z } from 'zod';
import {
  collectorCounters,
  collectorInfo,
  collectorJob,
  deviceCounters,
  deviceError,
  deviceHealth,
  deviceInfo,
  deviceJob,
  IDEMPOTENCY_KEY_HEADER,
  simulatorStats,
  type CollectorCounters,
  type CollectorInfo,
  type CollectorJob,
  type DeviceCounters,
  type DeviceHealth,
  type DeviceInfo,
  type DeviceJob,
  type InstallRequest,
  type PatchRequest,
  type RebootRequest,
  type SimulatorStats,
  type StageImageRequest,
} from '../domain/device-api';

export class DeviceError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when no answer came (network error, timeout). */
    readonly status: number,
    readonly code: string,
    /** True for failures a later attempt may get past: network, timeouts, 5xx, 429, a busy device. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeviceError';
  }
}

export function isRetryableStatus(status: number, code: string): boolean {
  return status === 0 || status >= 500 || status === 429 || code === 'device.busy';
}

export interface DeviceClientOptions {
  /** Base URL of the device API (the simulator, or a gateway to real devices). */
  baseUrl: string;
  timeoutMs?: number;
  /** Told of every failed request (the worker's device error metrics); `method` and `path` as requested. */
  onError?: (method: string, path: string, err: DeviceError) => void;
}

export class DeviceClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly onError: DeviceClientOptions['onError'];

  constructor(options: DeviceClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.onError = options.onError;
  }

  private async call<T extends z.ZodType>(
    schema: T,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<z.output<T>> {
    try {
      return await this.request(schema, method, path, options);
    } catch (err) {
      // A request the caller gave up on (its activity cancelled) is not the device's error.
      if (err instanceof DeviceError && !options.signal?.aborted) this.onError?.(method, path, err);
      throw err;
    }
  }

  private async request<T extends z.ZodType>(
    schema: T,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; idempotencyKey?: string; signal?: AbortSignal },
  ): Promise<z.output<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey) headers[IDEMPOTENCY_KEY_HEADER] = options.idempotencyKey;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const what = `${method} ${path}`;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        signal,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (err) {
      const reason = timeout.aborted ? `no answer within ${this.timeoutMs} ms` : (err as Error).message;
      throw new DeviceError(`${what}: ${reason}`, 0, timeout.aborted ? 'timeout' : 'network', true);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text.length ? JSON.parse(text) : undefined;
    } catch {
      throw new DeviceError(
        `${what}: answer is not JSON (HTTP ${response.status})`,
        response.status,
        'bad_response',
        response.status >= 500,
      );
    }
    if (!response.ok) {
      const parsed = deviceError.safeParse(json);
      const code = parsed.success ? parsed.data.error.code : `http_${response.status}`;
      const message = parsed.success ? parsed.data.error.message : `HTTP ${response.status}`;
      throw new DeviceError(`${what}: ${message}`, response.status, code, isRetryableStatus(response.status, code));
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new DeviceError(
        `${what}: unexpected answer: ${parsed.error.issues[0]?.message}`,
        response.status,
        'bad_response',
        false,
      );
    return parsed.data;
  }

  private static device(serial: string): string {
    return `/devices/${encodeURIComponent(serial)}`;
  }

  info(serial: string, signal?: AbortSignal): Promise<DeviceInfo> {
    return this.call(deviceInfo, 'GET', DeviceClient.device(serial), signal ? { signal } : {});
  }

  /** Services, error counters since boot and uptime (domain/rollout-safety.ts judges them). */
  health(serial: string, signal?: AbortSignal): Promise<DeviceHealth> {
    return this.call(deviceHealth, 'GET', `${DeviceClient.device(serial)}/health`, signal ? { signal } : {});
  }

  stage(serial: string, request: StageImageRequest, idempotencyKey: string): Promise<DeviceJob> {
    return this.call(deviceJob, 'POST', `${DeviceClient.device(serial)}/stage`, { body: request, idempotencyKey });
  }

  patch(serial: string, request: PatchRequest, idempotencyKey: string): Promise<DeviceJob> {
    return this.call(deviceJob, 'POST', `${DeviceClient.device(serial)}/patch`, { body: request, idempotencyKey });
  }

  install(serial: string, request: InstallRequest, idempotencyKey: string): Promise<DeviceJob> {
    return this.call(deviceJob, 'POST', `${DeviceClient.device(serial)}/install`, { body: request, idempotencyKey });
  }

  reboot(serial: string, request: RebootRequest, idempotencyKey: string): Promise<DeviceJob> {
    return this.call(deviceJob, 'POST', `${DeviceClient.device(serial)}/reboot`, { body: request, idempotencyKey });
  }

  job(serial: string, jobId: string, signal?: AbortSignal): Promise<DeviceJob> {
    return this.call(
      deviceJob,
      'GET',
      `${DeviceClient.device(serial)}/jobs/${encodeURIComponent(jobId)}`,
      signal ? { signal } : {},
    );
  }

  cancelJob(serial: string, jobId: string): Promise<DeviceJob> {
    return this.call(deviceJob, 'POST', `${DeviceClient.device(serial)}/jobs/${encodeURIComponent(jobId)}/cancel`);
  }

  /** Simulator only: per-device effect counters. */
  counters(serial: string): Promise<DeviceCounters> {
    return this.call(deviceCounters, 'GET', `/admin/devices/${encodeURIComponent(serial)}/counters`);
  }

  /** Simulator only: fleet-wide request and job figures since the last reset (or reset them now). */
  stats(options: { reset?: boolean } = {}): Promise<SimulatorStats> {
    return options.reset
      ? this.call(simulatorStats, 'POST', '/admin/stats/reset')
      : this.call(simulatorStats, 'GET', '/admin/stats');
  }

  /** Simulator only: inject a fault into one device (see simulator/faults.ts), or clear them all. */
  async addFault(serial: string, fault: { kind: string; [option: string]: unknown }): Promise<void> {
    await this.call(
      z.object({ faults: z.array(z.unknown()) }),
      'POST',
      `/admin/devices/${encodeURIComponent(serial)}/faults`,
      { body: fault },
    );
  }

  async clearFaults(serial: string): Promise<void> {
    await this.call(
      z.object({ faults: z.array(z.unknown()) }),
      'DELETE',
      `/admin/devices/${encodeURIComponent(serial)}/faults`,
    );
  }

  collector(id: number): Promise<CollectorInfo> {
    return this.call(collectorInfo, 'GET', `/collectors/${id}`);
  }

  upgradeCollector(id: number, toVersion: string, idempotencyKey: string): Promise<CollectorJob> {
    return this.call(collectorJob, 'POST', `/collectors/${id}/upgrade`, { body: { toVersion }, idempotencyKey });
  }

  collectorJob(id: number, jobId: string): Promise<CollectorJob> {
    return this.call(collectorJob, 'GET', `/collectors/${id}/jobs/${encodeURIComponent(jobId)}`);
  }

  collectorCounters(id: number): Promise<CollectorCounters> {
    return this.call(collectorCounters, 'GET', `/admin/collectors/${id}/counters`);
  }

  async listCollectorIds(): Promise<number[]> {
    return (
      await this.call(z.object({ total: z.number(), ids: z.array(z.number()) }), 'GET', '/collectors?limit=10000')
    ).ids;
  }

  async listSerials(productCode?: string): Promise<string[]> {
    const page = z.object({ total: z.number(), serials: z.array(z.string()) });
    const serials: string[] = [];
    for (let offset = 0; ;) {
      const { total, serials: batch } = await this.call(
        page,
        'GET',
        `/devices?offset=${offset}&limit=1000${productCode ? `&product_code=${encodeURIComponent(productCode)}` : ''}`,
      );
      serials.push(...batch);
      offset += batch.length;
      if (batch.length === 0 || offset >= total) return serials;
    }
  }
}
