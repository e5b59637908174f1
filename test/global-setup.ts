/**
 * Jest globalSetup of the projects that run workflows: bundles workflows/ once for the whole run
 * (test/helpers/workflow-bundle.ts). Several projects share it; the first one builds.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorkflowBundle } from '../scripts/build-workflow-bundle';
import { TEST_WORKFLOW_BUNDLE_ENV, testWorkflowBundle } from './helpers/workflow-bundle';

/** The temp dir this run made, read by test/global-teardown.ts (jest shares globalThis between them). */
declare global {
  var fleetTestBundleDir: string | undefined;
}

export default async function globalSetup(): Promise<void> {
  const built = testWorkflowBundle();
  if (built && existsSync(built)) return;
  const dir = mkdtempSync(join(tmpdir(), 'fleet-test-bundle-'));
  globalThis.fleetTestBundleDir = dir;
  process.env[TEST_WORKFLOW_BUNDLE_ENV] = (await buildWorkflowBundle(join(dir, 'workflow-bundle.js'))).path;
}
