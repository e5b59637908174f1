/**
 * The SCC image routes over a real store and a real simulator process, without Temporal: the image
 * routes never start a workflow, so a stand-in client is enough and the tests start in seconds.
 * The Riverbed catalog is added under the simulator's /images, as `npm start` does, so every
 * catalog URL answers with its image.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { putAccessKey } from '../../api/auth';
import { ensureRiverbedCatalog } from '../../api/bootstrap';
import { createApi } from '../../api/server';
import { createLogger } from '../../domain/logging';
import { FleetStore } from '../../store/fleet-store';
import { basicAuth, CMC_PREFIX, SCC_KEYS, type CallResult, type Who } from './scc-api';
import { listenOnLoopback, startSimulator, type SimulatorProcess } from './servers';

export interface ImageApi {
  app: FastifyInstance;
  store: FleetStore;
  sim: SimulatorProcess;
  /** A scratch directory, removed at stop. */
  dir: string;
  /** Every line the API logged. */
  logLines: string[];
  call(method: string, path: string, options?: { who?: Who; body?: unknown }): Promise<CallResult>;
  stop(): Promise<void>;
}

export async function startImageApi(): Promise<ImageApi> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-images-'));
  const [sim, store] = await Promise.all([
    startSimulator({ appliances: 1, speed: 1 }),
    FleetStore.open(`sqlite:${join(dir, 'fleet.db')}`),
  ]);
  await ensureRiverbedCatalog(store, `${sim.url}/images`);
  for (const who of ['operator', 'reader'] as const)
    await putAccessKey(store, who, SCC_KEYS[who], who === 'reader' ? 'read_only' : 'operator');
  const logLines: string[] = [];
  const logger = createLogger('test-images', 'info', { write: (line: string) => void logLines.push(line) });
  // Every answer checked against the API document, as in the other API tests.
  const app = createApi({ client: {} as Client, logger, store, checkResponses: true });
  const base = await listenOnLoopback(app);

  async function call(method: string, path: string, options: { who?: Who; body?: unknown } = {}): Promise<CallResult> {
    const headers: Record<string, string> = { authorization: basicAuth(options.who ?? 'operator') };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${CMC_PREFIX}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
  }

  return {
    app,
    store,
    sim,
    dir,
    logLines,
    call,
    async stop() {
      await app.close();
      await Promise.all([sim.stop(), store.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
