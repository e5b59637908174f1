/** The HTTP service. For now: the health endpoint (no auth), which also reports whether Temporal answers. */
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../domain/logging';

export interface ApiOptions {
  client: Client;
  logger: Logger;
}

export function createApi({ client, logger }: ApiOptions): FastifyInstance {
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });

  app.get('/health', async (_req, reply) => {
    try {
      await client.connection.workflowService.getSystemInfo({});
      return { status: 'ok', temporal: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'degraded', temporal: 'unreachable' });
    }
  });

  // Errors never carry a stack trace to the client.
  app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send({ error_code: status === 500 ? 'internal_error' : 'bad_request', error_text: status === 500 ? 'internal error' : err.message });
  });
  return app;
}
