/**
 * Eligibility time for a large fleet: 10,000 appliances (mostly SH, some EX to be left out; both
 * arches and some unknown; versions with fix letters; some read-only, unentitled, end-of-life,
 * disconnected, busy) against ~200 images (full and delta, both repositories, Riverbed images
 * restricted to recent source versions so that old appliances need several hops), generated
 * deterministically. Times upgrade, downgrade and reboot eligibility and the version lists, plus
 * a baseline: the upgrade computation with a fresh image index per appliance (no shared index,
 * no path memo), to show what indexing once buys. Figures only, never asserted.
 *   npm run bench -- eligibility [--appliances 10000] [--iterations 5]
 */
import { parseArgs } from 'node:util';
import {
  downgradeableVersions,
  downgradeEligibility,
  rebootEligibility,
  upgradeableVersions,
  upgradeEligibility,
} from '../domain/eligibility';
import type { Appliance, Arch, ImageRepository, ProductCode } from '../domain/scc';
import { ImageIndex, type AvailableImage } from '../domain/upgrade-path';
import { seededRandom } from '../simulator/fleet';

const NUMBERS = [
  '9.8.0',
  '9.8.1',
  '9.10.0',
  '9.10.1',
  '9.10.1a',
  '9.12.0',
  '9.12.1',
  '9.12.1a',
  '9.12.2',
  '9.14.0',
  '9.14.0a',
  '9.14.1',
  '9.14.2',
  '9.14.2a',
  '9.16.0',
  '9.16.1',
];
const VERSIONS = NUMBERS.map((n, i) => `${n}-${100 + i}`);
const NEWEST = VERSIONS.at(-1)!;
/** 9.14.0: uploaded to the customer repository (i % 3 === 0), for x86_64 only. */
const DOWN_TARGET = VERSIONS[9]!;

function images(): AvailableImage[] {
  const list: AvailableImage[] = [];
  const add = (
    product_code: ProductCode,
    arch: Arch,
    repository: ImageRepository,
    id: string,
    target: string,
    delta?: string,
    sources?: string[],
  ) =>
    list.push({
      repository,
      image: {
        id,
        image_definition: {
          product_code,
          arch,
          target_version: { version_id: target },
          delta: delta !== undefined,
          ...(delta ? { source_version: { version_id: delta } } : {}),
        },
        ...(sources ? { source_versions: sources.map((version_id) => ({ version_id })) } : {}),
      },
    });
  for (const [product, versions] of [
    ['SH', VERSIONS],
    ['GC', VERSIONS.slice(4)],
    ['EX', VERSIONS.slice(6)],
    ['IC', VERSIONS.slice(10)],
  ] as const) {
    for (const arch of ['x86_64', 'i386'] as const) {
      for (const [i, version] of versions.entries()) {
        // No i386 image of the newest release: the no_i386_image category.
        if (arch === 'i386' && version === NEWEST) continue;
        // Riverbed full images upgrade from the four releases before them only.
        add(
          product,
          arch,
          'riverbed',
          `${product}-${arch}-${version}-full`,
          version,
          undefined,
          versions.slice(Math.max(0, i - 4), i),
        );
        if (i > 0) add(product, arch, 'riverbed', `${product}-${arch}-${version}-delta`, version, versions[i - 1]);
        // The downgrade target is uploaded for x86_64 only: the no_i386_image category of downgrades.
        if (i % 3 === 0 && !(arch === 'i386' && version === DOWN_TARGET))
          add(product, arch, 'customer', `${product}-${arch}-${version}-local`, version);
        if (i > 1 && i % 4 === 0)
          add(product, arch, 'customer', `${product}-${arch}-${version}-delta2`, version, versions[i - 2]);
      }
    }
  }
  return list;
}

function fleet(count: number): {
  appliances: Appliance[];
  previous: Map<string, Set<string>>;
  inProgress: Set<string>;
} {
  const rand = seededRandom(20240116);
  const appliances: Appliance[] = [];
  const previous = new Map<string, Set<string>>();
  const inProgress = new Set<string>();
  for (let i = 0; i < count; i++) {
    const serial = `S12AB${i.toString(16).toUpperCase().padStart(8, '0')}`;
    const at = Math.floor(rand() * VERSIONS.length);
    const r = rand();
    appliances.push({
      product_code: rand() < 0.9 ? 'SH' : 'EX',
      ...(r < 0.8 ? { arch: 'x86_64' as const } : r < 0.98 ? { arch: 'i386' as const } : {}),
      serial,
      connected: rand() > 0.03,
      entitled: rand() > 0.02,
      read_only: rand() < 0.01,
      model_eol: rand() < 0.01,
      ...(rand() > 0.005 ? { current_version: { version_id: VERSIONS[at]! } } : {}),
    });
    previous.set(serial, new Set(VERSIONS.slice(0, at).filter(() => rand() < 0.4)));
    if (rand() < 0.02) inProgress.add(serial);
  }
  return { appliances, previous, inProgress };
}

function time(label: string, iterations: number, appliances: number, fn: () => void): number {
  fn(); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / iterations;
  console.log(
    `${label.padEnd(46)} ${ms.toFixed(2).padStart(9)} ms/call ${Math.round((appliances / ms) * 1000)
      .toLocaleString('en-US')
      .padStart(13)} appliances/s`,
  );
  return ms / appliances;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const summary = (exceptions: Record<string, unknown[]>): string =>
  Object.entries(exceptions)
    .filter(([, list]) => list.length > 0)
    .map(([k, list]) => `${k} ${list.length}`)
    .join(', ');

export async function eligibilityBenchmark(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { appliances: { type: 'string', default: '10000' }, iterations: { type: 'string', default: '5' } },
    allowPositionals: true,
    strict: false,
  });
  const count = Number(values.appliances);
  const iterations = Number(values.iterations);
  const heapBefore = process.memoryUsage().heapUsed;
  const { appliances, previous, inProgress } = fleet(count);
  const available = images();
  const downTarget = DOWN_TARGET;
  console.log(
    `${count.toLocaleString('en-US')} appliances (${appliances.filter((a) => a.product_code === 'SH').length.toLocaleString('en-US')} SH), ${available.length} images, ${iterations} iterations; heap used after generating: ${mib(process.memoryUsage().heapUsed)}`,
  );

  const up = upgradeEligibility({
    productCode: 'SH',
    appliances,
    images: available,
    inProgress,
    targetVersionId: NEWEST,
  });
  const down = downgradeEligibility({
    productCode: 'SH',
    appliances,
    images: available,
    inProgress,
    previousVersions: previous,
    targetVersionId: downTarget,
  });
  console.log(`upgrade to ${NEWEST}: upgradeable ${up.upgradeable.length}; ${summary(up.exceptions)}`);
  console.log(`downgrade to ${downTarget}: downgradeable ${down.downgradeable.length}; ${summary(down.exceptions)}`);

  // One index for every call: its path memo is warm after the first.
  const sharedIndex = new ImageIndex(available);
  time(
    'upgradeEligibility (index built per call)',
    iterations,
    count,
    () =>
      void upgradeEligibility({
        productCode: 'SH',
        appliances,
        images: available,
        inProgress,
        targetVersionId: NEWEST,
      }),
  );
  const indexed = time('upgradeEligibility (shared index, memo warm)', iterations, count, () => {
    void upgradeEligibility({
      productCode: 'SH',
      appliances,
      images: sharedIndex,
      inProgress,
      targetVersionId: NEWEST,
    });
  });
  time(
    'downgradeEligibility (index built per call)',
    iterations,
    count,
    () =>
      void downgradeEligibility({
        productCode: 'SH',
        appliances,
        images: available,
        inProgress,
        previousVersions: previous,
        targetVersionId: downTarget,
      }),
  );
  time(
    'rebootEligibility',
    iterations,
    count,
    () => void rebootEligibility({ productCode: 'SH', appliances, inProgress }),
  );
  time(
    'upgradeableVersions (every target)',
    iterations,
    count,
    () => void upgradeableVersions('SH', appliances, available, inProgress),
  );
  time(
    'downgradeableVersions (every target)',
    iterations,
    count,
    () => void downgradeableVersions('SH', appliances, available, previous, inProgress),
  );

  // Baseline: no shared index and no memo, as a naive per-appliance search would do.
  const sample = appliances.slice(0, Math.min(count, 1000));
  const baseline = time(`baseline: fresh index per appliance (${sample.length})`, 1, sample.length, () => {
    for (const a of sample)
      void upgradeEligibility({
        productCode: 'SH',
        appliances: [a],
        images: available,
        inProgress,
        targetVersionId: NEWEST,
      });
  });
  console.log(`shared index vs baseline, per appliance: ${(baseline / indexed).toFixed(0)}x faster`);
  const placed = up.upgradeable.length + Object.values(up.exceptions).reduce((n, l) => n + l.length, 0);
  const sh = appliances.filter((a) => a.product_code === 'SH').length;
  console.log(`every SH appliance placed exactly once: ${placed === sh ? 'yes' : `NO (${placed} of ${sh})`}`);
  console.log(`heap used: ${mib(process.memoryUsage().heapUsed)} (at start ${mib(heapBefore)})`);
}
