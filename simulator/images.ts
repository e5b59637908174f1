/**
 * The simulator as the image server of the catalog (domain/image-catalog.ts): `GET|HEAD
 * /images/{path}` answers the catalog image at that path, a manifest (domain/image-manifest.ts)
 * of the definition bootstrap gives it, then a payload of IMAGE_PAYLOAD_BYTES; anything else
 * under /images is a 404. Single byte ranges (`Range: bytes=a-b`, `a-`, `-n`) answer 206, so the
 * API reads only an image's head; an unsatisfiable one answers 416.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { catalogImageAt } from '../domain/image-catalog';
import { encodeImageManifest } from '../domain/image-manifest';

export const IMAGES_PREFIX = '/images/';
/** Payload bytes after the manifest: enough to be an image to a reader, small enough to serve thousands. */
export const IMAGE_PAYLOAD_BYTES = 256 * 1024;

/** The whole image at a path under /images/, or undefined when the catalog has none there. */
export function simulatedImage(path: string): { bytes: Buffer; buildTimestamp: number } | undefined {
  const image = catalogImageAt(path);
  if (!image) return undefined;
  const head = encodeImageManifest({
    image_definition: image.image_definition,
    build_timestamp: image.build_timestamp,
  });
  // A payload that differs per image (its path, repeated), so a mixed-up range shows.
  const payload = Buffer.alloc(IMAGE_PAYLOAD_BYTES, `${image.path}\n`);
  return { bytes: Buffer.concat([head, payload]), buildTimestamp: image.build_timestamp };
}

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * The one byte range a `Range` header asks of `size` bytes (end inclusive), `unsatisfiable`, or
 * undefined for the whole: no header, another unit, several ranges or a malformed one (RFC 9110
 * lets a server ignore those and answer 200).
 */
export function byteRange(header: string | undefined, size: number): ByteRange {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  return start <= end ? { start, end } : undefined;
}

function sendBytes(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  body: Buffer,
): void {
  res.writeHead(status, { ...headers, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Whether the request is for the image server (a path under /images/). */
export const isImageRequest = (req: IncomingMessage): boolean => (req.url ?? '').startsWith(IMAGES_PREFIX);

/** Answers a request under /images/ (see the file comment). */
export function serveImage(req: IncomingMessage, res: ServerResponse): void {
  const raw = new URL(req.url ?? '/', 'http://simulator').pathname.slice(IMAGES_PREFIX.length);
  let path: string | undefined;
  try {
    path = decodeURIComponent(raw);
  } catch {
    // A malformed escape names no image.
  }
  const image =
    path !== undefined && (req.method === 'GET' || req.method === 'HEAD') ? simulatedImage(path) : undefined;
  if (!image) {
    const text = JSON.stringify({ error: { code: 'image.not_found', message: `no image at ${IMAGES_PREFIX}${raw}` } });
    return sendBytes(req, res, 404, { 'content-type': 'application/json' }, Buffer.from(text));
  }
  const size = image.bytes.length;
  const common = {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    'last-modified': new Date(image.buildTimestamp * 1000).toUTCString(),
  };
  const range = byteRange(req.headers.range, size);
  if (range === 'unsatisfiable')
    return sendBytes(req, res, 416, { ...common, 'content-range': `bytes */${size}` }, Buffer.alloc(0));
  if (!range) return sendBytes(req, res, 200, common, image.bytes);
  return sendBytes(
    req,
    res,
    206,
    { ...common, 'content-range': `bytes ${range.start}-${range.end}/${size}` },
    image.bytes.subarray(range.start, range.end + 1),
  );
}
