/**
 * The SCC service logging object: its level (applied at once to the API's logger) and the seed's
 * `<prop>: any` extension properties. Kept as JSON in the `logging` setting, exactly as last set;
 * a store from before it has `logging_level`.
 */
import type { FastifyInstance } from 'fastify';
import { logging, type Logging, type LoggingLevel } from '../domain/scc';
import type { FleetStore } from '../store/fleet-store';
import { parseRequest } from './parse';
import type { SccOptions } from './scc-context';

/** Store setting holding the service logging object as JSON. */
export const LOGGING_SETTING = 'logging';

const PINO_LEVEL: Record<LoggingLevel, string> = {
  crit: 'fatal',
  err: 'error',
  warning: 'warn',
  notice: 'info',
  info: 'info',
  debug: 'debug',
};

async function currentLogging(store: FleetStore): Promise<Logging> {
  const raw = await store.getSetting(LOGGING_SETTING);
  if (raw === undefined) return { level: (await store.getSetting('logging_level')) ?? 'info' } as Logging;
  let stored: unknown;
  try {
    stored = JSON.parse(raw);
  } catch {
    throw new Error(`store setting ${LOGGING_SETTING} is not JSON`);
  }
  if (!logging.safeParse(stored).success) throw new Error(`store setting ${LOGGING_SETTING} is not a logging object`);
  return stored as Logging;
}

export async function loggingRoutes(app: FastifyInstance, { store, logger, require }: SccOptions): Promise<void> {
  // A level set through PUT /logging outlives a restart; FLEET_LOG_LEVEL is the level until one is set.
  const isSet = async (setting: string) => (await store.getSetting(setting)) !== undefined;
  if ((await isSet(LOGGING_SETTING)) || (await isSet('logging_level'))) {
    const stored = await currentLogging(store).catch(() => undefined);
    if (stored) logger.level = PINO_LEVEL[stored.level];
  }

  app.get('/logging', async (request) => {
    require(request, 'read');
    return currentLogging(store);
  });

  app.put('/logging', async (request) => {
    const username = require(request, 'operate');
    const { level } = parseRequest(logging, request.body);
    // Validated, then stored as sent (zod would move `level` first), so GET answers it unchanged.
    const body = request.body as Logging;
    await store.setSetting(LOGGING_SETTING, JSON.stringify(body));
    logger.level = PINO_LEVEL[level];
    // Extension values may hold secrets (a syslog password, a token): only their names are logged.
    // (Not `level`: that key would overwrite the line's own pino level.)
    const extensions = Object.keys(body).filter((key) => key !== 'level');
    logger.info({ loggingLevel: level, username, extensions }, 'service logging set');
    return body;
  });
}
