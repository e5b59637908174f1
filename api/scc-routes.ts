/**
 * The SCC Upgrades service (cmc.upgrades 1.0), one plugin per resource: operations of each kind
 * with their controls and appliance tasks, images and repositories, appliances and eligibility,
 * service logging. Registered under both spellings the seed uses (cmc.upgrades and cmcc.upgrades).
 */
import type { FastifyInstance } from 'fastify';
import { OPERATION_KINDS } from '../domain/operation';
import { applianceRoutes, eligibilityRoutes } from './scc-appliances';
import type { SccOptions } from './scc-context';
import { sccImageRoutes } from './scc-images';
import { loggingRoutes } from './scc-logging';
import { operationControlRoutes } from './scc-operation-controls';
import { operationRoutes } from './scc-operations';
import { taskRoutes } from './scc-tasks';

export type { SccOptions } from './scc-context';

export const SCC_PREFIXES = ['/api/cmc.upgrades/1.0', '/api/cmcc.upgrades/1.0'] as const;

export async function sccRoutes(app: FastifyInstance, options: SccOptions): Promise<void> {
  for (const kind of OPERATION_KINDS) {
    await app.register(operationRoutes, { ...options, kind });
    await app.register(operationControlRoutes, { ...options, kind });
    await app.register(taskRoutes, { ...options, kind });
  }
  await app.register(sccImageRoutes, options);
  await app.register(applianceRoutes, options);
  await app.register(eligibilityRoutes, options);
  await app.register(loggingRoutes, options);
}
