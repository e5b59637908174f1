/**
 * The service's own extension API under `/api/fleet/1.0`, admin only (`manage`): access keys
 * (create, list, revoke, rotate) and the audit trail. Documented in route-docs.ts ADMIN_ROUTES.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { accessKeyCreateRequest } from '../domain/access';
import type { Logger } from '../domain/logging';
import type { FleetStore } from '../store/fleet-store';
import { AccessKeyError, createAccessKey, listAccessKeys, revokeAccessKey, rotateAccessKey } from './access-keys';
import { auditRoutes } from './audit';
import type { Permission } from './auth';
import { ApiError, badRequest, notFound } from './errors';
import { parseRequest } from './parse';

export const ADMIN_PREFIX = '/api/fleet/1.0';

export interface AdminOptions {
  store: FleetStore;
  logger: Logger;
  require: (request: FastifyRequest, permission: Permission) => string;
}

function asApiError(err: unknown): unknown {
  if (!(err instanceof AccessKeyError)) return err;
  if (err.reason === 'exists') return new ApiError(409, 'ACCESS_KEY_EXISTS', err.message);
  if (err.reason === 'expiry_past') return badRequest('expires_time', err.message);
  return notFound(err.message.replace(/^no /, ''));
}

export async function adminRoutes(app: FastifyInstance, options: AdminOptions): Promise<void> {
  const { store, logger, require } = options;

  app.get('/access_keys', async (request) => {
    require(request, 'manage');
    return listAccessKeys(store);
  });

  app.post('/access_keys', async (request, reply) => {
    const username = require(request, 'manage');
    const body = parseRequest(accessKeyCreateRequest, request.body);
    const created = await createAccessKey(store, body).catch((err: unknown) => Promise.reject(asApiError(err)));
    logger.info({ accessId: created.access_id, role: created.role, username }, 'access key created');
    return reply.code(201).send(created);
  });

  app.delete<{ Params: { access_id: string } }>('/access_keys/:access_id', async (request, reply) => {
    const username = require(request, 'manage');
    await revokeAccessKey(store, request.params.access_id).catch((err: unknown) => Promise.reject(asApiError(err)));
    logger.info({ accessId: request.params.access_id, username }, 'access key revoked');
    return reply.code(204).send();
  });

  app.post<{ Params: { access_id: string } }>('/access_keys/:access_id/rotate', async (request) => {
    const username = require(request, 'manage');
    const rotated = await rotateAccessKey(store, request.params.access_id).catch((err: unknown) =>
      Promise.reject(asApiError(err)),
    );
    logger.info({ accessId: rotated.access_id, username }, 'access key rotated');
    return rotated;
  });

  await auditRoutes(app, options);
}
