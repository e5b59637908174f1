/**
 * Version order, for both version styles of the seeds. Pure, no I/O.
 *
 * RiOS-like (SCC). A version number is "a dotted decimal with optional trailing characters to
 * identify fix releases and customer specific releases" (the seed):
 * - components compare numerically: `9.2` < `9.10`; a missing component counts as 0, so
 *   `9.14` = `9.14.0` (compare returns 0; an equal pair keeps its input order in a stable sort);
 * - the trailing characters come after the numbers: `9.14.2` < `9.14.2a` < `9.14.2b` < `9.14.10`;
 *   they start with a letter, are case-insensitive (`2A` = `2a`) and compare naturally: runs of
 *   letters by length then alphabet (`z` < `aa`, as fix letters run out), runs of digits
 *   numerically (`a9` < `a10`), and a shorter suffix that is a prefix comes first (`a` < `a1`);
 * - a suffix never outweighs a numeric component: `9.14.2z` < `9.14.2.1` < `9.14.3`.
 * A build number "distinguishes prerelease versions": it decides only between equal version
 * numbers, numerically, and only when both sides have one (`9.14.2-99` < `9.14.2-100`, while
 * `9.14.2` vs `9.14.2-100` is 0). A version id is `<version_number>[-<build_number>]`, as the
 * simulator writes them (`9.14.2-100`).
 *
 * Collector builds (Sumo): `<major>.<minor>[-<build>]`, numerically, a missing build counting as 0:
 * `19.115-37` < `19.115-40` < `19.216-1` < `20.1-2749`.
 *
 * Input that fits neither is a VersionFormatError naming it, never silently ordered.
 */
import type { Version } from './scc';

export class VersionFormatError extends Error {
  constructor(
    readonly input: string,
    what: string,
  ) {
    super(`'${input}' is not a valid ${what}`);
    this.name = 'VersionFormatError';
  }
}

export interface ParsedVersionNumber {
  /** The dotted decimal components, as digit strings without leading zeros (no precision limit). */
  readonly parts: readonly string[];
  /** The trailing characters, lower-cased, split into runs of letters and runs of digits. */
  readonly suffix: readonly string[];
}

const VERSION_NUMBER = /^(\d+(?:\.\d+)*)([A-Za-z][A-Za-z0-9]*)?$/;
const VERSION_ID = /^(\d+(?:\.\d+)*(?:[A-Za-z][A-Za-z0-9]*)?)(?:-(\d+))?$/;
const BUILD_NUMBER = /^\d+$/;
const COLLECTOR_VERSION = /^(\d+(?:\.\d+)*)(?:-(\d+))?$/;
const SUFFIX_RUNS = /[a-z]+|\d+/g;

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const stripZeros = (digits: string): string => digits.replace(/^0+(?=\d)/, '');

/** Numeric order of two digit strings of any length (without leading zeros). */
function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return sign(a.length - b.length);
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareParts(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = compareDigits(a[i] ?? '0', b[i] ?? '0');
    if (d !== 0) return d;
  }
  return 0;
}

/** Natural order of suffix runs: letters by length then alphabet, digits numerically, prefix first. */
function compareSuffix(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    // Suffixes start with a letter and runs alternate, so runs at one index are of one kind.
    const d = compareDigits(a[i]!, b[i]!);
    if (d !== 0) return d;
  }
  return sign(a.length - b.length);
}

// Eligibility orders the same few version strings millions of times; parsing each once pays.
// Bounded so that a long-lived process fed arbitrary strings cannot grow it without limit.
const CACHE_LIMIT = 10_000;
const parsedNumbers = new Map<string, ParsedVersionNumber>();
const parsedIds = new Map<string, Readonly<{ version_number: string; build_number?: string }>>();

/** Parses a RiOS-like version number (`9.14.2a`); throws VersionFormatError otherwise. */
export function parseVersionNumber(versionNumber: string): ParsedVersionNumber {
  const cached = parsedNumbers.get(versionNumber);
  if (cached) return cached;
  const match = VERSION_NUMBER.exec(versionNumber);
  if (!match)
    throw new VersionFormatError(
      versionNumber,
      'version number (dotted decimals with optional trailing characters, e.g. 9.14.2a)',
    );
  const parsed: ParsedVersionNumber = Object.freeze({
    parts: Object.freeze(match[1]!.split('.').map(stripZeros)),
    suffix: Object.freeze(
      (match[2] ?? '')
        .toLowerCase()
        .match(SUFFIX_RUNS)
        ?.map((run) => (/\d/.test(run) ? stripZeros(run) : run)) ?? [],
    ),
  });
  if (parsedNumbers.size >= CACHE_LIMIT) parsedNumbers.clear();
  parsedNumbers.set(versionNumber, parsed);
  return parsed;
}

/** Orders RiOS-like version numbers (see the module comment). Returns -1, 0 or 1. */
export function compareVersionNumbers(a: string, b: string): number {
  const x = parseVersionNumber(a);
  const y = parseVersionNumber(b);
  return compareParts(x.parts, y.parts) || compareSuffix(x.suffix, y.suffix);
}

/** `9.14.2a-100` → version number `9.14.2a`, build number `100`; throws VersionFormatError otherwise. */
export function parseVersionId(versionId: string): Readonly<{ version_number: string; build_number?: string }> {
  const cached = parsedIds.get(versionId);
  if (cached) return cached;
  const match = VERSION_ID.exec(versionId);
  if (!match)
    throw new VersionFormatError(versionId, 'version id (<version_number>[-<build_number>], e.g. 9.14.2-100)');
  const parsed = Object.freeze({
    version_number: match[1]!,
    ...(match[2] !== undefined ? { build_number: match[2] } : {}),
  });
  if (parsedIds.size >= CACHE_LIMIT) parsedIds.clear();
  parsedIds.set(versionId, parsed);
  return parsed;
}

/** Whether a string is a version id this module can order. */
export const isVersionId = (versionId: string): boolean => VERSION_ID.test(versionId);

/**
 * The version number and build a Version object stands for: its `version_number` and
 * `build_number` when it has a version number (a missing build is taken from the id when the id
 * carries the same number), else its `version_id` parsed.
 */
export function versionParts(v: Version): Readonly<{ version_number: string; build_number?: string }> {
  if (v.version_number === undefined) return parseVersionId(v.version_id);
  let build = v.build_number;
  if (build === undefined && isVersionId(v.version_id)) {
    const fromId = parseVersionId(v.version_id);
    if (fromId.build_number !== undefined && compareVersionNumbers(fromId.version_number, v.version_number) === 0)
      build = fromId.build_number;
  }
  if (build !== undefined && !BUILD_NUMBER.test(build))
    throw new VersionFormatError(build, `build number of version ${v.version_id} (digits)`);
  return { version_number: v.version_number, ...(build !== undefined ? { build_number: build } : {}) };
}

/** Orders seed `version` objects: by version number, then by build number when both have one. */
export function compareVersions(a: Version, b: Version): number {
  const x = versionParts(a);
  const y = versionParts(b);
  const byNumber = compareVersionNumbers(x.version_number, y.version_number);
  if (byNumber !== 0 || x.build_number === undefined || y.build_number === undefined) return byNumber;
  return compareDigits(stripZeros(x.build_number), stripZeros(y.build_number));
}

/** compareVersions, or undefined when either side cannot be ordered (for callers that classify rather than fail). */
export function tryCompareVersions(a: Version, b: Version): number | undefined {
  try {
    return compareVersions(a, b);
  } catch (err) {
    if (err instanceof VersionFormatError) return undefined;
    throw err;
  }
}

/** A total order for listing: compareVersions, then version_id code units, so equal versions never depend on input order. */
export function compareVersionsForListing(a: Version, b: Version): number {
  return compareVersions(a, b) || (a.version_id < b.version_id ? -1 : a.version_id > b.version_id ? 1 : 0);
}

/** Parses a collector build (`19.115-37`, `19.115`); throws VersionFormatError otherwise. */
export function parseCollectorVersion(version: string): { parts: readonly string[]; build: string } {
  const match = COLLECTOR_VERSION.exec(version);
  if (!match) throw new VersionFormatError(version, 'collector version (<major>.<minor>[-<build>])');
  return { parts: match[1]!.split('.').map(stripZeros), build: stripZeros(match[2] ?? '0') };
}

/** Orders Sumo collector builds (see the module comment). Returns -1, 0 or 1. */
export function compareCollectorVersions(a: string, b: string): number {
  const x = parseCollectorVersion(a);
  const y = parseCollectorVersion(b);
  return compareParts(x.parts, y.parts) || compareDigits(x.build, y.build);
}
