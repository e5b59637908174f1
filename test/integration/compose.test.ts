/**
 * docker-compose.yml cannot run here (no Docker engine), but it is checked: by the compose CLI
 * (`docker compose config` or Debian's `docker-compose config`) where one is installed, and always
 * for what this project relies on.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configSchema } from '../../domain/config';
import { SA } from '../../domain/search-attributes';

const root = join(__dirname, '..', '..');
const file = join(root, 'docker-compose.yml');

interface Service {
  image?: string;
  build?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }> | string[];
}
const compose = parse(readFileSync(file, 'utf8')) as { services: Record<string, Service> };

function composeCli(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version']).status === 0) return ['docker-compose'];
  return undefined;
}

test('the compose CLI accepts the file', () => {
  const cli = composeCli();
  if (!cli) {
    console.warn(
      'no docker compose / docker-compose here (apt-get install docker-compose): only the structural checks ran',
    );
    return;
  }
  const resolved = execFileSync(cli[0]!, [...cli.slice(1), '-f', file, 'config'], { encoding: 'utf8' });
  const services = (parse(resolved) as { services: Record<string, unknown> }).services;
  expect(Object.keys(services).sort()).toEqual([
    'api',
    'postgresql',
    'simulator',
    'temporal',
    'temporal-schema',
    'temporal-setup',
    'temporal-ui',
    'worker',
  ]);
});

test('the stack is Temporal on PostgreSQL with its UI, plus our worker, API and simulator built from the Dockerfile', () => {
  const { services } = compose;
  expect(services.postgresql?.image).toMatch(/^postgres:/);
  // The server release the cluster profile builds, on the repo's config (config/temporal), schemas by temporal-sql-tool.
  const version = /^TEMPORAL_SERVER_VERSION=v(.+)$/m.exec(
    readFileSync(join(root, 'scripts/toolchain.env'), 'utf8'),
  )?.[1];
  expect(services.temporal?.image).toBe(`temporalio/server:${version}`);
  expect(([] as string[]).concat(services.temporal?.command ?? []).join(' ')).toContain(
    '--config /etc/fleet/temporal --env fleet',
  );
  expect((services.temporal as { volumes?: string[] }).volumes).toContain('./config/temporal:/etc/fleet/temporal:ro');
  const schema = ([] as string[]).concat(services['temporal-schema']?.command ?? []).join(' ');
  for (const step of [
    'update-schema --schema-name postgresql/v12/temporal',
    'update-schema --schema-name postgresql/v12/visibility',
  ])
    expect(schema).toContain(step);
  expect(services['temporal-schema']?.image).toBe(`temporalio/admin-tools:${version}`);
  for (const name of ['worker', 'api'])
    expect(services[name]?.environment?.FLEET_STORE_URL).toMatch(/^postgres:\/\/.*@postgresql:5432\/fleet$/);
  expect(services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
  for (const [name, entry] of [
    ['worker', 'worker/main.ts'],
    ['api', 'api/main.ts'],
    ['simulator', 'simulator/main.ts'],
  ] as const) {
    expect(services[name]?.build).toBe('.');
    expect(services[name]?.command).toContain(entry);
  }
  expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toMatch(/^FROM node:20/m);
});

test('every dependency names a service, and every variable our services set is one we read', () => {
  const names = new Set(Object.keys(compose.services));
  const known = new Set([
    ...Object.keys(configSchema.shape),
    'FLEET_SIM_HOST',
    'FLEET_SIM_PORT',
    'FLEET_SIM_APPLIANCES',
    'FLEET_SIM_SPEED',
  ]);
  for (const [name, service] of Object.entries(compose.services)) {
    const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
    for (const dep of deps) expect([name, names.has(dep)]).toEqual([name, true]);
    if (service.build)
      for (const key of Object.keys(service.environment ?? {}))
        expect([name, key, known.has(key)]).toEqual([name, key, true]);
  }
});

test('the setup service registers exactly the search attributes the workflows use', () => {
  const command = ([] as string[]).concat(compose.services['temporal-setup']?.command ?? []).join(' ');
  const listed = /for sa in ([\w\s]+?); do/.exec(command)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
  expect(listed.sort()).toEqual(
    Object.values(SA)
      .map((k) => k.name)
      .sort(),
  );
});
