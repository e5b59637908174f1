/**
 * SCC images and image repositories over a real store and the real simulator process:
 * - GET /images answers one image per distinct image definition, with every source it is
 *   available from, under an id derived from the definition (domain/image-identity.ts);
 * - the customer repository holds a definition once (409 IMAGE_EXISTS, nothing changes);
 * - uploads and URL registrations read the definition from the image's manifest
 *   (domain/image-manifest.ts): from the simulator over HTTP, from a file: URL on this host;
 * - refusals are 400s naming the field and saying what is missing or wrong, never a 500, and
 *   a URL's credentials reach neither an answer nor a log line;
 * - the simulator serves every catalog image with its manifest, ranges too.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { demoCustomerImages, riverbedCatalog } from '../../api/bootstrap';
import { catalogImageAt, catalogImages } from '../../domain/image-catalog';
import { imageIdOf } from '../../domain/image-identity';
import {
  encodeImageManifest,
  IMAGE_MANIFEST_MAX_BYTES,
  parseImageManifest,
  type ImageManifest,
} from '../../domain/image-manifest';
import { ImageExistsError } from '../../store/fleet-store';
import { startImageApi, type ImageApi } from '../helpers/image-api';

let api: ImageApi;
beforeAll(async () => {
  api = await startImageApi();
});
afterAll(async () => {
  await api?.stop();
});

const call: ImageApi['call'] = (method, path, options) => api.call(method, path, options);
const customerLists = async () => [
  (await call('GET', '/image_repositories/customer/local_images')).json,
  (await call('GET', '/image_repositories/customer/urls')).json,
];
const version = (version_id: string) => ({ version_id });

/** An image file in the scratch directory: the manifest (or the given head), then a payload. */
function imageFile(name: string, manifest: ImageManifest | string): string {
  const file = join(api.dir, name);
  const head = typeof manifest === 'string' ? Buffer.from(manifest) : Buffer.from(encodeImageManifest(manifest));
  writeFileSync(file, Buffer.concat([head, Buffer.alloc(4096, 0x5a)]));
  return pathToFileURL(file).href;
}

describe('GET /images: one image per image definition, with every source it is available from', () => {
  test('a customer copy of a Riverbed image joins its sources under the same id; per-source lists keep their own ids', async () => {
    const before = (await call('GET', '/images?product_code=SH')).json as any[];
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((i) => i.image_definition.product_code === 'SH' && i.image_sources.join() === 'riverbed')).toBe(
      true,
    );
    expect(before.every((i) => i.id === imageIdOf(i.image_definition))).toBe(true);
    expect(new Set(before.map((i) => i.id)).size).toBe(before.length);

    // Registered by URL alone: the simulator's manifest gives the definition bootstrap gives it.
    const path = 'customer/SH/x86_64/9.12.0-100.img';
    const registered = await call('POST', '/image_repositories/customer/urls', {
      body: { url: `${api.sim.url}/images/${path}`, note: 'kept' },
    });
    expect([registered.status, registered.json.error_text]).toEqual([201, undefined]);
    expect(registered.json).toMatchObject({
      url: `${api.sim.url}/images/${path}`,
      note: 'kept',
      image_definition: catalogImageAt(path)!.image_definition,
      registration_time: expect.any(Number),
    });
    expect(registered.json.id).not.toBe(imageIdOf(registered.json.image_definition));

    const after = (await call('GET', '/images?product_code=SH')).json as any[];
    expect(after.map((i) => i.id)).toEqual(before.map((i) => i.id));
    const joined = after.find((i) => i.id === imageIdOf(registered.json.image_definition));
    expect(joined).toMatchObject({
      image_sources: ['customer_url', 'riverbed'],
      image_definition: registered.json.image_definition,
      source_image_ids: { customer_url: registered.json.id, riverbed: 'riverbed-SH-x86_64-9.12.0-100' },
    });
    expect((await call('GET', `/images/${joined.id}`)).json).toEqual(joined);
    expect((await call('GET', '/image_repositories/riverbed/image/riverbed-SH-x86_64-9.12.0-100')).json.id).toBe(
      'riverbed-SH-x86_64-9.12.0-100',
    );
    expect((await call('GET', `/image_repositories/customer/url/${registered.json.id}`)).json).toEqual(registered.json);
    expect((await call('GET', `/images/${registered.json.id}`)).status).toBe(404);

    // One image per definition: the catalog's and those only the customer repository has (other tests add some).
    const all = (await call('GET', '/images')).json as any[];
    const customer = (await customerLists())
      .flat()
      .map((i: { image_definition: Parameters<typeof imageIdOf>[0] }) => imageIdOf(i.image_definition));
    expect(all).toHaveLength(
      new Set([...riverbedCatalog('http://x').map((s) => imageIdOf(s.image.image_definition)), ...customer]).size,
    );
    expect((await call('GET', '/images?product_code=ZZ')).json.field).toBe('product_code');
  });

  test('the customer repository holds a definition once: another upload or registration of it is a 409 naming the image, and changes nothing', async () => {
    const path = 'customer/EX/i386/9.12.1-100.img';
    const first = await call('POST', '/image_repositories/customer/urls', {
      body: { url: `${api.sim.url}/images/${path}` },
    });
    expect(first.status).toBe(201);
    const imageId = imageIdOf(first.json.image_definition);
    const lists = await customerLists();
    const images = (await call('GET', '/images')).json;

    const again = await call('POST', '/image_repositories/customer/urls', {
      body: { url: `${api.sim.url}/images/${path}` },
    });
    const local = await call('POST', '/image_repositories/customer/local_images', {
      body: { url: imageFile('ex-copy.img', { image_definition: catalogImageAt(path)!.image_definition }) },
    });
    const given = await call('POST', '/image_repositories/customer/local_images', {
      body: {
        image_definition: { product_code: 'EX', arch: 'i386', target_version: version('9.12.1-100'), delta: false },
      },
    });
    for (const res of [again, local, given]) {
      expect([res.status, res.json.error_id, res.json.field]).toEqual([409, 'IMAGE_EXISTS', 'image_definition']);
      expect(res.json.error_text).toContain(first.json.id);
      expect(res.json.error_text).toContain(imageId);
    }
    expect(await customerLists()).toEqual(lists);
    expect((await call('GET', '/images')).json).toEqual(images);
  });

  test('the store refuses a second copy of a definition in one repository, and allows one in each repository', async () => {
    const definition = {
      product_code: 'WW' as const,
      arch: 'i386',
      target_version: version('9.16.0-100'),
      delta: false,
    };
    await api.store.addImage({
      repository: 'customer',
      source: 'local',
      image: { id: 'ww-local', image_definition: definition, modification_time: 1 },
    });
    const err = await api.store
      .addImage({
        repository: 'customer',
        source: 'customer_url',
        image: {
          id: 'ww-url',
          image_definition: { ...definition, target_version: { ...definition.target_version, build_number: '100' } },
          url: 'https://x.example/ww.img',
          registration_time: 1,
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageExistsError);
    expect((err as ImageExistsError).existing).toMatchObject({ source: 'local', image: { id: 'ww-local' } });
    expect(await api.store.getImage('ww-url')).toBeUndefined();
    // A delta image is another image than the full image of its target.
    await api.store.addImage({
      repository: 'customer',
      source: 'customer_url',
      image: {
        id: 'ww-delta',
        image_definition: { ...definition, delta: true, source_version: version('9.14.0-100') },
        url: 'https://x.example/ww.delta',
        registration_time: 1,
      },
    });
    expect((await call('GET', `/images/${imageIdOf(definition)}`)).json.image_sources).toEqual(['local', 'riverbed']);
    await api.store.deleteImage('ww-local', 'local');
    await api.store.deleteImage('ww-delta', 'customer_url');
  });
});

describe('uploads and URL registrations read the definition from the image', () => {
  test('a local image from a file: URL: definition and modification_time (the build timestamp) from its manifest', async () => {
    const definition = {
      product_code: 'IC' as const,
      arch: 'x86_64' as const,
      target_version: { version_id: '9.18.1-100', version_number: '9.18.1', build_number: '100' },
      delta: false,
    };
    const url = imageFile('ic.img', { image_definition: definition, build_timestamp: 1_712_345_678 });
    const uploaded = await call('POST', '/image_repositories/customer/local_images', { body: { url } });
    expect([uploaded.status, uploaded.json.error_text]).toEqual([201, undefined]);
    expect(uploaded.json).toMatchObject({
      id: expect.any(String),
      url,
      image_definition: definition,
      modification_time: 1_712_345_678,
    });
    expect((await call('GET', `/images/${imageIdOf(definition)}`)).json).toMatchObject({
      image_sources: ['local'],
      source_image_ids: { local: uploaded.json.id },
    });

    // No build timestamp in the manifest: the target version's, else the upload time.
    const built = {
      ...definition,
      arch: 'i386' as const,
      target_version: { ...definition.target_version, build_timestamp: 1_700_000_123 },
    };
    expect(
      (
        await call('POST', '/image_repositories/customer/local_images', {
          body: { url: imageFile('ic-i386.img', { image_definition: built }) },
        })
      ).json.modification_time,
    ).toBe(1_700_000_123);
    const now = Math.floor(Date.now() / 1000);
    const plain = await call('POST', '/image_repositories/customer/local_images', {
      body: {
        url: imageFile('ic-delta.img', {
          image_definition: { ...definition, delta: true, source_version: version('9.18.0-100') },
        }),
      },
    });
    expect(plain.json.modification_time).toBeGreaterThanOrEqual(now);
  });

  test('an image_definition sent beside the URL must agree with the manifest; alone, or beside an unreadable URL, it is taken as given', async () => {
    const path = 'customer/GC/x86_64/9.14.0-100.img';
    const other = { ...catalogImageAt(path)!.image_definition, target_version: version('9.14.1-100') };
    const differs = await call('POST', '/image_repositories/customer/urls', {
      body: { url: `${api.sim.url}/images/${path}`, image_definition: other },
    });
    expect([differs.status, differs.json.field]).toEqual([400, 'image_definition']);
    expect(differs.json.error_text).toMatch(
      /^image_definition: .*differs from the manifest.*9\.14\.0-100.*9\.14\.1-100/,
    );
    const agrees = await call('POST', '/image_repositories/customer/urls', {
      body: {
        url: `${api.sim.url}/images/${path}`,
        image_definition: {
          product_code: 'GC',
          arch: 'x86_64',
          target_version: version('9.14.0-100'),
          delta: false,
          origin: 'request',
        },
      },
    });
    expect(agrees.status).toBe(201);
    // The manifest's properties, and the request's beside them.
    expect(agrees.json.image_definition).toMatchObject({
      ...catalogImageAt(path)!.image_definition,
      origin: 'request',
    });

    const alone = await call('POST', '/image_repositories/customer/local_images', {
      body: {
        image_definition: { product_code: 'GC', arch: 'i386', target_version: version('9.14.1-100'), delta: false },
      },
    });
    expect([alone.status, alone.json.image_definition.target_version]).toEqual([201, version('9.14.1-100')]);
    const unreachable = await call('POST', '/image_repositories/customer/urls', {
      body: {
        url: 'http://deploy:hunter2@127.0.0.1:1/gc.img',
        image_definition: { product_code: 'GC', arch: 'i386', target_version: version('9.12.0-100'), delta: false },
      },
    });
    expect(unreachable.status).toBe(201);
    expect(api.logLines.join('\n')).not.toContain('hunter2');
    // The password is kept for the devices but never answered.
    expect(unreachable.json.url).toBe('http://deploy:***@127.0.0.1:1/gc.img');
    const listed = (await call('GET', '/image_repositories/customer/urls', { who: 'reader' })).json as {
      id: string;
      url: string;
    }[];
    expect(listed.find((i) => i.id === unreachable.json.id)!.url).toBe('http://deploy:***@127.0.0.1:1/gc.img');
    expect(JSON.stringify(listed)).not.toContain('hunter2');
    expect(
      (await call('GET', `/image_repositories/customer/url/${unreachable.json.id}`, { who: 'reader' })).json.url,
    ).not.toContain('hunter2');
  });

  test('refusals say what is missing or wrong, naming the field, and store nothing', async () => {
    const lists = await customerLists();
    const refused = async (route: 'urls' | 'local_images', body: unknown, field: string, text: RegExp) => {
      const res = await call('POST', `/image_repositories/customer/${route}`, { body });
      expect([JSON.stringify(body).slice(0, 80), res.status, res.json.error_id, res.json.field]).toEqual([
        JSON.stringify(body).slice(0, 80),
        400,
        'INVALID_REQUEST',
        field,
      ]);
      expect(res.json.error_text).toMatch(text);
      return res.json.error_text as string;
    };
    await refused('local_images', {}, 'url', /^url: give the image's url \(or an image_definition\)$/);
    await refused(
      'urls',
      { image_definition: { product_code: 'SH', arch: 'i386', target_version: version('9.12.0-100'), delta: false } },
      'url',
      /^url: give the URL the image is hosted at/,
    );
    await refused(
      'urls',
      { url: `${api.sim.url}/images/SH/x86_64/1.0.0-1.img` },
      'url',
      /^url: could not read the image at http:\/\/127\.0\.0\.1:\d+\/images\/SH\/x86_64\/1\.0\.0-1\.img \(the server answered HTTP 404\); give its image_definition$/,
    );
    await refused(
      'local_images',
      { url: imageFile('junk.img', 'MZ\x90\x00 not an image\n') },
      'url',
      /^url: the image at file:.*junk\.img has no readable manifest \(it does not begin with "RVBD-IMAGE 1"\); give its image_definition$/,
    );
    await refused(
      'local_images',
      { url: imageFile('bad-json.img', 'RVBD-IMAGE 1\n{"image_definition": \n') },
      'url',
      /no readable manifest \(the manifest is not valid JSON/,
    );
    await refused(
      'local_images',
      { url: imageFile('bad-def.img', 'RVBD-IMAGE 1\n{"image_definition":{"product_code":"ZZ"}}\n') },
      'url',
      /no readable manifest \(the manifest is invalid: image_definition\.product_code/,
    );
    await refused(
      'local_images',
      { url: pathToFileURL(join(api.dir, 'absent.img')).href },
      'url',
      /could not read the image at file:.*absent\.img \(no such file\)/,
    );
    await refused(
      'urls',
      {
        url: imageFile('local-only.img', {
          image_definition: { product_code: 'SH', arch: 'i386', target_version: version('9.12.0-100'), delta: false },
        }),
      },
      'url',
      /^url: a customer URL hosted image needs an http or https URL/,
    );
    await refused('urls', { url: 'ftp://images.example/a.img' }, 'url', /^url: .*http or https/);
    await refused('local_images', { url: 'not a url' }, 'url', /^url: not a URL/);
    await refused('local_images', { url: `https://images.example/${'a'.repeat(2100)}.img` }, 'url', /^url: .*2048/);
    await refused(
      'local_images',
      { image_definition: { product_code: 'SH', arch: 'i386', target_version: version('9.12.0-100'), delta: true } },
      'image_definition.source_version',
      /delta image needs a source_version/,
    );
    await refused('urls', [], 'body', /./);
    // Credentials in the URL reach neither the answer nor the log.
    const secret = await refused(
      'urls',
      { url: `http://deploy:hunter2@${new URL(api.sim.url).host}/images/nope.img` },
      'url',
      /HTTP 404/,
    );
    expect(secret).not.toMatch(/hunter2|deploy/);
    expect(api.logLines.join('\n')).not.toContain('hunter2');
    expect(await customerLists()).toEqual(lists);
  });

  test('a server that never answers is a 400 after the timeout, not a hung request', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      // The answer names the API's own time limit: it gave up on the server (a hung request would hit jest's timeout).
      const res = await call('POST', '/image_repositories/customer/urls', {
        body: { url: `http://127.0.0.1:${port}/slow.img` },
      });
      expect([res.status, res.json.field]).toEqual([400, 'url']);
      expect(res.json.error_text).toMatch(/no answer within \d+ s/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('the simulator serves the catalog images with their manifests', () => {
  test('every catalog and demo image URL answers its manifest; anything else is a 404', async () => {
    const base = `${api.sim.url}/images`;
    const urls = [...riverbedCatalog(base), ...demoCustomerImages(base, 1)].filter(
      (s) => typeof s.image.url === 'string',
    );
    expect(urls.length).toBe(catalogImages().length);
    for (const { image } of urls) {
      const res = await fetch(String(image.url), { headers: { range: `bytes=0-${IMAGE_MANIFEST_MAX_BYTES - 1}` } });
      expect([image.url, res.status]).toEqual([image.url, 206]);
      const parsed = parseImageManifest(new Uint8Array(await res.arrayBuffer()));
      expect([image.url, parsed.ok && parsed.manifest.image_definition]).toEqual([image.url, image.image_definition]);
    }
    for (const path of [
      'SH/x86_64/9.99.0-100.img',
      'SH/x86_64/9.16.0-100.delta',
      'customer/SH/x86_64/9.18.0-100.img',
      'ZZ/x86_64/9.16.0-100.img',
      '',
    ]) {
      const res = await fetch(`${base}/${path}`);
      expect([path, res.status]).toEqual([path, 404]);
      await res.arrayBuffer();
    }
  });

  test('a whole image is the manifest then the payload; ranges answer 206 with Content-Range, an unsatisfiable one 416', async () => {
    const url = `${api.sim.url}/images/SH/x86_64/9.14.0-100-to-9.16.0-100.delta`;
    const whole = await fetch(url);
    expect([whole.status, whole.headers.get('accept-ranges'), whole.headers.get('content-type')]).toEqual([
      200,
      'bytes',
      'application/octet-stream',
    ]);
    const bytes = new Uint8Array(await whole.arrayBuffer());
    const parsed = parseImageManifest(bytes);
    expect(parsed.ok && parsed.manifest).toMatchObject({
      image_definition: { delta: true, source_version: { version_id: '9.14.0-100' } },
      build_timestamp: expect.any(Number),
    });
    expect(parsed.ok && bytes.length).toBeGreaterThan(parsed.ok ? parsed.payloadOffset : 0);

    const part = await fetch(url, { headers: { range: 'bytes=5-14' } });
    expect([part.status, part.headers.get('content-range')]).toEqual([206, `bytes 5-14/${bytes.length}`]);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.subarray(5, 15));
    const tail = await fetch(url, { headers: { range: 'bytes=-4' } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 4));
    const beyond = await fetch(url, { headers: { range: `bytes=${bytes.length}-` } });
    expect([beyond.status, beyond.headers.get('content-range')]).toEqual([416, `bytes */${bytes.length}`]);
    await beyond.arrayBuffer();
    const head = await fetch(url, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, String(bytes.length)]);
  });
});
