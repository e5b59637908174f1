/** The simulator's HTTP server: the device API (docs/device-api.md) for every simulated device, /admin, and the catalog's images under /images. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  collectorUpgradeRequest,
  IDEMPOTENCY_KEY_HEADER,
  installRequest,
  patchRequest,
  rebootRequest,
  stageImageRequest,
} from '../domain/device-api';
import { DeviceApiError, FleetJobStats, SimulatedAppliance, type SimulatorTimings } from './appliance';
import { SimulatedCollector } from './collector';
import { fault, fleetFaultRequest, type FleetFaultRequest } from './faults';
import { isImageRequest, serveImage } from './images';
import { seededRandom, type ApplianceSpec, type CollectorSpec } from './fleet';

export class Simulator {
  readonly appliances = new Map<string, SimulatedAppliance>();
  readonly collectors = new Map<number, SimulatedCollector>();
  /** Device-API requests and appliance jobs across the fleet (`GET /admin/stats`). */
  readonly stats: FleetJobStats;

  constructor(
    specs: ApplianceSpec[],
    timings: SimulatorTimings,
    collectors: CollectorSpec[] = [],
    now: () => number = Date.now,
  ) {
    this.stats = new FleetJobStats(now);
    for (const spec of specs) this.appliances.set(spec.serial, new SimulatedAppliance(spec, timings, now, this.stats));
    for (const spec of collectors) this.collectors.set(spec.id, new SimulatedCollector(spec, timings, now));
  }

  appliance(serial: string): SimulatedAppliance {
    const appliance = this.appliances.get(serial);
    if (!appliance) throw new DeviceApiError(404, 'device.not_found', `no device with serial ${serial}`);
    return appliance;
  }

  collector(id: string): SimulatedCollector {
    const collector = this.collectors.get(Number(id));
    if (!collector) throw new DeviceApiError(404, 'device.not_found', `no collector with id ${id}`);
    return collector;
  }

  /** Gives the fault to each device (of a product code, if named) with the request's probability. Returns their serials. */
  applyFleetFault(request: FleetFaultRequest): string[] {
    const rand = seededRandom(request.seed ?? 1);
    const hit: string[] = [];
    for (const appliance of this.appliances.values()) {
      if (request.product_code && appliance.spec.product_code !== request.product_code) continue;
      if (rand() < request.probability) {
        appliance.addFault(request.fault);
        hit.push(appliance.spec.serial);
      }
    }
    return hit;
  }
}

const MAX_BODY_BYTES = 64 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new DeviceApiError(413, 'request.invalid', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new DeviceApiError(400, 'request.invalid', 'request body is not valid JSON');
  }
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new DeviceApiError(400, 'request.invalid', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return result.data;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const MUTATIONS = {
  stage: stageImageRequest,
  patch: patchRequest,
  install: installRequest,
  reboot: rebootRequest,
} as const;

async function route(sim: Simulator, req: IncomingMessage): Promise<{ status: number; body: unknown }> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';

  if (method === 'GET' && parts.length === 1 && parts[0] === 'health')
    return { status: 200, body: { status: 'ok', devices: sim.appliances.size } };
  if (parts[0] === 'devices' || parts[0] === 'collectors') sim.stats.requests++;

  if (parts[0] === 'devices') {
    if (method === 'GET' && parts.length === 1) {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 1000), 10_000);
      const product = url.searchParams.get('product_code');
      const matching = [...sim.appliances.values()].filter((a) => !product || a.spec.product_code === product);
      const serials = matching.slice(offset, offset + limit).map((a) => a.spec.serial);
      return { status: 200, body: { total: matching.length, serials } };
    }
    const appliance = sim.appliance(parts[1] ?? '');
    if (method === 'GET' && parts.length === 2) return { status: 200, body: appliance.info() };
    if (method === 'GET' && parts.length === 3 && parts[2] === 'health')
      return { status: 200, body: appliance.health() };
    if (method === 'GET' && parts.length === 4 && parts[2] === 'jobs')
      return { status: 200, body: appliance.job(parts[3]!) };
    if (method === 'POST' && parts.length === 5 && parts[2] === 'jobs' && parts[4] === 'cancel')
      return { status: 200, body: appliance.cancelJob(parts[3]!) };
    if (method === 'POST' && parts.length === 3 && parts[2]! in MUTATIONS) {
      const kind = parts[2] as keyof typeof MUTATIONS;
      const key = req.headers[IDEMPOTENCY_KEY_HEADER];
      if (typeof key !== 'string' || key.length === 0)
        throw new DeviceApiError(
          400,
          'request.idempotency_key_required',
          `the ${IDEMPOTENCY_KEY_HEADER} header is required`,
        );
      const body = await readJson(req);
      return appliance.idempotently(`${kind}:${key}`, () => {
        switch (kind) {
          case 'stage':
            return { status: 202, body: appliance.stage(parse(stageImageRequest, body)) };
          case 'patch':
            return { status: 202, body: appliance.patch(parse(patchRequest, body)) };
          case 'install':
            return { status: 202, body: appliance.install(parse(installRequest, body)) };
          case 'reboot':
            return { status: 202, body: appliance.reboot(parse(rebootRequest, body)) };
        }
      });
    }
  }

  if (parts[0] === 'collectors') {
    if (method === 'GET' && parts.length === 1) {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 1000), 10_000);
      return {
        status: 200,
        body: { total: sim.collectors.size, ids: [...sim.collectors.keys()].slice(offset, offset + limit) },
      };
    }
    const collector = sim.collector(parts[1] ?? '');
    if (method === 'GET' && parts.length === 2) return { status: 200, body: collector.info() };
    if (method === 'GET' && parts.length === 4 && parts[2] === 'jobs')
      return { status: 200, body: collector.job(parts[3]!) };
    if (method === 'POST' && parts.length === 3 && parts[2] === 'upgrade') {
      const key = req.headers[IDEMPOTENCY_KEY_HEADER];
      if (typeof key !== 'string' || key.length === 0)
        throw new DeviceApiError(
          400,
          'request.idempotency_key_required',
          `the ${IDEMPOTENCY_KEY_HEADER} header is required`,
        );
      return {
        status: 202,
        body: collector.upgrade(parse(collectorUpgradeRequest, await readJson(req)).toVersion, key),
      };
    }
  }

  if (parts[0] === 'admin') {
    // /admin/devices/{serial}/counters | /admin/devices/{serial}/faults | /admin/collectors/{id}/counters | /admin/collectors/{id}/hold | /admin/faults | /admin/stats[/reset]
    if (parts[1] === 'stats' && parts.length === 2 && method === 'GET') return { status: 200, body: sim.stats.stats() };
    if (parts[1] === 'stats' && parts.length === 3 && parts[2] === 'reset' && method === 'POST') {
      sim.stats.reset();
      return { status: 200, body: sim.stats.stats() };
    }
    if (parts[1] === 'devices' && parts.length === 4) {
      const appliance = sim.appliance(parts[2]!);
      if (parts[3] === 'counters' && method === 'GET') return { status: 200, body: appliance.counters };
      if (parts[3] === 'faults' && method === 'GET') return { status: 200, body: { faults: appliance.listFaults() } };
      if (parts[3] === 'faults' && method === 'POST') {
        appliance.addFault(parse(fault, await readJson(req)));
        return { status: 201, body: { faults: appliance.listFaults() } };
      }
      if (parts[3] === 'faults' && method === 'DELETE') {
        appliance.clearFaults();
        return { status: 200, body: { faults: [] } };
      }
    }
    if (parts[1] === 'collectors' && parts.length === 4 && parts[3] === 'counters' && method === 'GET')
      return { status: 200, body: sim.collector(parts[2]!).counters };
    if (
      parts[1] === 'collectors' &&
      parts.length === 4 &&
      parts[3] === 'hold' &&
      (method === 'POST' || method === 'DELETE')
    ) {
      sim.collector(parts[2]!).held = method === 'POST';
      return { status: 200, body: { held: method === 'POST' } };
    }
    if (parts[1] === 'faults' && parts.length === 2 && method === 'POST') {
      return { status: 201, body: { serials: sim.applyFleetFault(parse(fleetFaultRequest, await readJson(req))) } };
    }
  }
  throw new DeviceApiError(404, 'request.invalid', `no route ${method} ${url.pathname}`);
}

export function createSimulatorServer(sim: Simulator, logger: Logger): Server {
  return createServer((req, res) => {
    // The image server of the catalog (simulator/images.ts): bytes, not JSON.
    if (isImageRequest(req)) return serveImage(req, res);
    route(sim, req).then(
      ({ status, body }) => send(res, status, body),
      (err: unknown) => {
        if (err instanceof DeviceApiError) {
          send(res, err.status, { error: { code: err.code, message: err.message } });
        } else {
          logger.error({ err }, 'simulator request failed');
          send(res, 500, { error: { code: 'internal', message: 'internal simulator error' } });
        }
      },
    );
  });
}

export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
