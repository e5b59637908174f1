/**
 * Standalone simulator: `npm run simulator -- --appliances 5000 --collectors 500 --port 8090 --speed 20`.
 * Environment: FLEET_SIM_HOST, FLEET_SIM_PORT, FLEET_SIM_APPLIANCES, FLEET_SIM_COLLECTORS,
 * FLEET_SIM_SEED, FLEET_SIM_SPEED, FLEET_SIM_PROFILE, FLEET_SIM_FLEET_FILE (`--fleet-file`: serve exactly the devices in that JSON file). Faults at start-up: `--fault kind[:stage][=value]@probability` (repeatable).
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../domain/logging';
import { DEFAULT_TIMINGS } from './appliance';
import { parseFaultSpec, type FleetFaultRequest } from './faults';
import { readFileSync } from 'node:fs';
import { FLEET_PROFILES, generateAppliances, generateCollectors, parseFleetFile, type FleetProfile } from './fleet';
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
      collectors: { type: 'string', default: process.env.FLEET_SIM_COLLECTORS ?? '10' },
      profile: { type: 'string', default: process.env.FLEET_SIM_PROFILE ?? 'demo' },
      fault: { type: 'string', multiple: true, default: [] },
      'fleet-file': { type: 'string', default: process.env.FLEET_SIM_FLEET_FILE },
      seed: { type: 'string', default: process.env.FLEET_SIM_SEED ?? '1' },
      speed: { type: 'string', default: process.env.FLEET_SIM_SPEED ?? '20' },
    },
  });
  const speed = positiveNumber('speed', values.speed);
  const seed = positiveNumber('seed', values.seed);
  if (!(FLEET_PROFILES as readonly string[]).includes(values.profile)) {
    logger.fatal({ option: 'profile', value: values.profile }, `--profile must be one of ${FLEET_PROFILES.join(', ')}`);
    process.exit(2);
  }
  const profile = values.profile as FleetProfile;
  let faults: FleetFaultRequest[];
  try {
    faults = values.fault.map(parseFaultSpec);
  } catch (err) {
    logger.fatal((err as Error).message);
    process.exit(2);
  }
  let specs = generateAppliances(positiveNumber('appliances', values.appliances), seed, profile);
  let collectors = generateCollectors(positiveNumber('collectors', values.collectors), seed, profile);
  if (values['fleet-file']) {
    try {
      ({ appliances: specs, collectors } = parseFleetFile(readFileSync(values['fleet-file'], 'utf8')));
    } catch (err) {
      logger.fatal({ file: values['fleet-file'] }, (err as Error).message);
      process.exit(2);
    }
  }
  const sim = new Simulator(specs, { ...DEFAULT_TIMINGS, speed: speed || 1 }, collectors);
  for (const request of faults)
    logger.info({ fault: request.fault, devices: sim.applyFleetFault(request).length }, 'fault injected');
  const server = createSimulatorServer(sim, logger);
  const port = await listen(server, positiveNumber('port', values.port), values.host);
  logger.info(
    { port, host: values.host, appliances: specs.length, collectors: collectors.length, profile, speed },
    `simulator listening on http://${values.host}:${port}`,
  );

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
