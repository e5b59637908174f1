/**
 * Reads the first bytes of an image, where its manifest is (domain/image-manifest.ts), so an
 * upload or URL registration can learn the image's definition from the image itself. Only the
 * head is read, never the image: an HTTP(S) GET with a Range header, capped in size and time, or
 * one read of a `file:` URL on this host. Never throws: a failure is a reason to show the caller.
 *
 * A URL may carry credentials (userinfo, or a signed query string): they are sent as HTTP Basic
 * authentication, and `redactUrl` strips them from every message and log line.
 */
import { open, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { IMAGE_MANIFEST_MAX_BYTES, parseImageManifest, type ImageManifest } from '../domain/image-manifest';

/** How long reading an image's head may take, whole: connecting, the answer and its bytes. */
export const IMAGE_HEAD_TIMEOUT_MS = 5_000;

export type ImageHead = { ok: true; head: Uint8Array } | { ok: false; reason: string };
/** `unreadable`: the image could not be read at all; `no_manifest`: it was, and has no valid manifest. */
export type ImageManifestRead =
  { ok: true; manifest: ImageManifest } | { ok: false; problem: 'unreadable' | 'no_manifest'; reason: string };

export interface ImageHeadOptions {
  maxBytes?: number;
  timeoutMs?: number;
}

/** The URL without userinfo and with its query replaced by `?…`, for messages and logs. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(not a URL)';
  }
  parsed.username = '';
  parsed.password = '';
  const query = parsed.search ? '?…' : '';
  parsed.search = '';
  parsed.hash = '';
  return `${parsed.href}${query}`;
}

/** The first `maxBytes` of a body; the rest is never downloaded (the stream is cancelled). */
async function firstBytes(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

/** Why a fetch failed, in words that never carry the URL (a cause's message might). */
function fetchFailure(err: unknown, timeoutMs: number): string {
  const { name, cause } = err as { name?: string; cause?: { code?: unknown; name?: string; message?: unknown } };
  if (name === 'TimeoutError' || name === 'AbortError' || cause?.name === 'TimeoutError')
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host name does not resolve (${code})`;
  if (code === 'ECONNREFUSED') return 'the connection was refused';
  // A short plain cause (e.g. fetch's "bad port") says more than nothing; anything longer might quote the URL.
  const said = typeof cause?.message === 'string' && /^[\w .:-]{1,60}$/.test(cause.message) ? cause.message : undefined;
  return `the request failed${code ? ` (${code})` : said ? ` (${said})` : ''}`;
}

async function readHttpHead(url: URL, maxBytes: number, timeoutMs: number): Promise<ImageHead> {
  const target = new URL(url.href);
  const headers: Record<string, string> = { range: `bytes=0-${maxBytes - 1}`, accept: 'application/octet-stream, */*' };
  if (target.username || target.password) {
    // fetch refuses URLs with userinfo; the credentials become Basic authentication.
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  try {
    const res = await fetch(target, { headers, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: false, reason: `the server answered HTTP ${res.status}` };
    }
    return { ok: true, head: res.body ? await firstBytes(res.body, maxBytes) : new Uint8Array() };
  } catch (err) {
    return { ok: false, reason: fetchFailure(err, timeoutMs) };
  }
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

async function readFileHead(url: URL, maxBytes: number): Promise<ImageHead> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch {
    return { ok: false, reason: 'it is not a file URL of this host' };
  }
  try {
    // Only a regular file: opening a FIFO or a device could block or never end.
    const info = await stat(path);
    if (info.isDirectory()) return { ok: false, reason: 'it is a directory' };
    if (!info.isFile()) return { ok: false, reason: 'it is not a regular file' };
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(maxBytes);
      const { bytesRead } = await file.read(buffer, 0, maxBytes, 0);
      return { ok: true, head: buffer.subarray(0, bytesRead) };
    } finally {
      await file.close();
    }
  } catch (err) {
    const { code = 'unknown' } = err as { code?: string };
    return { ok: false, reason: FILE_ERRORS[code] ?? `the file cannot be read (${code})` };
  }
}

/** The first bytes of the image at `url` (http:, https: or file:). */
export async function readImageHead(url: URL, options: ImageHeadOptions = {}): Promise<ImageHead> {
  const { maxBytes = IMAGE_MANIFEST_MAX_BYTES, timeoutMs = IMAGE_HEAD_TIMEOUT_MS } = options;
  if (url.protocol === 'http:' || url.protocol === 'https:') return readHttpHead(url, maxBytes, timeoutMs);
  if (url.protocol === 'file:') return readFileHead(url, maxBytes);
  return { ok: false, reason: `the ${url.protocol} scheme is not supported` };
}

/** The manifest of the image at `url`, or why there is none. */
export async function readImageManifest(url: URL, options: ImageHeadOptions = {}): Promise<ImageManifestRead> {
  const head = await readImageHead(url, options);
  if (!head.ok) return { ok: false, problem: 'unreadable', reason: head.reason };
  const parsed = parseImageManifest(head.head);
  return parsed.ok
    ? { ok: true, manifest: parsed.manifest }
    : { ok: false, problem: 'no_manifest', reason: parsed.reason };
}
