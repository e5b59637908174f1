/** The Riverbed catalog the service starts with gives every kind of upgrade path something to show. */
import { demoCustomerImages, riverbedCatalog, RIVERBED_CATALOG_VERSIONS } from '../../api/bootstrap';
import { LEGACY_VERSION } from '../../simulator/fleet';
import { PRODUCT_CODES } from '../../domain/scc';
import { ImageIndex, type AvailableImage } from '../../domain/upgrade-path';

const index = new ImageIndex(
  riverbedCatalog('http://images.example/').map(({ repository, image }): AvailableImage => ({
    repository,
    image: image as AvailableImage['image'],
  })),
);
const at = (version_id: string) => ({
  product_code: 'SH' as const,
  arch: 'i386' as const,
  current_version: { version_id },
});
const hops = (from: string, to: string) => {
  const path = index.path(at(from), to);
  if (!path.ok) throw new Error(path.message);
  return path.hops.map((h) => `${h.delta ? 'delta' : 'full'} ${h.from_version_id}→${h.to.version_id}`);
};

test('every product code and arch has every release, with URLs under the base URL', () => {
  const images = riverbedCatalog('http://images.example/');
  for (const product_code of PRODUCT_CODES)
    expect(index.versions(product_code).map((v) => v.version_id)).toEqual([...RIVERBED_CATALOG_VERSIONS]);
  expect(
    images.every(
      (i) => String(i.image.url).startsWith('http://images.example/') && !String(i.image.url).includes('//SH'),
    ),
  ).toBe(true);
  expect(new Set(images.map((i) => i.image.id)).size).toBe(images.length);
});

test('the newest release takes two images from older ones; deltas are preferred where they apply', () => {
  expect(hops('9.12.0-100', '9.18.0-100')).toEqual(['full 9.12.0-100→9.16.0-100', 'delta 9.16.0-100→9.18.0-100']);
  expect(hops('9.14.0-100', '9.18.0-100')).toEqual(['delta 9.14.0-100→9.16.0-100', 'delta 9.16.0-100→9.18.0-100']);
  expect(hops('9.14.0-100', '9.16.0-100')).toEqual(['delta 9.14.0-100→9.16.0-100']);
  expect(hops('9.12.1-100', '9.16.0-100')).toEqual(['full 9.12.1-100→9.16.0-100']);
  expect(hops('9.16.0-100', '9.18.0-100')).toEqual(['delta 9.16.0-100→9.18.0-100']);
});

test('with the demo customer images: a hotfix for SH x86_64 only, two hops from older releases; legacy appliances reach nothing', () => {
  const all = new ImageIndex(
    [...riverbedCatalog('http://i'), ...demoCustomerImages('http://i', 1)].map(
      ({ repository, image }): AvailableImage => ({ repository, image: image as AvailableImage['image'] }),
    ),
  );
  const x86 = (version_id: string) => ({
    product_code: 'SH' as const,
    arch: 'x86_64' as const,
    current_version: { version_id },
  });
  const hotfix = all.path(x86('9.12.0-100'), '9.14.1-100');
  expect(hotfix.ok && hotfix.hops.map((h) => h.to.version_id)).toEqual(['9.14.0-100', '9.14.1-100']);
  expect(all.path({ ...x86('9.14.0-100'), arch: 'i386' }, '9.14.1-100')).toMatchObject({
    ok: false,
    reason: 'no_image_for_arch',
  });
  for (const target of RIVERBED_CATALOG_VERSIONS)
    expect(all.path(x86(`${LEGACY_VERSION}-100`), target)).toMatchObject({ ok: false });
  // Downgrades use the customer repository: each demo release is there for every product and arch.
  const down = all.path(
    { product_code: 'GC', arch: 'i386', current_version: { version_id: '9.16.0-100' } },
    '9.12.1-100',
    { direction: 'downgrade', repositories: ['customer'] },
  );
  expect(down).toMatchObject({ ok: true, hops: [{ repository: 'customer', delta: false }] });
});
