/**
 * Standalone simulator: `npm run simulator -- --appliances 5000 --port 8090 --speed 20`.
 * Environment: FLEET_SIM_HOST, FLEET_SIM_PORT, FLEET_SIM_APPLIANCES, FLEET_SIM_SEED, FLEET_SIM_SPEED.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../domain/logging';
import { DEFAULT_TIMINGS } from './appliance';
import { generateAppliances } from './fleet';
import { createSimulatorServer, listen, Simulator } from './server';

const logger = createLogger('simulator');

function positiveNumber(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    logger.fatal({ option: name, value: raw }, `--${name} must be a non-negative number`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: process.env.FLEET_SIM_HOST ?? '127.0.0.1' },
      port: { type: 'string', default: process.env.FLEET_SIM_PORT ?? '8090' },
      appliances: { type: 'string', default: process.env.FLEET_SIM_APPLIANCES ?? '50' },
      seed: { type: 'string', default: process.env.FLEET_SIM_SEED ?? '1' },
      speed: { type: 'string', default: process.env.FLEET_SIM_SPEED ?? '20' },
    },
  });
  const speed = positiveNumber('speed', values.speed);
  const specs = generateAppliances(positiveNumber('appliances', values.appliances), positiveNumber('seed', values.seed));
  const sim = new Simulator(specs, { ...DEFAULT_TIMINGS, speed: speed || 1 });
  const server = createSimulatorServer(sim, logger);
  const port = await listen(server, positiveNumber('port', values.port), values.host);
  logger.info({ port, host: values.host, appliances: specs.length, speed }, `simulator listening on http://${values.host}:${port}`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    logger.info('simulator stopping');
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'simulator failed to start');
  process.exit(1);
});
