import {
  compareCollectorVersions,
  compareVersionNumbers,
  compareVersions,
  compareVersionsForListing,
  parseVersionId,
  tryCompareVersions,
  VersionFormatError,
} from '../../domain/version';
import type { Version } from '../../domain/scc';

describe('RiOS version numbers', () => {
  test.each([
    // Numeric components, not text.
    ['9.2', '9.10', -1],
    ['10.0', '9.99.99', 1],
    ['9.16.0', '9.14.2', 1],
    // Trailing characters for fix / customer releases.
    ['9.14.2', '9.14.2a', -1],
    ['9.14.2a', '9.14.2b', -1],
    ['9.14.2b', '9.14.10', -1],
    ['9.14.2z', '9.14.2aa', -1],
    ['9.14.2a9', '9.14.2a10', -1],
    ['9.14.2a', '9.14.2a1', -1],
    ['9.14.2a10', '9.14.2b', -1],
    ['9.14.2z', '9.14.2.1', -1],
    ['9.14.2.1', '9.14.3', -1],
    // Different lengths: missing components are 0.
    ['9.14', '9.14.0', 0],
    ['9', '9.0.0', 0],
    ['9.14', '9.14.0.1', -1],
    // Equal, case and leading zeros aside.
    ['9.14.2', '9.14.2', 0],
    ['9.14.2A', '9.14.2a', 0],
    ['9.04', '9.4', 0],
    // No floating-point limit on components.
    ['9.12345678901234567890', '9.12345678901234567891', -1],
  ])('%s vs %s → %d', (a, b, expected) => {
    expect(compareVersionNumbers(a, b)).toBe(expected);
    expect(compareVersionNumbers(b, a)).toBe(-expected || 0);
  });

  test('sorting a mixed list', () => {
    const list = ['9.14.10', '9.2.1', '9.14.2b', '9.14.2', '9.10', '9.14.2a', '10.0', '9.14.2a1'];
    expect([...list].sort(compareVersionNumbers)).toEqual([
      '9.2.1',
      '9.10',
      '9.14.2',
      '9.14.2a',
      '9.14.2a1',
      '9.14.2b',
      '9.14.10',
      '10.0',
    ]);
  });

  test('the sort is stable: equal versions keep their input order', () => {
    expect(['9.14.0', '9.2', '9.14', '9.14.0.0'].sort(compareVersionNumbers)).toEqual([
      '9.2',
      '9.14.0',
      '9.14',
      '9.14.0.0',
    ]);
    expect(['9.14.0.0', '9.14', '9.2', '9.14.0'].sort(compareVersionNumbers)).toEqual([
      '9.2',
      '9.14.0.0',
      '9.14',
      '9.14.0',
    ]);
  });

  test.each(['', 'abc', '9..1', '9.1-', 'v9.1', '9.', '.9', '9.1 ', '9.1_a', '9.1-100'])(
    '%j is refused with an error naming it',
    (bad) => {
      expect(() => compareVersionNumbers(bad, '9.1')).toThrow(VersionFormatError);
      expect(() => compareVersionNumbers('9.1', bad)).toThrow(`'${bad}'`);
    },
  );
});

describe('version objects and ids', () => {
  test('version ids split into number and build', () => {
    expect(parseVersionId('9.14.2a-100')).toEqual({ version_number: '9.14.2a', build_number: '100' });
    expect(parseVersionId('9.14.2')).toEqual({ version_number: '9.14.2' });
  });

  test.each(['latest', '9.14.2-', '9.14.2-1a', '-100', '9.14.2-100-1'])('version id %j is refused', (bad) => {
    expect(() => parseVersionId(bad)).toThrow(VersionFormatError);
    expect(() => compareVersions({ version_id: bad }, { version_id: '9.1' })).toThrow(`'${bad}'`);
  });

  const id = (version_id: string): Version => ({ version_id });
  test.each<[string, Version, Version, number]>([
    ['builds order prereleases', id('9.14.2-99'), id('9.14.2-100'), -1],
    [
      'builds compare as numbers of any size',
      id('9.14.2-99999999999999999999'),
      id('9.14.2-100000000000000000000'),
      -1,
    ],
    ['a build never outweighs the version number', id('9.14.2-900'), id('9.14.3-1'), -1],
    ['without a build on one side, the numbers decide', id('9.14.2'), id('9.14.2-100'), 0],
    ['equal ids', id('9.14.2a-7'), id('9.14.2a-7'), 0],
    [
      'version_number and build_number win over the id',
      { version_id: 'x', version_number: '9.14.2', build_number: '7' },
      { version_id: 'y', version_number: '9.14.2', build_number: '12' },
      -1,
    ],
    [
      'a missing build_number is taken from an id of the same number',
      { version_id: '9.14.2-7', version_number: '9.14.2' },
      id('9.14.2-12'),
      -1,
    ],
    [
      'an id of another number lends no build',
      { version_id: '9.14.1-7', version_number: '9.14.2' },
      id('9.14.2-12'),
      0,
    ],
    ['objects and ids mix', { version_id: 'custom', version_number: '9.16.0', build_number: '1' }, id('9.14.2-900'), 1],
  ])('%s', (_name, a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  test('a build number that is not digits is refused, naming it', () => {
    expect(() =>
      compareVersions({ version_id: 'x', version_number: '9.14.2', build_number: 'rc1' }, id('9.14.2-1')),
    ).toThrow("'rc1'");
  });

  test('tryCompareVersions gives undefined instead of throwing', () => {
    expect(tryCompareVersions(id('garbage'), id('9.1'))).toBeUndefined();
    expect(tryCompareVersions(id('9.1'), id('9.2'))).toBe(-1);
  });

  test('the listing order breaks equal versions by version_id, whatever the input order', () => {
    const list = [id('9.14.0-100'), id('9.14-100'), id('9.12.0-1'), id('9.14.0')];
    const expected = ['9.12.0-1', '9.14-100', '9.14.0', '9.14.0-100'];
    expect([...list].sort(compareVersionsForListing).map((v) => v.version_id)).toEqual(expected);
    expect(
      [...list]
        .reverse()
        .sort(compareVersionsForListing)
        .map((v) => v.version_id),
    ).toEqual(expected);
  });
});

describe('collector builds', () => {
  test.each([
    ['19.115-37', '19.115-40', -1],
    ['19.115-40', '19.216-1', -1],
    ['19.216-1', '20.1-2749', -1],
    ['19.115-9', '19.115-10', -1],
    ['19.115', '19.115-0', 0],
    ['19.115', '19.115-1', -1],
    ['19.115-37', '19.115-37', 0],
    ['20.1-2749', '19.115-37', 1],
  ])('%s vs %s → %d', (a, b, expected) => {
    expect(compareCollectorVersions(a, b)).toBe(expected);
    expect(compareCollectorVersions(b, a)).toBe(-expected || 0);
  });

  test('sorting builds', () => {
    expect(['20.1-2749', '19.216-1', '19.115-40', '19.115-37', '19.115'].sort(compareCollectorVersions)).toEqual([
      '19.115',
      '19.115-37',
      '19.115-40',
      '19.216-1',
      '20.1-2749',
    ]);
  });

  test.each(['19.115-x', '', 'latest', '19.115a-1', '19.115-', 'v19.115'])(
    'collector build %j is refused, naming it',
    (bad) => {
      expect(() => compareCollectorVersions(bad, '19.1')).toThrow(VersionFormatError);
      expect(() => compareCollectorVersions('19.1', bad)).toThrow(`'${bad}'`);
    },
  );
});
