/**
 * The image file format: an image carries its own definition, so a URL or a file is enough to
 * upload or register it (the seed's requests are `{ url, <prop> }`). An image file begins with a
 * small manifest, then the payload:
 *
 *   RVBD-IMAGE 1\n                                   magic and format version (ASCII)
 *   {"image_definition":{…},"build_timestamp":…}\n   one line of JSON (UTF-8)
 *   <payload bytes>
 *
 * `image_definition` is the seed's image_definition; `build_timestamp` (seconds since the epoch,
 * optional) is when the image was built: a locally hosted image's `modification_time`, "the
 * timestamp of the build". Other manifest properties are allowed and kept. The magic line and
 * the manifest together fit in IMAGE_MANIFEST_MAX_BYTES, so a reader needs only that much of the
 * image (one HTTP Range request, one read of a file).
 *
 * Pure, no I/O.
 */
import { z } from 'zod';
import { imageDefinition, timestamp, type ImageDefinition, type Version } from './scc';
import { firstFieldIssue } from './validation';

export const IMAGE_MANIFEST_MAGIC = 'RVBD-IMAGE';
export const IMAGE_MANIFEST_FORMAT_VERSION = 1;
/** The first line of every image. */
export const IMAGE_MANIFEST_FIRST_LINE = `${IMAGE_MANIFEST_MAGIC} ${IMAGE_MANIFEST_FORMAT_VERSION}`;
/** The magic line and the manifest line fit in this many bytes (a reader reads no more). */
export const IMAGE_MANIFEST_MAX_BYTES = 64 * 1024;

export const imageManifest = z.looseObject({
  image_definition: imageDefinition,
  build_timestamp: timestamp.optional(),
});
export type ImageManifest = z.infer<typeof imageManifest>;

export type ManifestParse =
  { ok: true; manifest: ImageManifest; payloadOffset: number } | { ok: false; reason: string };

const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The manifest lines of an image (its first bytes); the payload follows them. Throws when it would not fit IMAGE_MANIFEST_MAX_BYTES. */
export function encodeImageManifest(manifest: ImageManifest): Uint8Array {
  const valid = imageManifest.parse(manifest);
  const bytes = new TextEncoder().encode(`${IMAGE_MANIFEST_FIRST_LINE}\n${JSON.stringify(valid)}\n`);
  if (bytes.length > IMAGE_MANIFEST_MAX_BYTES)
    throw new Error(`an image manifest must fit in ${IMAGE_MANIFEST_MAX_BYTES} bytes (this one has ${bytes.length})`);
  return bytes;
}

/** The magic line: `RVBD-IMAGE 1`, or why not. */
function checkMagic(head: Uint8Array): { ok: true; next: number } | { ok: false; reason: string } {
  if (head.length === 0) return { ok: false, reason: 'the image is empty' };
  const end = head.indexOf(NEWLINE);
  const line = new TextDecoder('latin1').decode(head.subarray(0, end < 0 ? Math.min(head.length, 32) : end));
  if (!line.startsWith(`${IMAGE_MANIFEST_MAGIC} `) && line !== IMAGE_MANIFEST_MAGIC)
    return { ok: false, reason: `it does not begin with "${IMAGE_MANIFEST_FIRST_LINE}"` };
  if (end < 0) return { ok: false, reason: 'the image ends within its first line' };
  const version = line.slice(IMAGE_MANIFEST_MAGIC.length + 1);
  if (version !== String(IMAGE_MANIFEST_FORMAT_VERSION))
    return {
      ok: false,
      reason: `manifest format "${line.slice(0, 40)}" is not supported (only "${IMAGE_MANIFEST_FIRST_LINE}")`,
    };
  return { ok: true, next: end + 1 };
}

/** The manifest line's JSON, or why it cannot be read. */
function manifestJson(
  head: Uint8Array,
  start: number,
): { ok: true; value: unknown; next: number } | { ok: false; reason: string } {
  const end = head.indexOf(NEWLINE, start);
  if (end < 0) {
    return {
      ok: false,
      reason:
        head.length >= IMAGE_MANIFEST_MAX_BYTES
          ? `the manifest line is longer than ${IMAGE_MANIFEST_MAX_BYTES} bytes`
          : 'the image ends within its manifest line',
    };
  }
  try {
    return { ok: true, value: JSON.parse(utf8.decode(head.subarray(start, end))), next: end + 1 };
  } catch (err) {
    return {
      ok: false,
      reason: `the manifest is not valid JSON (${err instanceof SyntaxError ? err.message : 'not UTF-8'})`,
    };
  }
}

/** Reads the manifest from the first bytes of an image (at least the manifest, e.g. IMAGE_MANIFEST_MAX_BYTES of it). */
export function parseImageManifest(head: Uint8Array): ManifestParse {
  const magic = checkMagic(head);
  if (!magic.ok) return magic;
  const json = manifestJson(head, magic.next);
  if (!json.ok) return json;
  const parsed = imageManifest.safeParse(json.value);
  if (!parsed.success) {
    const { field, message } = firstFieldIssue(parsed.error, { whole: '(root)' });
    return { ok: false, reason: `the manifest is invalid: ${field}: ${message}` };
  }
  return { ok: true, manifest: parsed.data, payloadOffset: json.next };
}

/**
 * A locally hosted image's modification_time ("the timestamp of the build", the seed): the
 * manifest's build_timestamp, else the definition's target_version.build_timestamp, else the
 * upload time (an image whose build time nobody states was, as far as this service knows,
 * built when it arrived).
 */
export function modificationTimeOf(
  buildTimestamp: number | undefined,
  definition: ImageDefinition,
  uploadSeconds: number,
): number {
  return buildTimestamp ?? definition.target_version.build_timestamp ?? uploadSeconds;
}

const mergedVersion = (a: Version | undefined, b: Version | undefined): Version | undefined =>
  a && b ? { ...a, ...b } : (b ?? a);

/**
 * The definition of an image whose manifest and request both give one (naming the same image, see
 * sameImageDefinition): the manifest's, with the request's properties beside it. Versions merge
 * field by field, so the manifest's version_number or build_timestamp survive a request that
 * names the version by version_id only.
 */
export function withRequestDefinition(
  manifest: ImageDefinition,
  request: ImageDefinition | undefined,
): ImageDefinition {
  if (!request) return manifest;
  const source_version = mergedVersion(manifest.source_version, request.source_version);
  return {
    ...manifest,
    ...request,
    target_version: mergedVersion(manifest.target_version, request.target_version)!,
    ...(source_version ? { source_version } : {}),
  };
}
