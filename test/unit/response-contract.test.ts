import { responseProblem } from '../../api/response-contract';
import { documentedRoute } from '../../api/route-docs';
import { statusMovesForward, taskFields } from '../../domain/operation';

const images = documentedRoute('GET', '/api/cmc.upgrades/1.0/images')!;
const cancel = documentedRoute('POST', '/api/cmc.upgrades/1.0/operations/upgrade/:id/cancel')!;
const image = {
  id: 'i',
  image_definition: { product_code: 'SH', arch: 'x86_64', target_version: { version_id: '9.16.0-100' }, delta: false },
  image_sources: ['riverbed'],
};

describe('responseProblem', () => {
  test('an answer as documented passes', () => {
    expect(responseProblem('/api/cmc.upgrades/1.0/images', images, 200, JSON.stringify([image]))).toBeUndefined();
    expect(responseProblem('/api/cmc.upgrades/1.0/operations/upgrade/:id/cancel', cancel, 204, '')).toBeUndefined();
    expect(
      responseProblem(
        '/api/cmc.upgrades/1.0/operations/upgrade/:id/cancel',
        cancel,
        409,
        JSON.stringify({ error_id: 'ALREADY_FINISHED', error_text: 'x' }),
      ),
    ).toBeUndefined();
  });

  test('a body of the wrong shape, an undocumented status, a 204 with a body each name what broke', () => {
    expect(responseProblem('/api/cmc.upgrades/1.0/images', images, 200, JSON.stringify(image))).toMatch(
      /^the body does not match images: \(root\): /,
    );
    expect(
      responseProblem(
        '/api/cmc.upgrades/1.0/images',
        images,
        200,
        JSON.stringify([{ ...image, image_sources: 'riverbed' }]),
      ),
    ).toMatch(/^the body does not match images: 0\.image_sources: /);
    expect(
      responseProblem('/api/cmc.upgrades/1.0/images', images, 409, JSON.stringify({ error_id: 'X', error_text: 'x' })),
    ).toBe('status 409 is not documented for this route');
    expect(responseProblem('/api/cmc.upgrades/1.0/operations/upgrade/:id/cancel', cancel, 204, '{}')).toBe(
      'a 204 answer has a body',
    );
    expect(
      responseProblem(
        '/api/cmc.upgrades/1.0/operations/upgrade/:id/cancel',
        cancel,
        404,
        JSON.stringify({ message: 'x' }),
      ),
    ).toMatch(/^the body does not match scc_error/);
  });
});

test('an operation status only moves forward', () => {
  expect(statusMovesForward('scheduled', 'running')).toBe(true);
  expect(statusMovesForward('running', 'successful')).toBe(true);
  expect(statusMovesForward('running', 'running')).toBe(true);
  expect(statusMovesForward('scheduled', 'cancelled')).toBe(true);
  expect(statusMovesForward('running', 'scheduled')).toBe(false);
  expect(statusMovesForward('successful', 'running')).toBe(false);
});

test('a task of an operation in local time carries its own appliance instant, as utc', () => {
  const operation = {
    username: 'u',
    appliances: ['S'],
    target_version: { version_id: 'v' },
    reboot: true,
    upgrade_time: { datetime: 1_000, time_type: 'local' },
  };
  expect(taskFields('upgrade', operation, 4_600_000)).toMatchObject({
    upgrade_time: { datetime: 4_600, time_type: 'utc' },
  });
  expect(taskFields('upgrade', operation)).toMatchObject({ upgrade_time: { datetime: 1_000, time_type: 'local' } });
  const utc = { ...operation, upgrade_time: { datetime: 1_000, time_type: 'utc' } };
  expect(taskFields('upgrade', utc, 9_000_000)).toMatchObject({ upgrade_time: { datetime: 1_000, time_type: 'utc' } });
});
