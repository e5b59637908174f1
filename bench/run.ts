/**
 * `npm run bench -- [name…] [options]`: runs the named benchmarks (all by default) and prints their figures.
 * Figures are for reading and comparing side by side, never asserted: shared machines are noisy.
 */
import { apiLatencyBenchmark } from './api-latency';
import { authFloodBenchmark } from './auth-flood';
import { eligibilityBenchmark } from './eligibility';
import { fleetRolloutBenchmark } from './fleet-rollout';
import { fleetUpgradeBenchmark } from './fleet-upgrade';
import { simulatorBenchmark } from './simulator';
import { storeWritesBenchmark } from './store-writes';

const BENCHMARKS: Record<string, (argv: string[]) => Promise<void>> = {
  'store-writes': storeWritesBenchmark,
  simulator: simulatorBenchmark,
  eligibility: eligibilityBenchmark,
  'api-latency': apiLatencyBenchmark,
  'auth-flood': authFloodBenchmark,
  'fleet-upgrade': fleetUpgradeBenchmark,
  'fleet-rollout': fleetRolloutBenchmark,
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const named = argv.filter((a) => a in BENCHMARKS);
  const options = argv.filter((a) => !(a in BENCHMARKS));
  for (const name of named.length ? named : Object.keys(BENCHMARKS)) {
    console.log(`\n=== ${name} ===`);
    await BENCHMARKS[name]!(options);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
