/** Jest globalTeardown: removes the run's workflow bundle (test/global-setup.ts), if this run made it. */
import { rmSync } from 'node:fs';
import { TEST_WORKFLOW_BUNDLE_ENV } from './helpers/workflow-bundle';

export default function globalTeardown(): void {
  const dir = globalThis.fleetTestBundleDir;
  if (!dir) return;
  rmSync(dir, { recursive: true, force: true });
  globalThis.fleetTestBundleDir = undefined;
  delete process.env[TEST_WORKFLOW_BUNDLE_ENV];
}
