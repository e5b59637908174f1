/** `fleet cancel`, `fleet pause`, `fleet resume`: steer a running operation. */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type { OperationKind } from '../../domain/operation';
import { cancelApplianceTask, cancelOperation, connectClient, setOperationPaused } from '../operations';
import { audited, config, kindOption, leaf, operationPath, parseKind, print } from './common';

type KindOptions = { kind: string; json: boolean };

/**
 * `fleet <verb> OPERATION_ID [--kind KIND]`: asks the operation for one thing through Temporal
 * (`change`), recorded in the audit trail as `fleet <verb>`; prints `<verb> requested for
 * operation ID`, or with --json `{operation_id, ...json}`. A command such as `fleet approve` is
 * one call of this.
 */
export function operationCommand(
  program: Command,
  verb: string,
  description: string,
  change: (client: Client, id: string, kind: OperationKind) => Promise<unknown>,
  json: Record<string, unknown> = {},
): void {
  const cmd = leaf(program, verb, description).argument('<OPERATION_ID>');
  kindOption(cmd).action(async (id: string, o: KindOptions) => {
    const kind = parseKind(o.kind)!;
    const cfg = config();
    await audited(
      cfg,
      undefined,
      { action: `fleet ${verb}`, target: operationPath(kind, id), details: { id } },
      async () => change(await connectClient(cfg), id, kind),
    );
    print(o.json, { operation_id: id, ...json }, () => `${verb} requested for operation ${id}`);
  });
}

export function registerSteer(program: Command): void {
  const cancel = leaf(
    program,
    'cancel',
    "cancel the operation (tasks not finished end cancelled), or only one appliance's task",
  )
    .argument('<OPERATION_ID>')
    .option('--serial <SERIAL>', "only this appliance's task (its device job is asked to stop; the rest go on)");
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
        status === 'cancelled'
          ? `cancel requested for ${serial} in operation ${id}`
          : `${serial} had already finished: ${status}`,
      );
      return;
    }
    await audited(
      cfg,
      undefined,
      { action: 'fleet cancel', target: operationPath(kind, id), details: { id } },
      async () => cancelOperation(await connectClient(cfg), id, kind),
    );
    print(o.json, { operation_id: id, cancel_requested: true }, () => `cancel requested for operation ${id}`);
  });

  operationCommand(
    program,
    'pause',
    'pause the operation: no new appliance task starts (running ones go on)',
    (client, id, kind) => setOperationPaused(client, id, true, kind),
    { paused: true },
  );
  operationCommand(
    program,
    'resume',
    'resume a paused operation',
    (client, id, kind) => setOperationPaused(client, id, false, kind),
    { paused: false },
  );
}
