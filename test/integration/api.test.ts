/** The API over a real socket, against the real dev server. */
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { createApi } from '../../api/server';
import { FleetStore } from '../../store/fleet-store';
import { recordLoaded } from '../../store/readiness';
import { createLogger } from '../../domain/logging';
import { listenOnLoopback, startDevServer } from '../helpers/servers';

let env: TestWorkflowEnvironment;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  env = await startDevServer();
  app = createApi({ client: env.client, logger: createLogger('test-api', 'silent'), checkResponses: true });
  base = await listenOnLoopback(app);
});
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

test('health reports ready while Temporal answers (no store: nothing else to load)', async () => {
  const res = await fetch(`${base}/health`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ready', temporal: 'ok' });
});

test('health says starting (503) until the catalog and the inventory are loaded, then ready', async () => {
  const store = await FleetStore.open('sqlite::memory:');
  const api = createApi({
    client: env.client,
    logger: createLogger('test-api', 'silent'),
    store,
    checkResponses: true,
  });
  const url = await listenOnLoopback(api);
  const health = async () => {
    const res = await fetch(`${url}/health`);
    return { status: res.status, body: await res.json() };
  };
  try {
    expect(await health()).toEqual({
      status: 503,
      body: { status: 'starting', temporal: 'ok', catalog: 'loading', inventory: 'loading' },
    });
    await recordLoaded(store, 'catalog');
    expect(await health()).toEqual({
      status: 503,
      body: { status: 'starting', temporal: 'ok', catalog: 'loaded', inventory: 'loading' },
    });
    await recordLoaded(store, 'inventory');
    expect(await health()).toEqual({
      status: 200,
      body: { status: 'ready', temporal: 'ok', catalog: 'loaded', inventory: 'loaded' },
    });
  } finally {
    await api.close();
    await store.close();
  }
});

test('health reports 503 when Temporal is unreachable', async () => {
  const dead = new Client({ connection: Connection.lazy({ address: '127.0.0.1:9', connectTimeout: 500 }) });
  const api = createApi({ client: dead, logger: createLogger('test-api', 'silent'), checkResponses: true });
  const url = await listenOnLoopback(api);
  try {
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'degraded', temporal: 'unreachable' });
  } finally {
    await api.close();
  }
});

test('unknown routes get a JSON 404 without a stack trace', async () => {
  const res = await fetch(`${base}/nope`);
  expect(res.status).toBe(404);
  const body = await res.text();
  expect(body).not.toMatch(/at .*\.ts:\d+/);
  expect(JSON.parse(body)).toBeDefined();
});
