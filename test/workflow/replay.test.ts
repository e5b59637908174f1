/**
 * Histories recorded from real runs (test/fixtures/histories, recorded by the integration tests
 * with FLEET_RECORD_HISTORIES) must replay against the current workflow code: a change that
 * breaks determinism for workflows already running fails here. Before the first release the
 * fixtures are recorded anew after each workflow change (README, "Workflow versioning").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { quietRuntime } from '../helpers/servers';
import { workflowCode } from '../helpers/workflow-bundle';

const dir = join(__dirname, '..', 'fixtures', 'histories');
const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.history.pb')).sort();

// The run's one bundle (test/global-setup.ts) for every history.
beforeAll(() => quietRuntime());

test('there are recorded histories of every outcome', () => {
  expect(files).toEqual([
    // Approvals given and refused, success thresholds, retries (test/integration/rollout-safety.test.ts).
    'gates/upgradeOperation-partially_successful.history.pb',
    'gates/upgradeOperation-successful.history.pb',
    // Two images with a delta patched on the device (test/integration/image-plan.test.ts).
    'image-plan/applianceUpgradeTask-failed.history.pb',
    'image-plan/applianceUpgradeTask-successful.history.pb',
    'image-plan/upgradeOperation-failed.history.pb',
    'image-plan/upgradeOperation-successful.history.pb',
    // Reboot tasks (plain and deferred) and a downgrade (test/integration/scc-api.test.ts).
    'reboot/applianceRebootTask-successful.history.pb',
    'reboot/applianceUpgradeTask-successful.history.pb',
    'reboot/downgradeOperation-successful.history.pb',
    'reboot/rebootOperation-successful.history.pb',
    // Health checks, rollbacks (a task's own and rollback "all") and per-task retries (test/integration/health-rollback.test.ts).
    'safety/applianceRollbackTask-failed.history.pb',
    'safety/applianceUpgradeTask-failed.history.pb',
    'safety/applianceUpgradeTask-successful.history.pb',
    'safety/upgradeOperation-failed.history.pb',
    'safety/upgradeOperation-partially_successful.history.pb',
    'safety/upgradeOperation-successful.history.pb',
    // Upgrades of every outcome and the task-slots workflow that granted their places (test/integration/upgrade.test.ts).
    'upgrade/applianceUpgradeTask-failed.history.pb',
    'upgrade/applianceUpgradeTask-successful.history.pb',
    'upgrade/taskSlots.history.pb',
    'upgrade/upgradeOperation-cancelled.history.pb',
    'upgrade/upgradeOperation-partially_successful.history.pb',
    'upgrade/upgradeOperation-successful.history.pb',
  ]);
});

test.each(files)('%s replays cleanly', async (file) => {
  const history = temporal.api.history.v1.History.decode(readFileSync(join(dir, file)));
  await expect(Worker.runReplayHistory(workflowCode(), history, file)).resolves.toBeUndefined();
});
