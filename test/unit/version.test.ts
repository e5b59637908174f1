import { compareCollectorVersions, compareVersionNumbers, compareVersions, parseVersionId, VersionFormatError } from '../../domain/version';

describe('RiOS version numbers', () => {
  test.each([
    ['9.2', '9.10', -1],
    ['9.14.2', '9.14.2a', -1],
    ['9.14.2a', '9.14.2b', -1],
    ['9.14.2b', '9.14.10', -1],
    ['9.14.2z', '9.14.2aa', -1],
    ['9.14', '9.14.0', 0],
    ['9.14.2A', '9.14.2a', 0],
    ['10.0', '9.99.99', 1],
    ['9.16.0', '9.14.2', 1],
  ])('%s vs %s → %d', (a, b, expected) => {
    expect(compareVersionNumbers(a, b)).toBe(expected);
    expect(compareVersionNumbers(b, a)).toBe(-expected || 0);
  });

  test('sorting a mixed list', () => {
    const list = ['9.14.10', '9.2.1', '9.14.2b', '9.14.2', '9.10', '9.14.2a'];
    expect([...list].sort(compareVersionNumbers)).toEqual(['9.2.1', '9.10', '9.14.2', '9.14.2a', '9.14.2b', '9.14.10']);
  });

  test.each(['', 'abc', '9..1', '9.1-', 'v9.1'])('%j is refused with an error naming it', (bad) => {
    expect(() => compareVersionNumbers(bad, '9.1')).toThrow(VersionFormatError);
    expect(() => compareVersionNumbers(bad, '9.1')).toThrow(`'${bad}'`);
  });
});

describe('version objects and ids', () => {
  test('version ids split into number and build', () => {
    expect(parseVersionId('9.14.2a-100')).toEqual({ version_number: '9.14.2a', build_number: '100' });
    expect(parseVersionId('9.14.2')).toEqual({ version_number: '9.14.2' });
    expect(() => parseVersionId('latest')).toThrow(VersionFormatError);
  });

  test('build numbers order prereleases of one version number', () => {
    expect(compareVersions({ version_id: '9.14.2-99' }, { version_id: '9.14.2-100' })).toBe(-1);
    expect(compareVersions({ version_id: 'x', version_number: '9.14.2', build_number: '7' }, { version_id: 'y', version_number: '9.14.2', build_number: '12' })).toBe(-1);
    // A build number never outweighs the version number.
    expect(compareVersions({ version_id: '9.14.2-900' }, { version_id: '9.14.3-1' })).toBe(-1);
    // Without a build on one side, the version numbers decide.
    expect(compareVersions({ version_id: '9.14.2' }, { version_id: '9.14.2-100' })).toBe(0);
  });
});

describe('collector builds', () => {
  test.each([
    ['19.115-37', '19.115-40', -1],
    ['19.115-40', '19.216-1', -1],
    ['19.216-1', '20.1-2749', -1],
    ['19.115', '19.115-0', 0],
    ['20.1-2749', '19.115-37', 1],
  ])('%s vs %s → %d', (a, b, expected) => {
    expect(compareCollectorVersions(a, b)).toBe(expected);
  });

  test('bad collector versions are refused', () => {
    expect(() => compareCollectorVersions('19.115-x', '19.1')).toThrow(VersionFormatError);
  });
});
