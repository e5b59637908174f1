/**
 * Version order, for both version styles of the seeds.
 *
 * RiOS-like (SCC): a version number is dotted decimals with optional trailing characters for fix
 * and customer releases: `9.2` < `9.10`, `9.14.2` < `9.14.2a` < `9.14.2b` < `9.14.10`; missing
 * components count as 0 (`9.14` = `9.14.0`). A build number distinguishes prereleases of one
 * version number and is compared numerically when both sides have one. Version ids are
 * `<version_number>[-<build_number>]` (e.g. `9.14.2-100`).
 *
 * Collector builds (Sumo): `<major>.<minor>[-<build>]`, e.g. `19.115-37` < `19.115-40` < `20.1-2749`.
 *
 * Input that is neither is an error naming it, never silently ordered.
 */
import type { Version } from './scc';

export class VersionFormatError extends Error {
  constructor(readonly input: string, what: string) {
    super(`'${input}' is not a valid ${what}`);
    this.name = 'VersionFormatError';
  }
}

const VERSION_NUMBER = /^(\d+(?:\.\d+)*)([A-Za-z][A-Za-z0-9]*)?$/;
const VERSION_ID = /^(\d+(?:\.\d+)*(?:[A-Za-z][A-Za-z0-9]*)?)(?:-(\d+))?$/;
const COLLECTOR_VERSION = /^(\d+(?:\.\d+)*)(?:-(\d+))?$/;

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

function compareParts(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return sign(d);
  }
  return 0;
}

function parseNumber(versionNumber: string): { parts: number[]; suffix: string } {
  const match = VERSION_NUMBER.exec(versionNumber);
  if (!match) throw new VersionFormatError(versionNumber, 'version number (dotted decimals with optional trailing letters)');
  return { parts: match[1]!.split('.').map(Number), suffix: (match[2] ?? '').toLowerCase() };
}

/** Orders RiOS-like version numbers: numbers first, then the trailing characters ('' < 'a' < 'b' < 'aa'). */
export function compareVersionNumbers(a: string, b: string): number {
  const x = parseNumber(a);
  const y = parseNumber(b);
  const byParts = compareParts(x.parts, y.parts);
  if (byParts !== 0) return byParts;
  if (x.suffix.length !== y.suffix.length) return sign(x.suffix.length - y.suffix.length);
  return x.suffix < y.suffix ? -1 : x.suffix > y.suffix ? 1 : 0;
}

/** `9.14.2a-100` → version number `9.14.2a`, build number `100`. */
export function parseVersionId(versionId: string): { version_number: string; build_number?: string } {
  const match = VERSION_ID.exec(versionId);
  if (!match) throw new VersionFormatError(versionId, 'version id (<version_number>[-<build_number>])');
  return { version_number: match[1]!, ...(match[2] !== undefined ? { build_number: match[2] } : {}) };
}

/** Orders seed `version` objects: by version number, then build number when both have one. */
export function compareVersions(a: Version, b: Version): number {
  const x = a.version_number !== undefined ? { version_number: a.version_number, build_number: a.build_number } : parseVersionId(a.version_id);
  const y = b.version_number !== undefined ? { version_number: b.version_number, build_number: b.build_number } : parseVersionId(b.version_id);
  const byNumber = compareVersionNumbers(x.version_number, y.version_number);
  if (byNumber !== 0 || x.build_number === undefined || y.build_number === undefined) return byNumber;
  return sign(Number(x.build_number) - Number(y.build_number));
}

/** Whether a string is a version id this module can order. */
export const isVersionId = (versionId: string): boolean => VERSION_ID.test(versionId);

/** Orders Sumo collector builds (`19.115-37`). */
export function compareCollectorVersions(a: string, b: string): number {
  const x = COLLECTOR_VERSION.exec(a);
  const y = COLLECTOR_VERSION.exec(b);
  if (!x) throw new VersionFormatError(a, 'collector version (<major>.<minor>[-<build>])');
  if (!y) throw new VersionFormatError(b, 'collector version (<major>.<minor>[-<build>])');
  const byParts = compareParts(x[1]!.split('.').map(Number), y[1]!.split('.').map(Number));
  return byParts !== 0 ? byParts : sign(Number(x[2] ?? 0) - Number(y[2] ?? 0));
}
