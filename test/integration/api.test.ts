/** The API over a real socket, against the real dev server. */
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { createApi } from '../../api/server';
import { createLogger } from '../../domain/logging';
import { listenOnLoopback, startDevServer } from '../helpers/servers';

let env: TestWorkflowEnvironment;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  env = await startDevServer();
  app = createApi({ client: env.client, logger: createLogger('test-api', 'silent') });
  base = await listenOnLoopback(app);
});
afterAll(async () => {
  await app?.close();
  await env?.teardown();
});

test('health reports ok while Temporal answers', async () => {
  const res = await fetch(`${base}/health`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok', temporal: 'ok' });
});

test('health reports 503 when Temporal is unreachable', async () => {
  const dead = new Client({ connection: Connection.lazy({ address: '127.0.0.1:9', connectTimeout: 500 }) });
  const api = createApi({ client: dead, logger: createLogger('test-api', 'silent') });
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
