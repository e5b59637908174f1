/** `fleet cancel`, `fleet pause`, `fleet resume`: steer a running operation. */
import type { Command } from 'commander';
import { cancelApplianceTask, cancelOperation, connectClient, setOperationPaused } from '../operations';
import { audited, config, kindOption, leaf, operationPath, parseKind, print } from './common';

type KindOptions = { kind: string; json: boolean };

export function registerSteer(program: Command): void {
  const cancel = leaf(program, 'cancel', "cancel the operation (tasks not finished end cancelled), or only one appliance's task").argument('<OPERATION_ID>').option('--serial <SERIAL>', "only this appliance's task (its device job is asked to stop; the rest go on)");
  kindOption(cancel).action(async (id: string, o: KindOptions & { serial?: string }) => {
    const kind = parseKind(o.kind)!;
    const cfg = config();
    if (o.serial !== undefined) {
      const serial = o.serial;
      const status = await audited(
        cfg,
        undefined,
        { action: 'fleet cancel --serial', target: operationPath(kind, id, serial), details: { id, serial } },
        async () => cancelApplianceTask(await connectClient(cfg), id, serial, kind),
        // A task that had already finished is not changed: the API's 409 ALREADY_FINISHED.
        (s) => (s === 'cancelled' ? {} : { outcome: 'refused ALREADY_FINISHED', details: { status: s } }),
      );
      print(o.json, { operation_id: id, serial, status, cancel_requested: status === 'cancelled' }, () =>
        status === 'cancelled' ? `cancel requested for ${serial} in operation ${id}` : `${serial} had already finished: ${status}`,
      );
      return;
    }
    await audited(cfg, undefined, { action: 'fleet cancel', target: operationPath(kind, id), details: { id } }, async () => cancelOperation(await connectClient(cfg), id, kind));
    print(o.json, { operation_id: id, cancel_requested: true }, () => `cancel requested for operation ${id}`);
  });

  for (const verb of ['pause', 'resume'] as const) {
    const cmd = leaf(program, verb, verb === 'pause' ? 'pause the operation: no new appliance task starts (running ones go on)' : 'resume a paused operation').argument('<OPERATION_ID>');
    kindOption(cmd).action(async (id: string, o: KindOptions) => {
      const kind = parseKind(o.kind)!;
      const cfg = config();
      await audited(cfg, undefined, { action: `fleet ${verb}`, target: operationPath(kind, id), details: { id } }, async () => setOperationPaused(await connectClient(cfg), id, verb === 'pause', kind));
      print(o.json, { operation_id: id, paused: verb === 'pause' }, () => `${verb} requested for operation ${id}`);
    });
  }
}
