/**
 * Histories recorded from real runs (test/fixtures/histories, refreshed by the integration test
 * with FLEET_RECORD_HISTORIES) must replay against the current workflow code: a change that
 * breaks determinism for workflows already running fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { quietRuntime } from '../helpers/servers';

const dir = join(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.history.pb'));

beforeAll(() => quietRuntime());

test('there are recorded histories of every outcome', () => {
  expect(files.sort()).toEqual([
    'applianceUpgradeTask-failed.history.pb',
    'applianceUpgradeTask-successful.history.pb',
    'upgradeOperation-cancelled.history.pb',
    'upgradeOperation-partially_successful.history.pb',
    'upgradeOperation-successful.history.pb',
  ]);
});

test.each(files)('%s replays cleanly', async (file) => {
  const history = temporal.api.history.v1.History.decode(readFileSync(join(dir, file)));
  await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, file)).resolves.toBeUndefined();
});
