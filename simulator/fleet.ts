/** Deterministic generation of a simulated appliance fleet from a seed. */
import { z } from 'zod';
import { collectorInfo, deviceInfo } from '../domain/device-api';
import { PRODUCT_CODES, type ProductCode, type Version } from '../domain/scc';
import { parseJsonFile, repeatedSerial } from '../domain/validation';

export type ApplianceSpec = z.output<typeof applianceSpec>;

/** mulberry32: small, fast, repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERIAL_PREFIX: Record<ProductCode, string> = { SH: 'S', EX: 'E', IC: 'I', SMC: 'M', WW: 'W', GC: 'G' };
const MODELS: Record<ProductCode, string[]> = {
  SH: ['CX580', 'CX780', 'CX3080', 'CX5080'],
  EX: ['EX560', 'EX760', 'EX1160'],
  IC: ['IC-9000'],
  SMC: ['SMC-8000'],
  WW: ['VCX10', 'VCX30'],
  GC: ['GC-255'],
};
const TIME_ZONES = [
  'UTC',
  'Europe/London',
  'Europe/Berlin',
  'America/New_York',
  'America/Los_Angeles',
  'Asia/Tokyo',
  'Asia/Kolkata',
  'Australia/Sydney',
];
const START_VERSIONS = ['9.12.0', '9.12.1', '9.14.0'];
/** The demo's legacy appliances run a release no image upgrades from (eligibility: not_supported). */
export const LEGACY_VERSION = '9.10.0';

export const versionOf = (versionNumber: string, buildNumber = '100'): Version => ({
  version_id: `${versionNumber}-${buildNumber}`,
  version_number: versionNumber,
  build_number: buildNumber,
});

function hex(rand: () => number, digits: number): string {
  let s = '';
  for (let i = 0; i < digits; i++)
    s += Math.floor(rand() * 16)
      .toString(16)
      .toUpperCase();
  return s;
}

/**
 * `clean`: every appliance connected, entitled, writable and supported. `demo`: a few in each
 * exception state (unentitled, read-only, end-of-life model, disconnected, a legacy release no
 * image upgrades from), so every eligibility
 * category has members.
 */
export type FleetProfile = 'clean' | 'demo';
export const FLEET_PROFILES: readonly FleetProfile[] = ['clean', 'demo'];

/**
 * A fleet of `count` appliances of every product code and both arches, spread over several time
 * zones. The same seed (and profile) always gives the same fleet.
 */
export function generateAppliances(count: number, seed = 1, profile: FleetProfile = 'clean'): ApplianceSpec[] {
  const demo = profile === 'demo';
  const rand = seededRandom(seed);
  const fleet: ApplianceSpec[] = [];
  for (let i = 0; i < count; i++) {
    const product = PRODUCT_CODES[i % PRODUCT_CODES.length]!;
    // Pattern ^[A-Za-z][0-9A-Fa-f]{2}[A-Za-z]{0,2}[0-9A-Fa-f]{8}$; the index in the last six digits keeps serials unique.
    const serial = `${SERIAL_PREFIX[product]}${hex(rand, 4)}${i.toString(16).toUpperCase().padStart(6, '0')}`;
    const models = MODELS[product];
    fleet.push({
      serial,
      product_code: product,
      model: models[Math.floor(rand() * models.length)]!,
      arch: rand() < 0.85 ? 'x86_64' : 'i386',
      hostname: `${product.toLowerCase()}-${i.toString().padStart(5, '0')}`,
      ip_address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      time_zone: TIME_ZONES[Math.floor(rand() * TIME_ZONES.length)]!,
      running_version: versionOf(START_VERSIONS[Math.floor(rand() * START_VERSIONS.length)]!),
      esxi_version: product === 'SH' && rand() < 0.3 ? '6.7.0' : null,
      // Spaced by different primes so the demo's exception states rarely coincide.
      connected: !(demo && i % 37 === 11),
      entitled: !(demo && i % 23 === 5),
      read_only: demo && i % 29 === 7,
      model_eol: demo && i % 31 === 9,
      groups: [`group-${i % 4}`],
      bandwidth_bps: 5_000_000 + Math.floor(rand() * 20_000_000),
    });
    // After the random draws, so the rest of the fleet is the same with or without it.
    if (demo && i % 41 === 13) fleet[i]!.running_version = versionOf(LEGACY_VERSION);
  }
  return fleet;
}

export type CollectorSpec = z.output<typeof collectorSpec>;

/** The collector builds the simulator knows, oldest first; the last is the latest. */
export const COLLECTOR_BUILDS = ['19.115-37', '19.152-1', '19.182-25', '19.216-22', '20.1-2749'] as const;

const OSES = [
  { osName: 'Linux', osVersion: '5.15.0-91-generic', osArch: 'amd64' },
  { osName: 'Windows Server 2019', osVersion: '10.0', osArch: 'amd64' },
  { osName: 'Mac OS X', osVersion: '10.11.5', osArch: 'x86_64' },
];

/** Sumo collectors: mostly Installable on older builds, some Hosted, some not alive (demo). */
export function generateCollectors(count: number, seed = 1, profile: FleetProfile = 'clean'): CollectorSpec[] {
  const rand = seededRandom(seed + 7919);
  const demo = profile === 'demo';
  return Array.from({ length: count }, (_, i) => {
    const os = OSES[Math.floor(rand() * OSES.length)]!;
    return {
      id: 100000001 + i,
      name: `SumoCollector_${i.toString().padStart(4, '0')}`,
      hostName: `collector-${i.toString().padStart(4, '0')}`,
      timeZone: TIME_ZONES[Math.floor(rand() * TIME_ZONES.length)]!,
      ephemeral: false,
      sourceSyncMode: 'UI',
      collectorType: demo && i % 11 === 3 ? 'Hosted' : 'Installable',
      collectorVersion: COLLECTOR_BUILDS[Math.floor(rand() * (COLLECTOR_BUILDS.length - 1))]!,
      ...os,
      alive: !(demo && i % 13 === 5),
    };
  });
}

/**
 * One simulated appliance: what the device API reports (its standby partition starts empty) and its link speed, with the
 * defaults a fleet file may leave out.
 */
const applianceSpec = deviceInfo.omit({ standby_version: true }).extend({
  esxi_version: z.string().nullable().default(null),
  connected: z.boolean().default(true),
  entitled: z.boolean().default(true),
  read_only: z.boolean().default(false),
  model_eol: z.boolean().default(false),
  groups: z.array(z.string()).default([]),
  /** Link speed in bytes per (simulated) second. */
  bandwidth_bps: z.number().positive().default(10_000_000),
});

/** One simulated collector: what it reports but its last-seen time, which the simulator keeps. */
const collectorSpec = collectorInfo.omit({ lastSeenAlive: true }).extend({
  id: z.number().int().positive(),
  ephemeral: z.boolean().default(false),
  sourceSyncMode: z.string().default('UI'),
  alive: z.boolean().default(true),
});

/** A fleet file for `--fleet-file`: the simulator serves exactly these devices. */
export const fleetFile = z.object({
  appliances: z.array(applianceSpec).default([]),
  collectors: z.array(collectorSpec).default([]),
});
export type FleetFile = z.infer<typeof fleetFile>;

/** Parses a fleet file's text; the error names the first bad field. */
export function parseFleetFile(text: string): FleetFile {
  const file = parseJsonFile('fleet file', fleetFile, text);
  const repeated = repeatedSerial(file.appliances);
  if (repeated) throw new Error(`fleet file: appliance ${repeated.serial} is listed twice`);
  return file;
}
