/** The configuration (domain/config.ts): worker sizing and the prebuilt workflow bundle, and that the README lists every variable. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, loadConfig } from '../../domain/config';
import { DEFAULT_MAX_TASKS_IN_FLIGHT } from '../../domain/rollout';
import { fleetWorkerOptions, workerSizingOptions } from '../../worker/create-worker';

const SIZING = [
  'FLEET_WORKER_MAX_CACHED_WORKFLOWS',
  'FLEET_WORKER_WORKFLOW_SLOTS',
  'FLEET_WORKER_ACTIVITY_SLOTS',
  'FLEET_WORKER_LOCAL_ACTIVITY_SLOTS',
  'FLEET_WORKER_WORKFLOW_POLLERS',
  'FLEET_WORKER_ACTIVITY_POLLERS',
] as const;

/** loadConfig's error message, or 'accepted'. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('defaults suit a 2-core worker: the cache holds every task in flight and more', () => {
  const config = loadConfig({});
  expect(SIZING.map((name) => [name, config[name]])).toEqual([
    ['FLEET_WORKER_MAX_CACHED_WORKFLOWS', 1500],
    ['FLEET_WORKER_WORKFLOW_SLOTS', 40],
    ['FLEET_WORKER_ACTIVITY_SLOTS', 100],
    ['FLEET_WORKER_LOCAL_ACTIVITY_SLOTS', 100],
    ['FLEET_WORKER_WORKFLOW_POLLERS', 10],
    ['FLEET_WORKER_ACTIVITY_POLLERS', 10],
  ]);
  expect(config.FLEET_WORKER_WORKFLOW_BUNDLE).toBeUndefined();
  expect(config.FLEET_WORKER_MAX_CACHED_WORKFLOWS).toBeGreaterThan(config.FLEET_MAX_TASKS_IN_FLIGHT);
});

test('each sizing variable is read', () => {
  const env = {
    FLEET_WORKER_MAX_CACHED_WORKFLOWS: '3000',
    FLEET_WORKER_WORKFLOW_SLOTS: '64',
    FLEET_WORKER_ACTIVITY_SLOTS: '250',
    FLEET_WORKER_LOCAL_ACTIVITY_SLOTS: '70',
    FLEET_WORKER_WORKFLOW_POLLERS: '32',
    FLEET_WORKER_ACTIVITY_POLLERS: '20',
  };
  const config = loadConfig(env);
  for (const name of SIZING) expect([name, config[name]]).toEqual([name, Number(env[name])]);
});

test.each(SIZING.flatMap((name) => ['0', '-4', '2.5', 'many', ''].map((value) => [name, value] as const)))(
  '%s=%j is refused, naming it',
  (name, value) => {
    expect(refusal({ [name]: value })).toMatch(new RegExp(`^invalid configuration: ${name}: `));
  },
);

test('a combination the SDK refuses or ignores is refused with the reason', () => {
  expect(refusal({ FLEET_WORKER_WORKFLOW_POLLERS: '1' })).toBe(
    'invalid configuration: FLEET_WORKER_WORKFLOW_POLLERS: must be at least 2 while FLEET_WORKER_MAX_CACHED_WORKFLOWS (1500) is above 0 (the worker polls its sticky queue and the task queue)',
  );
  expect(refusal({ FLEET_WORKER_WORKFLOW_SLOTS: '1', FLEET_WORKER_WORKFLOW_POLLERS: '2' })).toMatch(
    /^invalid configuration: FLEET_WORKER_WORKFLOW_SLOTS: must be at least 2 while FLEET_WORKER_MAX_CACHED_WORKFLOWS \(1500\) is above 0/,
  );
  expect(refusal({ FLEET_WORKER_MAX_CACHED_WORKFLOWS: '20' })).toBe(
    'invalid configuration: FLEET_WORKER_WORKFLOW_SLOTS: must not exceed FLEET_WORKER_MAX_CACHED_WORKFLOWS (20)',
  );
  expect(refusal({ FLEET_WORKER_WORKFLOW_SLOTS: '8' })).toBe(
    'invalid configuration: FLEET_WORKER_WORKFLOW_POLLERS: must not exceed FLEET_WORKER_WORKFLOW_SLOTS (8)',
  );
  expect(refusal({ FLEET_WORKER_ACTIVITY_SLOTS: '4' })).toBe(
    'invalid configuration: FLEET_WORKER_ACTIVITY_POLLERS: must not exceed FLEET_WORKER_ACTIVITY_SLOTS (4)',
  );
  // The smallest caching worker the SDK accepts.
  expect(
    refusal({
      FLEET_WORKER_MAX_CACHED_WORKFLOWS: '2',
      FLEET_WORKER_WORKFLOW_SLOTS: '2',
      FLEET_WORKER_WORKFLOW_POLLERS: '2',
      FLEET_WORKER_ACTIVITY_SLOTS: '1',
      FLEET_WORKER_ACTIVITY_POLLERS: '1',
    }),
  ).toBe('accepted');
});

test('the workflow bundle must be an existing file', () => {
  const bundle = join(dir, 'workflow-bundle.js');
  writeFileSync(bundle, '// bundle');
  expect(loadConfig({ FLEET_WORKER_WORKFLOW_BUNDLE: bundle }).FLEET_WORKER_WORKFLOW_BUNDLE).toBe(bundle);
  const missing = join(dir, 'nowhere', 'workflow-bundle.js');
  expect(refusal({ FLEET_WORKER_WORKFLOW_BUNDLE: missing })).toBe(
    `invalid configuration: FLEET_WORKER_WORKFLOW_BUNDLE: no file at ${missing} (build one with npm run build:workflows)`,
  );
  expect(refusal({ FLEET_WORKER_WORKFLOW_BUNDLE: dir })).toBe(
    `invalid configuration: FLEET_WORKER_WORKFLOW_BUNDLE: ${dir} is not a file`,
  );
  expect(refusal({ FLEET_WORKER_WORKFLOW_BUNDLE: '' })).toMatch(
    /^invalid configuration: FLEET_WORKER_WORKFLOW_BUNDLE: /,
  );
});

test('the worker gets the sizing as the SDK 1.24 options that take effect', () => {
  const bundle = join(dir, 'bundle-for-options.js');
  writeFileSync(bundle, '// bundle');
  const config = loadConfig({
    FLEET_WORKER_MAX_CACHED_WORKFLOWS: '900',
    FLEET_WORKER_WORKFLOW_SLOTS: '30',
    FLEET_WORKER_ACTIVITY_SLOTS: '60',
    FLEET_WORKER_LOCAL_ACTIVITY_SLOTS: '50',
    FLEET_WORKER_WORKFLOW_POLLERS: '6',
    FLEET_WORKER_ACTIVITY_POLLERS: '5',
    FLEET_MAX_TASKS_IN_FLIGHT: '800',
    FLEET_WORKER_WORKFLOW_BUNDLE: bundle,
  });
  const parts = { connection: {} as never, store: {} as never, logger: {} as never };
  const options = fleetWorkerOptions(config, parts);
  expect(options.sizing).toEqual({
    maxCachedWorkflows: 900,
    workflowSlots: 30,
    activitySlots: 60,
    localActivitySlots: 50,
    workflowPollers: 6,
    activityPollers: 5,
  });
  expect(options.maxTasksInFlight).toBe(800);
  expect(options.workflowBundlePath).toBe(bundle);
  expect(workerSizingOptions(options.sizing)).toEqual({
    maxCachedWorkflows: 900,
    maxConcurrentWorkflowTaskExecutions: 30,
    maxConcurrentActivityTaskExecutions: 60,
    maxConcurrentLocalActivityExecutions: 50,
    workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 6 },
    activityTaskPollerBehavior: { type: 'simple-maximum', maximum: 5 },
  });
  // Only what is given: the rest keep the SDK's defaults.
  expect(workerSizingOptions({ workflowSlots: 4 })).toEqual({ maxConcurrentWorkflowTaskExecutions: 4 });
  const defaults = fleetWorkerOptions(loadConfig({}), parts);
  expect(defaults.maxTasksInFlight).toBe(DEFAULT_MAX_TASKS_IN_FLIGHT);
  expect(defaults).not.toHaveProperty('workflowBundlePath');
});

test('the README configuration table has a row for every variable', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const rows = readme.split('\n').filter((line) => line.startsWith('| `FLEET_'));
  const missing = Object.keys(configSchema.shape).filter(
    (name) => !rows.some((row) => row.split('|')[1]?.includes(`\`${name}\``)),
  );
  expect(missing).toEqual([]);
});
