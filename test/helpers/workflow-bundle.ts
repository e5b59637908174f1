/**
 * One workflow bundle per jest run. The projects that run workflows (workflow, integration,
 * cluster) build it in their globalSetup (test/global-setup.ts) into a temp file named by
 * FLEET_TEST_WORKFLOW_BUNDLE; every worker, worker process and replayer of the run loads that file
 * instead of bundling workflows/ with webpack again. Outside jest's setup, workflows/ is bundled.
 */
export const TEST_WORKFLOW_BUNDLE_ENV = 'FLEET_TEST_WORKFLOW_BUNDLE';

/** The bundle this run built, if any. */
export const testWorkflowBundle = (): string | undefined => process.env[TEST_WORKFLOW_BUNDLE_ENV] || undefined;

/** Worker and replay options naming the workflow code: this run's bundle, else workflows/ to bundle. */
export function workflowCode(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const codePath = testWorkflowBundle();
  return codePath ? { workflowBundle: { codePath } } : { workflowsPath: require.resolve('../../workflows') };
}
