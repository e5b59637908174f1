/**
 * The image format (domain/image-manifest.ts), what makes two images one (domain/image-identity.ts)
 * and the catalog both bootstrap and the simulator describe (domain/image-catalog.ts).
 */
import { demoCustomerImages, riverbedCatalog } from '../../api/bootstrap';
import { catalogImageAt, catalogImages } from '../../domain/image-catalog';
import {
  describeImageDefinition,
  imageDefinitionKey,
  imageIdOf,
  imagesByDefinition,
  sameImageDefinition,
} from '../../domain/image-identity';
import {
  encodeImageManifest,
  IMAGE_MANIFEST_MAX_BYTES,
  modificationTimeOf,
  parseImageManifest,
  withRequestDefinition,
} from '../../domain/image-manifest';
import type { ImageDefinition } from '../../domain/scc';

const full: ImageDefinition = {
  product_code: 'SH',
  arch: 'x86_64',
  target_version: { version_id: '9.16.0-100', version_number: '9.16.0', build_number: '100' },
  delta: false,
};
const delta: ImageDefinition = { ...full, delta: true, source_version: { version_id: '9.14.0-100' } };
const bytes = (text: string) => new TextEncoder().encode(text);
const reason = (head: Uint8Array) => {
  const parsed = parseImageManifest(head);
  return parsed.ok ? 'parsed' : parsed.reason;
};

describe('the image manifest', () => {
  test('encodes as the magic line and one JSON line, and parses back with the payload offset', () => {
    const head = encodeImageManifest({ image_definition: delta, build_timestamp: 1_712_000_000, vendor: 'x' });
    const text = new TextDecoder().decode(head);
    expect(text.split('\n')).toEqual([
      'RVBD-IMAGE 1',
      JSON.stringify({ image_definition: delta, build_timestamp: 1_712_000_000, vendor: 'x' }),
      '',
    ]);
    const image = new Uint8Array([...head, 1, 2, 3]);
    expect(parseImageManifest(image)).toEqual({
      ok: true,
      manifest: { image_definition: delta, build_timestamp: 1_712_000_000, vendor: 'x' },
      payloadOffset: head.length,
    });
    // Only the head is needed: the payload may be cut anywhere.
    expect(parseImageManifest(head)).toMatchObject({ ok: true, payloadOffset: head.length });
    expect(parseImageManifest(encodeImageManifest({ image_definition: full }))).toMatchObject({
      ok: true,
      manifest: { image_definition: full },
    });
  });

  test('refuses to encode an invalid manifest or one larger than a reader reads', () => {
    expect(() => encodeImageManifest({ image_definition: { ...full, delta: true } })).toThrow(/source_version/);
    expect(() => encodeImageManifest({ image_definition: full, notes: 'n'.repeat(IMAGE_MANIFEST_MAX_BYTES) })).toThrow(
      /must fit in 65536 bytes/,
    );
  });

  test('says why an image has no readable manifest', () => {
    expect(reason(new Uint8Array())).toBe('the image is empty');
    expect(reason(bytes('MZ\x90\x00garbage\n{}\n'))).toBe('it does not begin with "RVBD-IMAGE 1"');
    expect(reason(bytes('rvbd-image 1\n{}\n'))).toBe('it does not begin with "RVBD-IMAGE 1"');
    expect(reason(bytes('RVBD-IMAGE 2\n{}\n'))).toBe(
      'manifest format "RVBD-IMAGE 2" is not supported (only "RVBD-IMAGE 1")',
    );
    expect(reason(bytes('RVBD-IMAGE 1'))).toBe('the image ends within its first line');
    expect(reason(bytes('RVBD-IMAGE 1\n{"image_definition":'))).toBe('the image ends within its manifest line');
    expect(
      reason(
        bytes(`RVBD-IMAGE 1\n{"x":"${'a'.repeat(IMAGE_MANIFEST_MAX_BYTES)}`).subarray(0, IMAGE_MANIFEST_MAX_BYTES),
      ),
    ).toBe('the manifest line is longer than 65536 bytes');
    expect(reason(bytes('RVBD-IMAGE 1\n{"image_definition": nope}\n'))).toMatch(
      /^the manifest is not valid JSON \(.+\)$/,
    );
    expect(reason(new Uint8Array([...bytes('RVBD-IMAGE 1\n"'), 0xff, 0xfe, ...bytes('"\n')]))).toBe(
      'the manifest is not valid JSON (not UTF-8)',
    );
    expect(reason(bytes('RVBD-IMAGE 1\n[]\n'))).toMatch(/^the manifest is invalid: \(root\): /);
    expect(reason(bytes('RVBD-IMAGE 1\n{"build_timestamp":1}\n'))).toMatch(
      /^the manifest is invalid: image_definition: /,
    );
    expect(
      reason(bytes(`RVBD-IMAGE 1\n${JSON.stringify({ image_definition: { ...full, arch: 'arm64' } })}\n`)),
    ).toMatch(/^the manifest is invalid: image_definition\.arch: /);
    expect(reason(bytes(`RVBD-IMAGE 1\n${JSON.stringify({ image_definition: { ...full, delta: true } })}\n`))).toBe(
      'the manifest is invalid: image_definition.source_version: a delta image needs a source_version',
    );
    expect(reason(bytes(`RVBD-IMAGE 1\n${JSON.stringify({ image_definition: full, build_timestamp: -1 })}\n`))).toMatch(
      /^the manifest is invalid: build_timestamp: /,
    );
  });

  test("a local image's modification_time: the manifest's build timestamp, else the target version's, else the upload time", () => {
    expect(
      modificationTimeOf(
        1_700_000_001,
        { ...full, target_version: { version_id: 'v', build_timestamp: 1_600_000_000 } },
        1_800_000_000,
      ),
    ).toBe(1_700_000_001);
    expect(
      modificationTimeOf(
        undefined,
        { ...full, target_version: { version_id: 'v', build_timestamp: 1_600_000_000 } },
        1_800_000_000,
      ),
    ).toBe(1_600_000_000);
    expect(modificationTimeOf(undefined, full, 1_800_000_000)).toBe(1_800_000_000);
  });

  test("the manifest's definition with the request's properties beside it, versions merged field by field", () => {
    expect(withRequestDefinition(full, undefined)).toBe(full);
    expect(
      withRequestDefinition(full, {
        ...full,
        target_version: { version_id: '9.16.0-100', build_timestamp: 5 },
        note: 'mine',
      }),
    ).toEqual({ ...full, target_version: { ...full.target_version, build_timestamp: 5 }, note: 'mine' });
    expect(
      withRequestDefinition(delta, { ...delta, source_version: { version_id: '9.14.0-100', build_number: '100' } })
        .source_version,
    ).toEqual({ version_id: '9.14.0-100', build_number: '100' });
  });
});

describe('image identity: one image per image definition', () => {
  test('the id depends on the identifying properties only, and is one path segment', () => {
    expect(imageIdOf(full)).toMatch(/^image-[0-9a-f]{32}$/);
    const withExtension: ImageDefinition = {
      ...full,
      target_version: { version_id: '9.16.0-100' },
      source_versions: ['9.14.0-100'],
    };
    expect(imageIdOf(withExtension)).toBe(imageIdOf(full));
    // source_version identifies delta images only (the seed: "if delta image is true").
    expect(imageIdOf({ ...full, source_version: { version_id: '9.12.0-100' } })).toBe(imageIdOf(full));
    expect(imageIdOf(delta)).not.toBe(imageIdOf(full));
    expect(imageIdOf({ ...delta, source_version: { version_id: '9.12.0-100' } })).not.toBe(imageIdOf(delta));
    for (const other of [
      { ...full, arch: 'i386' as const },
      { ...full, product_code: 'EX' as const },
      { ...full, target_version: { version_id: '9.16.0-101' } },
    ])
      expect(imageIdOf(other)).not.toBe(imageIdOf(full));
    // No separator games: a version id holding what a readable id would join parts with.
    expect(imageDefinitionKey({ ...full, target_version: { version_id: '9.14.0-100-to-9.16.0-100' } })).not.toBe(
      imageDefinitionKey(delta),
    );
    expect(sameImageDefinition(full, { ...full, target_version: { version_id: '9.16.0-100' } })).toBe(true);
    expect(describeImageDefinition(full)).toBe('SH x86_64 9.16.0-100 (full)');
    expect(describeImageDefinition(delta)).toBe('SH x86_64 9.14.0-100 → 9.16.0-100 (delta)');
  });

  test("images: one per definition in first-stored order, sources in the seed's order, the customer's definition shown", () => {
    const rows = [
      { source: 'riverbed' as const, image: { id: 'rb-full', image_definition: full } },
      { source: 'riverbed' as const, image: { id: 'rb-delta', image_definition: delta } },
      {
        source: 'customer_url' as const,
        image: { id: 'url-full', image_definition: { ...full, source_versions: ['9.14.0-100'] } },
      },
      { source: 'local' as const, image: { id: 'local-i386', image_definition: { ...full, arch: 'i386' as const } } },
    ];
    expect(imagesByDefinition(rows)).toEqual([
      {
        id: imageIdOf(full),
        image_definition: { ...full, source_versions: ['9.14.0-100'] },
        image_sources: ['customer_url', 'riverbed'],
        source_image_ids: { customer_url: 'url-full', riverbed: 'rb-full' },
      },
      {
        id: imageIdOf(delta),
        image_definition: delta,
        image_sources: ['riverbed'],
        source_image_ids: { riverbed: 'rb-delta' },
      },
      {
        id: imageIdOf({ ...full, arch: 'i386' }),
        image_definition: { ...full, arch: 'i386' },
        image_sources: ['local'],
        source_image_ids: { local: 'local-i386' },
      },
    ]);
    expect(imagesByDefinition([])).toEqual([]);
  });
});

describe('the image catalog', () => {
  test('bootstrap stores exactly the catalog, and each image URL path names its definition', () => {
    const base = 'http://images.example/base/';
    const stored = [...riverbedCatalog(base), ...demoCustomerImages(base, 1)].filter((s) => s.image.url !== undefined);
    expect(stored).toHaveLength(catalogImages().length);
    for (const { source, image } of stored) {
      const path = String(image.url).slice('http://images.example/base/'.length);
      expect([path, catalogImageAt(path)]).toEqual([
        path,
        expect.objectContaining({ id: image.id, source, image_definition: image.image_definition }),
      ]);
    }
    expect(catalogImageAt('/SH/i386/9.14.0-100-to-9.16.0-100.delta')?.image_definition).toMatchObject({
      delta: true,
      source_version: { version_id: '9.14.0-100' },
    });
    expect(catalogImageAt('SH/i386/9.99.0-100.img')).toBeUndefined();
  });

  test('a repository holds each definition once, with the ids it always had', () => {
    const riverbed = riverbedCatalog('http://i');
    expect(new Set(riverbed.map((s) => imageIdOf(s.image.image_definition))).size).toBe(riverbed.length);
    const customer = demoCustomerImages('http://i', 1);
    expect(new Set(customer.map((s) => imageIdOf(s.image.image_definition))).size).toBe(customer.length);
    expect(riverbed.map((s) => s.image.id)).toContain('riverbed-SH-x86_64-9.14.0-100-to-9.16.0-100');
    expect(customer.map((s) => s.image.id)).toEqual(
      expect.arrayContaining(['demo-url-GC-i386-9.12.1-100', 'demo-local-SH-x86_64-hotfix']),
    );
  });
});
