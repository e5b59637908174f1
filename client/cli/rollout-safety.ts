/** `fleet approve|reject OPERATION_ID`: the approval a rollout waits for; `fleet retry OPERATION_ID`: a new operation over what did not succeed. */
import type { Command } from 'commander';
import { ineligibleAppliances } from '../../store/fleet-facts';
import { connectClient, decideApproval, retryOperation } from '../operations';
import { audited, config, kindOption, leaf, operationPath, parseKind, print, withStore } from './common';

type Options = { kind: string; user?: string; json: boolean };

const userOption = (cmd: Command, what: string): Command =>
  cmd.option('--user <NAME>', `${what} (default: $USER, else fleet-cli)`);

function registerDecision(program: Command, verb: 'approve' | 'reject', description: string): void {
  const cmd = userOption(
    leaf(program, verb, description).argument('<OPERATION_ID>'),
    'who decides, as the operation log and the approval record it',
  );
  kindOption(cmd).action(async (id: string, o: Options) => {
    const kind = parseKind(o.kind)!;
    const cfg = config();
    const username = o.user ?? process.env.USER ?? 'fleet-cli';
    const approval = await audited(
      cfg,
      undefined,
      { action: `fleet ${verb}`, target: `${operationPath(kind, id)}/${verb}`, details: { id } },
      async () => decideApproval(await connectClient(cfg), id, { approve: verb === 'approve', username }, kind),
    );
    print(
      o.json,
      { id, approval },
      () => `operation ${id}: approval after wave ${approval.after_wave} ${approval.state}`,
    );
  });
}

function registerRetry(program: Command): void {
  const cmd = userOption(
    leaf(
      program,
      'retry',
      'a new operation of the same kind and policy over the appliances whose tasks did not succeed (eligibility checked again)',
    ).argument('<OPERATION_ID>'),
    "the new operation's username",
  );
  kindOption(cmd).action(async (id: string, o: Options) => {
    const kind = parseKind(o.kind)!;
    const cfg = config();
    const username = o.user ?? process.env.USER ?? 'fleet-cli';
    await withStore(cfg, async (store) => {
      const { operation } = await audited(
        cfg,
        store,
        { action: 'fleet retry', target: `${operationPath(kind, id)}/retry`, details: { id, username } },
        async () =>
          retryOperation(await connectClient(cfg), store, kind, id, {
            taskQueue: cfg.FLEET_TASK_QUEUE,
            username,
            timeZones: (serials) => store.timeZones(serials),
            eligibility: (k, request) => ineligibleAppliances(store, k, request),
          }),
        (created) => ({ details: { created_id: created.operation.id } }),
      );
      print(
        o.json,
        operation,
        () =>
          `operation ${operation.id} ${operation.status}: retry of ${id} over ${operation.appliances.length} appliance(s)`,
      );
    });
  });
}

export function registerRolloutSafety(program: Command): void {
  registerDecision(program, 'approve', 'approve the rollout waiting after a wave: the next wave starts');
  registerDecision(
    program,
    'reject',
    'reject the rollout waiting after a wave: it stops, the tasks not started end cancelled',
  );
  registerRetry(program);
}
