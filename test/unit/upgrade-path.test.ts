import { findUpgradePath, ImageIndex, type AvailableImage, type UpgradePath } from '../../domain/upgrade-path';
import type { Arch, ImageRepository, ProductCode, Version } from '../../domain/scc';

const v = (id: string): Version => ({ version_id: id });
type Extra = {
  arch?: Arch;
  repository?: ImageRepository;
  product?: ProductCode;
  sources?: string[];
  definitionSources?: string[];
};
const full = (id: string, target: string, extra: Extra = {}): AvailableImage => ({
  image: {
    id,
    image_definition: {
      product_code: extra.product ?? 'SH',
      arch: extra.arch ?? 'x86_64',
      target_version: v(target),
      delta: false,
      ...(extra.definitionSources ? { source_versions: extra.definitionSources } : {}),
    },
    ...(extra.sources ? { source_versions: extra.sources.map(v) } : {}),
  },
  repository: extra.repository ?? 'riverbed',
});
const delta = (id: string, from: string, target: string, extra: Extra = {}): AvailableImage => ({
  image: {
    id,
    image_definition: {
      product_code: extra.product ?? 'SH',
      arch: extra.arch ?? 'x86_64',
      target_version: v(target),
      delta: true,
      source_version: v(from),
    },
  },
  repository: extra.repository ?? 'riverbed',
});
const at = (version: string, arch: Arch = 'x86_64') => ({
  product_code: 'SH' as const,
  arch,
  current_version: v(version),
});
const ids = (result: UpgradePath) => (result.ok ? result.hops.map((h) => h.image_id) : result.reason);
const path = (from: string, to: string, images: AvailableImage[], options = {}) =>
  ids(findUpgradePath(at(from), to, images, options));

describe('upgrade paths', () => {
  test('one full image when it applies', () => {
    expect(findUpgradePath(at('9.12.0-100'), '9.16.0-100', [full('f16', '9.16.0-100')])).toEqual({
      ok: true,
      hops: [
        { image_id: 'f16', delta: false, repository: 'riverbed', from_version_id: '9.12.0-100', to: v('9.16.0-100') },
      ],
    });
  });

  test('a delta is preferred to a full image at the same number of hops', () => {
    const images = [full('a-full', '9.16.0-100'), delta('z-delta', '9.14.0-100', '9.16.0-100')];
    expect(path('9.14.0-100', '9.16.0-100', images)).toEqual(['z-delta']);
    // The delta does not apply from another version: the full image does.
    expect(path('9.12.0-100', '9.16.0-100', images)).toEqual(['a-full']);
  });

  test('fewer hops beat more deltas', () => {
    const images = [
      full('f16', '9.16.0-100'),
      delta('d1', '9.12.0-100', '9.14.0-100'),
      delta('d2', '9.14.0-100', '9.16.0-100'),
    ];
    expect(path('9.12.0-100', '9.16.0-100', images)).toEqual(['f16']);
  });

  test('deltas are counted over the whole path: two deltas beat one, whatever the ids', () => {
    const images = [
      full('a1', '9.13.0-100'),
      delta('a2', '9.13.0-100', '9.16.0-100'),
      delta('z1', '9.12.0-100', '9.14.0-100'),
      delta('z2', '9.14.0-100', '9.16.0-100'),
      // Keeps the one-hop route from existing: 9.16 needs an intermediate version.
      full('f16', '9.16.0-100', { sources: ['9.13.0-100', '9.14.0-100'] }),
    ];
    expect(path('9.12.0-100', '9.16.0-100', images)).toEqual(['z1', 'z2']);
  });

  test('a multi-hop path through intermediate versions, full and delta mixed', () => {
    const images = [
      full('f14', '9.14.0-100', { sources: ['9.12.0-100'] }),
      delta('d15', '9.14.0-100', '9.15.0-100'),
      full('f16', '9.16.0-100', { sources: ['9.15.0-100'] }),
    ];
    const result = findUpgradePath(at('9.12.0-100'), '9.16.0-100', images);
    expect(result.ok && result.hops.map((h) => [h.from_version_id, h.image_id, h.delta, h.to.version_id])).toEqual([
      ['9.12.0-100', 'f14', false, '9.14.0-100'],
      ['9.14.0-100', 'd15', true, '9.15.0-100'],
      ['9.15.0-100', 'f16', false, '9.16.0-100'],
    ]);
  });

  test('source_versions restrict a full image: on the Riverbed image, on the definition, or both', () => {
    expect(path('9.12.0-100', '9.16.0-100', [full('f16', '9.16.0-100', { sources: ['9.14.0-100'] })])).toBe('no_path');
    expect(path('9.14.0-100', '9.16.0-100', [full('f16', '9.16.0-100', { sources: ['9.14.0-100'] })])).toEqual(['f16']);
    expect(path('9.12.0-100', '9.16.0-100', [full('f16', '9.16.0-100', { definitionSources: ['9.14.0-100'] })])).toBe(
      'no_path',
    );
    expect(
      path('9.14.0-100', '9.16.0-100', [full('f16', '9.16.0-100', { definitionSources: ['9.14.0-100'] })]),
    ).toEqual(['f16']);
    const both = full('f16', '9.16.0-100', {
      sources: ['9.12.0-100', '9.14.0-100'],
      definitionSources: ['9.14.0-100'],
    });
    expect(path('9.12.0-100', '9.16.0-100', [both])).toBe('no_path');
    expect(path('9.14.0-100', '9.16.0-100', [both])).toEqual(['f16']);
    // An empty list allows nothing (it is not "unrestricted").
    expect(path('9.14.0-100', '9.16.0-100', [full('f16', '9.16.0-100', { sources: [] })])).toBe('no_path');
  });

  test('a chain of deltas when nothing else applies; never past the target', () => {
    const images = [
      delta('d1', '9.12.0-100', '9.14.0-100'),
      delta('d2', '9.14.0-100', '9.16.0-100'),
      full('f18', '9.18.0-100'),
    ];
    expect(path('9.12.0-100', '9.16.0-100', images)).toEqual(['d1', 'd2']);
  });

  test('hops only go forward: a backward delta is no stepping stone', () => {
    const images = [
      delta('back', '9.14.0-100', '9.12.0-100'),
      full('f16', '9.16.0-100', { sources: ['9.12.0-100'] }),
      full('f12', '9.12.0-100'),
    ];
    expect(path('9.14.0-100', '9.16.0-100', images)).toBe('no_path');
  });

  test('only images of the product code and arch', () => {
    const images = [
      full('ex16', '9.16.0-100', { product: 'EX' }),
      full('i16', '9.16.0-100', { arch: 'i386' }),
      full('sh16', '9.16.0-100'),
    ];
    expect(path('9.12.0-100', '9.16.0-100', images)).toEqual(['sh16']);
    expect(ids(findUpgradePath(at('9.12.0-100', 'i386'), '9.16.0-100', images))).toEqual(['i16']);
  });

  test('the repositories option', () => {
    const images = [full('a-rb', '9.16.0-100'), full('b-cu', '9.16.0-100', { repository: 'customer' })];
    expect(path('9.12.0-100', '9.16.0-100', images)).toEqual(['a-rb']);
    expect(path('9.12.0-100', '9.16.0-100', images, { repositories: ['customer'] })).toEqual(['b-cu']);
    expect(findUpgradePath(at('9.12.0-100'), '9.16.0-100', [images[0]!], { repositories: ['customer'] })).toMatchObject(
      { reason: 'no_image_for_arch', message: expect.stringContaining('customer') },
    );
  });

  test('equal paths are broken by image ids, hop by hop, so the input order does not matter', () => {
    const images = [
      full('b14', '9.14.0-100'),
      full('a14', '9.14.0-100'),
      full('c16', '9.16.0-100', { sources: ['9.14.0-100'] }),
      full('a16', '9.16.0-100', { sources: ['9.14.0-100'] }),
    ];
    const permutations = [images, [...images].reverse(), [images[2]!, images[0]!, images[3]!, images[1]!]];
    for (const list of permutations) expect(path('9.12.0-100', '9.16.0-100', list)).toEqual(['a14', 'a16']);
  });
});

describe('no path, with the reason', () => {
  const images = [full('f16', '9.16.0-100'), full('f14', '9.14.0-100', { sources: ['9.12.0-100'] })];

  test('target_unknown: no image of that version for this product code', () => {
    expect(findUpgradePath(at('9.12.0-100'), '9.99.0-1', images)).toMatchObject({
      ok: false,
      reason: 'target_unknown',
      message: expect.stringContaining('9.99.0-1'),
    });
    expect(path('9.12.0-100', '9.18.0-1', [full('ex18', '9.18.0-1', { product: 'EX' })])).toBe('target_unknown');
  });

  test('no_image_for_arch names the arch', () => {
    const result = findUpgradePath(at('9.12.0-100', 'i386'), '9.16.0-100', images);
    expect(result).toEqual({
      ok: false,
      reason: 'no_image_for_arch',
      arch: 'i386',
      message: expect.stringContaining('i386'),
    });
  });

  test('not_newer: the same or an older target, checked before the arch', () => {
    expect(path('9.16.0-100', '9.16.0-100', images)).toBe('not_newer');
    expect(path('9.18.0-100', '9.16.0-100', images)).toBe('not_newer');
    expect(ids(findUpgradePath(at('9.18.0-100', 'i386'), '9.16.0-100', images))).toBe('not_newer');
  });

  test('no_path: images of the target exist but none chains from the current version', () => {
    expect(path('9.10.0-100', '9.14.0-100', images)).toBe('no_path');
    expect(path('9.12.0-100', '9.16.0-100', [delta('d', '9.14.0-100', '9.16.0-100')])).toBe('no_path');
  });

  test('invalid_version: a current version that cannot be ordered', () => {
    expect(findUpgradePath(at('nightly'), '9.16.0-100', images)).toMatchObject({
      ok: false,
      reason: 'invalid_version',
      message: expect.stringContaining('nightly'),
    });
  });
});

describe('downgrades', () => {
  const options = { direction: 'downgrade', repositories: ['customer'] } as const;

  test('one full image of the older version, from the repositories allowed, smallest id first', () => {
    const images = [
      full('rb14', '9.14.0-100'),
      full('cu14-b', '9.14.0-100', { repository: 'customer' }),
      full('cu14-a', '9.14.0-100', { repository: 'customer' }),
      delta('d', '9.16.0-100', '9.14.0-100', { repository: 'customer' }),
    ];
    expect(findUpgradePath(at('9.16.0-100'), '9.14.0-100', images, options)).toEqual({
      ok: true,
      hops: [
        {
          image_id: 'cu14-a',
          delta: false,
          repository: 'customer',
          from_version_id: '9.16.0-100',
          to: v('9.14.0-100'),
        },
      ],
    });
  });

  test('two versions down is still one hop; source_versions do not restrict a downgrade', () => {
    expect(
      path(
        '9.18.0-100',
        '9.12.0-100',
        [full('cu12', '9.12.0-100', { repository: 'customer', sources: ['9.10.0-100'] })],
        options,
      ),
    ).toEqual(['cu12']);
  });

  test('no_image_for_arch outside the allowed repositories; no_path with only a delta; not_older', () => {
    expect(findUpgradePath(at('9.16.0-100'), '9.14.0-100', [full('rb14', '9.14.0-100')], options)).toMatchObject({
      reason: 'no_image_for_arch',
      arch: 'x86_64',
    });
    expect(
      path('9.16.0-100', '9.14.0-100', [delta('d', '9.16.0-100', '9.14.0-100', { repository: 'customer' })], options),
    ).toBe('no_path');
    expect(path('9.12.0-100', '9.14.0-100', [full('cu14', '9.14.0-100', { repository: 'customer' })], options)).toBe(
      'not_older',
    );
    expect(path('9.14.0-100', '9.14.0-100', [full('cu14', '9.14.0-100', { repository: 'customer' })], options)).toBe(
      'not_older',
    );
  });
});

describe('the image index', () => {
  test('images whose versions cannot be ordered are left out and listed; the rest still work', () => {
    const index = new ImageIndex([
      full('bad', 'latest'),
      delta('bad-delta', 'whatever', '9.16.0-100'),
      full('f16', '9.16.0-100'),
    ]);
    expect(index.rejected.map((r) => r.image_id).sort()).toEqual(['bad', 'bad-delta']);
    expect(index.rejected[0]!.error).toContain("'");
    expect(ids(index.path(at('9.12.0-100'), '9.16.0-100'))).toEqual(['f16']);
    expect(index.hasTarget('SH', 'latest')).toBe(false);
  });

  test('target versions per product, oldest first, and images per arch and repository', () => {
    const index = new ImageIndex([
      full('c', '9.16.0-100'),
      full('a', '9.2.0-1', { arch: 'i386', repository: 'customer' }),
      full('b', '9.10.0-1'),
      full('e', '9.20.0-1', { product: 'EX' }),
    ]);
    expect(index.versions('SH').map((x) => x.version_id)).toEqual(['9.2.0-1', '9.10.0-1', '9.16.0-100']);
    expect(index.versions('GC')).toEqual([]);
    expect(index.images('SH', 'x86_64').map((i) => i.image.id)).toEqual(['b', 'c']);
    expect(index.images('SH', 'i386', ['riverbed'])).toEqual([]);
  });

  test('a search is memoised per version, and the memo keeps directions and repositories apart', () => {
    const index = new ImageIndex([full('rb14', '9.14.0-100'), full('f16', '9.16.0-100')]);
    const first = index.path(at('9.12.0-100'), '9.16.0-100');
    expect(index.path(at('9.12.0-100'), '9.16.0-100')).toBe(first);
    expect(ids(index.path(at('9.16.0-100'), '9.14.0-100', { direction: 'downgrade' }))).toEqual(['rb14']);
    expect(
      ids(index.path(at('9.16.0-100'), '9.14.0-100', { direction: 'downgrade', repositories: ['customer'] })),
    ).toBe('no_image_for_arch');
  });
});
