import { findUpgradePath, type AvailableImage } from '../../domain/upgrade-path';
import type { Arch, ImageRepository, Version } from '../../domain/scc';

const v = (id: string): Version => ({ version_id: id });
const full = (id: string, target: string, extra: { arch?: Arch; repository?: ImageRepository; sources?: string[] } = {}): AvailableImage => ({
  image: {
    id,
    image_definition: { product_code: 'SH', arch: extra.arch ?? 'x86_64', target_version: v(target), delta: false },
    ...(extra.sources ? { source_versions: extra.sources.map(v) } : {}),
  },
  repository: extra.repository ?? 'riverbed',
});
const delta = (id: string, from: string, target: string, repository: ImageRepository = 'riverbed'): AvailableImage => ({
  image: { id, image_definition: { product_code: 'SH', arch: 'x86_64', target_version: v(target), delta: true, source_version: v(from) } },
  repository,
});
const at = (version: string, arch: Arch = 'x86_64') => ({ product_code: 'SH' as const, arch, current_version: v(version) });
const ids = (result: ReturnType<typeof findUpgradePath>) => (result.ok ? result.hops.map((h) => h.image_id) : result.reason);

test('one full image when it applies', () => {
  expect(ids(findUpgradePath(at('9.12.0-100'), '9.16.0-100', [full('f16', '9.16.0-100')]))).toEqual(['f16']);
});

test('a delta is preferred to a full image at the same number of hops', () => {
  const images = [full('a-full', '9.16.0-100'), delta('z-delta', '9.14.0-100', '9.16.0-100')];
  const path = findUpgradePath(at('9.14.0-100'), '9.16.0-100', images);
  expect(path).toEqual({ ok: true, hops: [{ image_id: 'z-delta', delta: true, from_version_id: '9.14.0-100', to: v('9.16.0-100') }] });
  // The delta does not apply from another version: the full image does.
  expect(ids(findUpgradePath(at('9.12.0-100'), '9.16.0-100', images))).toEqual(['a-full']);
});

test('fewer hops beat more deltas', () => {
  const images = [full('f16', '9.16.0-100'), delta('d1', '9.12.0-100', '9.14.0-100'), delta('d2', '9.14.0-100', '9.16.0-100')];
  expect(ids(findUpgradePath(at('9.12.0-100'), '9.16.0-100', images))).toEqual(['f16']);
});

test('source_versions restrict a full image, and a multi-hop path goes through an intermediate version', () => {
  const images = [full('f16', '9.16.0-100', { sources: ['9.14.0-100'] }), full('f14', '9.14.0-100', { sources: ['9.12.0-100'] })];
  expect(ids(findUpgradePath(at('9.12.0-100'), '9.16.0-100', images))).toEqual(['f14', 'f16']);
  expect(ids(findUpgradePath(at('9.10.0-100'), '9.16.0-100', images))).toBe('no_path');
});

test('a chain of deltas when nothing else applies; never past the target', () => {
  const images = [delta('d1', '9.12.0-100', '9.14.0-100'), delta('d2', '9.14.0-100', '9.16.0-100'), full('f18', '9.18.0-100')];
  expect(ids(findUpgradePath(at('9.12.0-100'), '9.16.0-100', images))).toEqual(['d1', 'd2']);
});

test('equal paths are broken by image id, so the answer is stable', () => {
  const images = [full('b', '9.16.0-100'), full('a', '9.16.0-100')];
  expect(ids(findUpgradePath(at('9.12.0-100'), '9.16.0-100', images))).toEqual(['a']);
  expect(ids(findUpgradePath(at('9.12.0-100'), '9.16.0-100', [...images].reverse()))).toEqual(['a']);
});

test('no path, with the reason', () => {
  const images = [full('f16', '9.16.0-100')];
  const unknown = findUpgradePath(at('9.12.0-100'), '9.99.0-1', images);
  expect(unknown).toMatchObject({ ok: false, reason: 'target_unknown', message: expect.stringContaining('9.99.0-1') });
  const arch = findUpgradePath(at('9.12.0-100', 'i386'), '9.16.0-100', images);
  expect(arch).toMatchObject({ ok: false, reason: 'no_image_for_arch', message: expect.stringContaining('i386') });
  expect(ids(findUpgradePath(at('9.16.0-100'), '9.16.0-100', images))).toBe('not_newer');
  expect(ids(findUpgradePath(at('9.18.0-100'), '9.16.0-100', images))).toBe('not_newer');
});

test('a downgrade is one full image of the older version, from the repositories allowed', () => {
  const images = [full('rb14', '9.14.0-100'), full('cu14', '9.14.0-100', { repository: 'customer' }), delta('d', '9.16.0-100', '9.14.0-100', 'customer')];
  expect(ids(findUpgradePath(at('9.16.0-100'), '9.14.0-100', images, { direction: 'downgrade', repositories: ['customer'] }))).toEqual(['cu14']);
  expect(ids(findUpgradePath(at('9.16.0-100'), '9.14.0-100', [full('rb14', '9.14.0-100')], { direction: 'downgrade', repositories: ['customer'] }))).toBe('no_image_for_arch');
  expect(ids(findUpgradePath(at('9.12.0-100'), '9.14.0-100', images, { direction: 'downgrade' }))).toBe('not_older');
});
