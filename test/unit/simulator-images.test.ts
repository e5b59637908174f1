/** The simulator's image server (simulator/images.ts) and the API's head reader (api/image-head.ts), on loopback. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readImageHead, readImageManifest, redactUrl } from '../../api/image-head';
import { catalogImageAt } from '../../domain/image-catalog';
import { encodeImageManifest, IMAGE_MANIFEST_MAX_BYTES, parseImageManifest } from '../../domain/image-manifest';
import { byteRange, IMAGE_PAYLOAD_BYTES, isImageRequest, serveImage, simulatedImage } from '../../simulator/images';

let server: Server;
let base: string;
/** The last Authorization header the server saw. */
let lastAuthorization: string | undefined;
let dir: string;

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'image-head-'));
  server = createServer((req, res) => {
    lastAuthorization = req.headers.authorization;
    if (isImageRequest(req)) return serveImage(req, res);
    res.writeHead(500).end('not an image path');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

test('byte ranges: one range of a size, the whole for none or a malformed one, unsatisfiable past the end', () => {
  expect(byteRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
  expect(byteRange('bytes=990-2000', 1000)).toEqual({ start: 990, end: 999 });
  expect(byteRange('bytes=10-', 1000)).toEqual({ start: 10, end: 999 });
  expect(byteRange('bytes=-10', 1000)).toEqual({ start: 990, end: 999 });
  expect(byteRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
  for (const ignored of [undefined, '', 'bytes=-', 'items=0-1', 'bytes=0-1,5-6', 'bytes=9-3', 'bytes=a-b'])
    expect(byteRange(ignored, 1000)).toBeUndefined();
  expect(byteRange('bytes=1000-', 1000)).toBe('unsatisfiable');
  expect(byteRange('bytes=-0', 1000)).toBe('unsatisfiable');
});

test('a simulated image is the manifest of its catalog definition, then the payload', () => {
  const path = 'customer/WW/i386/9.12.1-100.img';
  const image = simulatedImage(path)!;
  const parsed = parseImageManifest(image.bytes);
  expect(parsed).toMatchObject({
    ok: true,
    manifest: { image_definition: catalogImageAt(path)!.image_definition, build_timestamp: image.buildTimestamp },
  });
  expect(image.bytes.length).toBe((parsed.ok ? parsed.payloadOffset : 0) + IMAGE_PAYLOAD_BYTES);
  expect(simulatedImage('WW/i386/9.12.1-100.delta')).toBeUndefined();
});

test('the head reader reads a capped head over HTTP with a Range, sends userinfo as Basic authentication, and says why it cannot', async () => {
  const head = await readImageHead(new URL(`${base}/images/SH/x86_64/9.16.0-100.img`), { maxBytes: 100 });
  expect(head.ok && head.head.length).toBe(100);
  const manifest = await readImageManifest(
    new URL(`http://ops:pa%3Ass@127.0.0.1:${new URL(base).port}/images/SH/x86_64/9.16.0-100.img`),
  );
  expect(manifest).toMatchObject({
    ok: true,
    manifest: { image_definition: catalogImageAt('SH/x86_64/9.16.0-100.img')!.image_definition },
  });
  expect(lastAuthorization).toBe(`Basic ${Buffer.from('ops:pa:ss').toString('base64')}`);
  expect(await readImageManifest(new URL(`${base}/images/nope.img`))).toEqual({
    ok: false,
    problem: 'unreadable',
    reason: 'the server answered HTTP 404',
  });
  expect(await readImageManifest(new URL(`${base}/elsewhere`))).toEqual({
    ok: false,
    problem: 'unreadable',
    reason: 'the server answered HTTP 500',
  });
  expect(await readImageHead(new URL(`http://127.0.0.1:${await closedPort()}/x.img`))).toEqual({
    ok: false,
    reason: 'the connection was refused',
  });
  expect(await readImageHead(new URL('http://127.0.0.1:1/x.img'))).toEqual({
    ok: false,
    reason: 'the request failed (bad port)',
  });
  expect(await readImageHead(new URL('ftp://127.0.0.1/x.img'))).toEqual({
    ok: false,
    reason: 'the ftp: scheme is not supported',
  });
});

test('the head reader reads the first bytes of a file: URL', async () => {
  const file = join(dir, 'a.img');
  writeFileSync(
    file,
    Buffer.concat([
      Buffer.from(
        encodeImageManifest({ image_definition: catalogImageAt('SH/x86_64/9.16.0-100.img')!.image_definition }),
      ),
      Buffer.alloc(IMAGE_MANIFEST_MAX_BYTES * 2),
    ]),
  );
  const head = await readImageHead(pathToFileURL(file));
  expect(head.ok && head.head.length).toBe(IMAGE_MANIFEST_MAX_BYTES);
  expect(await readImageManifest(pathToFileURL(file))).toMatchObject({ ok: true });
  expect(await readImageHead(pathToFileURL(join(dir, 'absent.img')))).toEqual({ ok: false, reason: 'no such file' });
  expect(await readImageHead(pathToFileURL(dir))).toEqual({ ok: false, reason: 'it is a directory' });
  expect(await readImageHead(new URL('file:///dev/zero'))).toEqual({ ok: false, reason: 'it is not a regular file' });
  expect(await readImageHead(new URL('file://fileserver/share/a.img'))).toEqual({
    ok: false,
    reason: 'it is not a file URL of this host',
  });
});

test('URLs in messages and logs lose their credentials and query', () => {
  expect(redactUrl('https://deploy:hunter2@images.example/a.img?X-Amz-Signature=abc#frag')).toBe(
    'https://images.example/a.img?…',
  );
  expect(redactUrl('http://images.example/a.img')).toBe('http://images.example/a.img');
  expect(redactUrl('file:///var/tmp/a.img')).toBe('file:///var/tmp/a.img');
  expect(redactUrl('not a url')).toBe('(not a URL)');
});
