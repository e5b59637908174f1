/**
 * One appliance's reboot, as the seed's stages: waiting → initiating → rebooting → reboot_wait →
 * completed (or failed / cancelled). `rebooting` while the device is asked to restart,
 * `reboot_wait` until it answers again. After an upgrade or downgrade (a deferred reboot that
 * switches partition) the appliance must come back running the version it was given.
 */
import { setHandler, workflowInfo } from '@temporalio/workflow';
import { taskStartRefusal } from '../domain/eligibility';
import { runDeviceJob } from './device-job';
import { deviceCalls, runTask, TaskFailed, taskRecorder } from './task-lifecycle';
import { applianceTaskStateQuery, type ApplianceRebootTaskInput, type ApplianceTaskOutcome } from './types';

type RebootStage = 'waiting' | 'initiating' | 'rebooting' | 'reboot_wait' | 'completed' | 'failed' | 'cancelled';

export async function applianceRebootTask(input: ApplianceRebootTaskInput): Promise<ApplianceTaskOutcome> {
  const { operationId, serial } = input;
  const state: ApplianceTaskOutcome = { serial, status: 'scheduled', stage: 'waiting' };
  setHandler(applianceTaskStateQuery, () => state);

  const recorder = taskRecorder<RebootStage>(operationId, state);
  const { enter, logWithNextWrite } = recorder;
  const call = { operationId, serial };

  async function runStages(): Promise<void> {
    state.taskStartMs = Date.now();
    await enter(
      'running',
      'initiating',
      input.switch_partition ? 'reboot to the other partition started' : 'reboot started',
    );
    const info = await deviceCalls.readApplianceInfo(call);
    state.current_version = info.running_version;
    const refusal = taskStartRefusal('reboot', info);
    if (refusal) throw new TaskFailed(refusal);

    await enter(
      'running',
      'rebooting',
      `rebooting ${serial}${input.switch_partition ? ' to the other partition' : ''}`,
    );
    // `reboot_wait` once the device has taken the request, until it answers again.
    await runDeviceJob(
      call,
      { kind: 'reboot', request: { switch_partition: input.switch_partition } },
      {
        idempotencyKey: `${workflowInfo().workflowId}:reboot`,
        onStopped: logWithNextWrite,
        onStarted: () => enter('running', 'reboot_wait', 'waiting for the appliance to come back'),
      },
    );
    const after = await deviceCalls.readApplianceInfo(call);
    state.current_version = after.running_version;
    if (input.expectVersion) {
      if (after.running_version.version_id !== input.expectVersion.version_id) {
        throw new TaskFailed(
          `appliance came back running ${after.running_version.version_id}, expected ${input.expectVersion.version_id}`,
        );
      }
      recorder.setRunningVersion(after.running_version);
    }
    await enter('successful', 'completed', `reboot completed: running ${after.running_version.version_id}`, 'notice');
  }

  await runTask(input, state, recorder, runStages);
  return state;
}
