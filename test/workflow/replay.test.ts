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
// Top level: recorded before image plans (tasks with one image from FLEET_IMAGE_BASE_URL).
const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.history.pb')).sort();

beforeAll(() => quietRuntime());

test('there are recorded histories of every outcome', () => {
  expect(files).toEqual([
    'applianceUpgradeTask-failed.history.pb',
    'applianceUpgradeTask-successful.history.pb',
    // One activity per device job, lines written with the next write (workflow patch compact-task-history).
    'compact-task-history/image-plan/applianceUpgradeTask-failed.history.pb',
    'compact-task-history/image-plan/applianceUpgradeTask-successful.history.pb',
    'compact-task-history/image-plan/upgradeOperation-failed.history.pb',
    'compact-task-history/image-plan/upgradeOperation-successful.history.pb',
    'compact-task-history/reboot/applianceRebootTask-successful.history.pb',
    'compact-task-history/reboot/applianceUpgradeTask-successful.history.pb',
    'compact-task-history/reboot/downgradeOperation-successful.history.pb',
    'compact-task-history/reboot/rebootOperation-successful.history.pb',
    'compact-task-history/upgrade/applianceUpgradeTask-failed.history.pb',
    'compact-task-history/upgrade/applianceUpgradeTask-successful.history.pb',
    'compact-task-history/upgrade/upgradeOperation-cancelled.history.pb',
    'compact-task-history/upgrade/upgradeOperation-partially_successful.history.pb',
    'compact-task-history/upgrade/upgradeOperation-successful.history.pb',
    // Image plans: a task through two images with a delta patched (test/integration/image-plan.test.ts).
    'image-plan/applianceUpgradeTask-failed.history.pb',
    'image-plan/applianceUpgradeTask-successful.history.pb',
    'image-plan/upgradeOperation-failed.history.pb',
    'image-plan/upgradeOperation-successful.history.pb',
    // Reboot tasks (plain and deferred) and a downgrade before compact-task-history (test/integration/scc-api.test.ts).
    'reboot/applianceRebootTask-successful.history.pb',
    'reboot/applianceUpgradeTask-successful.history.pb',
    'reboot/downgradeOperation-successful.history.pb',
    'reboot/rebootOperation-successful.history.pb',
    'upgrade/applianceUpgradeTask-failed.history.pb',
    'upgrade/applianceUpgradeTask-successful.history.pb',
    'upgrade/upgradeOperation-cancelled.history.pb',
    'upgrade/upgradeOperation-partially_successful.history.pb',
    'upgrade/upgradeOperation-successful.history.pb',
    'upgradeOperation-cancelled.history.pb',
    'upgradeOperation-partially_successful.history.pb',
    'upgradeOperation-successful.history.pb',
  ]);
});

test.each(files)('%s replays cleanly', async (file) => {
  const history = temporal.api.history.v1.History.decode(readFileSync(join(dir, file)));
  await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, file)).resolves.toBeUndefined();
});
