/** The dashboard's action table (ui/actions.ts): which buttons an operation or task offers, and where each posts. */
import { OPERATION_ACTIONS, TASK_ACTIONS } from '../../ui/actions';
import type { KindedOperation, Task } from '../../ui/types';

const operation = (status: string, paused?: boolean): KindedOperation => ({
  kind: 'reboot',
  id: '42',
  status,
  username: 'op',
  create_time: '2026-01-01T00:00:00Z',
  appliances: ['S12AB00000001'],
  ...(paused === undefined ? {} : { paused }),
});
const offered = (op: KindedOperation): string[] => OPERATION_ACTIONS.filter((a) => a.offered(op)).map((a) => a.id);

test('a running or scheduled operation offers pause (or resume when paused) and cancel; a finished one nothing', () => {
  expect(offered(operation('running'))).toEqual(['pause', 'cancel']);
  expect(offered(operation('scheduled', false))).toEqual(['pause', 'cancel']);
  expect(offered(operation('running', true))).toEqual(['resume', 'cancel']);
  for (const status of ['successful', 'partially_successful', 'failed', 'cancelled'])
    expect([status, offered(operation(status, true)).filter((id) => id !== 'retry')]).toEqual([status, []]);
});

test('each action posts to its route under the operation of its kind; cancels ask first', () => {
  const op = operation('running');
  expect(OPERATION_ACTIONS.map((a) => a.path(op))).toEqual([
    '/operations/reboot/42/approve',
    '/operations/reboot/42/reject',
    '/operations/reboot/42/pause',
    '/operations/reboot/42/resume',
    '/operations/reboot/42/cancel',
    '/operations/reboot/42/retry',
  ]);
  expect(OPERATION_ACTIONS.filter((a) => a.confirm).map((a) => a.id)).toEqual(['reject', 'cancel', 'retry']);
  const task: Task = { operation_id: '42', serial: 'S12AB00000001', status: 'running', stage: 'rebooting' };
  const [cancelTask] = TASK_ACTIONS;
  expect(cancelTask!.path({ operation: op, task })).toBe('/operations/reboot/42/appliances/S12AB00000001/cancel');
  expect(cancelTask!.confirm!({ operation: op, task })).toContain('S12AB00000001');
  expect(TASK_ACTIONS.filter((a) => a.offered({ operation: op, task })).map((a) => a.id)).toEqual(['cancel-task']);
  expect(TASK_ACTIONS.filter((a) => a.offered({ operation: op, task: { ...task, status: 'failed' } }))).toEqual([]);
});

test('an operation awaiting approval offers approve and reject; a finished one with failures offers one retry', () => {
  const waiting = { ...operation('running'), approval: { state: 'awaiting' as const, after_wave: 1 } };
  expect(offered(waiting)).toEqual(['approve', 'reject', 'pause', 'cancel']);
  expect(OPERATION_ACTIONS.filter((a) => ['approve', 'reject'].includes(a.id)).map((a) => a.path(waiting))).toEqual([
    '/operations/reboot/42/approve',
    '/operations/reboot/42/reject',
  ]);
  expect(offered({ ...waiting, approval: { state: 'approved', after_wave: 1 } })).toEqual(['pause', 'cancel']);
  expect(offered({ ...operation('cancelled'), approval: { state: 'awaiting', after_wave: 1 } })).toEqual(['retry']);
  for (const status of ['partially_successful', 'failed'])
    expect([status, offered(operation(status))]).toEqual([status, ['retry']]);
  expect(offered(operation('successful'))).toEqual([]);
  expect(offered({ ...operation('failed'), retried_by: '43' })).toEqual([]);
  expect(OPERATION_ACTIONS.find((a) => a.id === 'retry')!.path(operation('failed'))).toBe(
    '/operations/reboot/42/retry',
  );
});
