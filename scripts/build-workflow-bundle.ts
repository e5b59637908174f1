/**
 * `npm run build:workflows [-- OUT]`: bundles workflows/ with webpack once, ahead of time, into
 * OUT (default dist/workflow-bundle.js). A worker with FLEET_WORKER_WORKFLOW_BUNDLE=OUT loads it
 * instead of bundling at every start. The bundle is only valid with the exact @temporalio/worker
 * version that built it, so build it with this repository's node_modules (the Dockerfile does).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

export const DEFAULT_WORKFLOW_BUNDLE = join(__dirname, '..', 'dist', 'workflow-bundle.js');

/** Bundles workflows/index.ts into `outPath` (directories created); answers the absolute path and size. */
export async function buildWorkflowBundle(
  outPath: string = DEFAULT_WORKFLOW_BUNDLE,
): Promise<{ path: string; bytes: number }> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // webpack's output only when something is wrong.
    logger: new DefaultLogger('WARN'),
  });
  const path = resolve(outPath);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  return { path, bytes: Buffer.byteLength(code) };
}

if (require.main === module) {
  buildWorkflowBundle(process.argv[2]).then(
    ({ path, bytes }) => process.stdout.write(`workflow bundle: ${path} (${Math.round(bytes / 1024)} KiB)\n`),
    (err: unknown) => {
      process.stderr.write(`building the workflow bundle failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
