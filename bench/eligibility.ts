/**
 * Eligibility time for a large fleet: 10,000 appliances (both arches, several versions, some in
 * each exception state) against ~200 images, for upgrade, downgrade and reboot, plus the version
 * lists. A baseline beside it: the same upgrade computation with a fresh image index per
 * appliance (no shared index, no path memo), to show what indexing once buys.
 *   npm run bench -- eligibility [--appliances 10000] [--iterations 5]
 */
import { parseArgs } from 'node:util';
import { downgradeEligibility, rebootEligibility, upgradeableVersions, upgradeEligibility } from '../domain/eligibility';
import { ARCHES, PRODUCT_CODES, type Appliance } from '../domain/scc';
import { ImageIndex, type AvailableImage } from '../domain/upgrade-path';

const VERSIONS = Array.from({ length: 16 }, (_, i) => `9.${10 + Math.floor(i / 4)}.${i % 4}-100`);

function fleet(count: number): Appliance[] {
  return Array.from({ length: count }, (_, i) => ({
    product_code: 'SH',
    arch: ARCHES[i % 2]!,
    serial: `S12AB${i.toString(16).toUpperCase().padStart(8, '0')}`,
    connected: i % 50 !== 0,
    entitled: i % 97 !== 0,
    read_only: i % 89 === 0,
    model_eol: i % 83 === 0,
    current_version: { version_id: VERSIONS[i % 12]! },
  }));
}

function images(): AvailableImage[] {
  const list: AvailableImage[] = [];
  for (const product_code of PRODUCT_CODES) {
    for (const arch of ARCHES) {
      for (const [i, version_id] of VERSIONS.entries()) {
        list.push({ repository: i % 3 === 0 ? 'customer' : 'riverbed', image: { id: `${product_code}-${arch}-${version_id}`, image_definition: { product_code, arch, target_version: { version_id }, delta: false } } });
        if (i > 0) list.push({ repository: 'riverbed', image: { id: `${product_code}-${arch}-${version_id}-delta`, image_definition: { product_code, arch, target_version: { version_id }, delta: true, source_version: { version_id: VERSIONS[i - 1]! } } } });
      }
    }
  }
  return list;
}

function time(label: string, iterations: number, appliances: number, fn: () => void): number {
  fn(); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / iterations;
  console.log(`${label.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms/call  ${Math.round((appliances / ms) * 1000).toLocaleString('en-US').padStart(12)} appliances/s`);
  return ms / appliances;
}

export async function eligibilityBenchmark(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { appliances: { type: 'string', default: '10000' }, iterations: { type: 'string', default: '5' } }, allowPositionals: true, strict: false });
  const count = Number(values.appliances);
  const iterations = Number(values.iterations);
  const appliances = fleet(count);
  const available = images();
  const inProgress = new Set(appliances.filter((_, i) => i % 71 === 0).map((a) => a.serial));
  const previousVersions = new Map(appliances.map((a) => [a.serial, new Set(VERSIONS.slice(0, 6))]));
  const target = VERSIONS.at(-1)!;
  console.log(`${count.toLocaleString('en-US')} appliances, ${available.length} images, ${iterations} iterations`);

  let placed = 0;
  time('upgradeEligibility (index built per call)', iterations, count, () => {
    const r = upgradeEligibility({ productCode: 'SH', appliances, images: available, inProgress, targetVersionId: target });
    placed = r.upgradeable.length + Object.values(r.exceptions).reduce((n, l) => n + l.length, 0);
  });
  const index = new ImageIndex(available);
  const indexed = time('upgradeEligibility (shared index)', iterations, count, () => void upgradeEligibility({ productCode: 'SH', appliances, images: index, inProgress, targetVersionId: target }));
  time('downgradeEligibility', iterations, count, () => void downgradeEligibility({ productCode: 'SH', appliances, images: available, inProgress, previousVersions, targetVersionId: VERSIONS[3]! }));
  time('rebootEligibility', iterations, count, () => void rebootEligibility({ productCode: 'SH', appliances, inProgress }));
  time('upgradeableVersions (every target)', Math.max(1, Math.floor(iterations / 5)), count, () => void upgradeableVersions('SH', appliances, available, inProgress));
  // Baseline: no shared index and no memo, as a naive per-appliance search would do.
  const sample = appliances.slice(0, Math.min(count, 1000));
  const baseline = time(`baseline: fresh index per appliance (${sample.length})`, 1, sample.length, () => {
    for (const a of sample) void upgradeEligibility({ productCode: 'SH', appliances: [a], images: available, inProgress, targetVersionId: target });
  });
  console.log(`shared index vs baseline, per appliance: ${(baseline / indexed).toFixed(0)}x faster`);
  const heap = process.memoryUsage().heapUsed / 2 ** 20;
  console.log(`every appliance placed exactly once: ${placed === count ? 'yes' : `NO (${placed})`}; heap used ${heap.toFixed(0)} MiB`);
}
