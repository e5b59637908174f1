/** `fleet collectors …`: Sumo collector upgrade tasks, with the same rules as `POST /api/v1/collectors/upgrades`. */
import type { Command } from 'commander';
import { DeviceClient } from '../../activities/device-client';
import { SUMO_PREFIX } from '../../api/sumo-routes';
import { UPGRADE_TASK_STATUS, UPGRADE_TASK_STATUS_TEXT } from '../../domain/sumo';
import {
  collectorTargets,
  CollectorUpgradeError,
  createCollectorUpgrade,
  setCollectorTargets,
  syncCollectors,
} from '../collector-upgrades';
import { connectClient } from '../operations';
import { audited, config, group, leaf, parseTimeoutSeconds, print, UsageError, withStore } from './common';

/** Sumo task status codes that end a task. */
const FINISHED: readonly number[] = [UPGRADE_TASK_STATUS.succeeded, UPGRADE_TASK_STATUS.failed];

export function registerCollectors(program: Command): void {
  const collectors = group(program, 'collectors', 'Sumo collectors and their upgrade tasks');
  registerSync(collectors);
  registerUpgrade(collectors);
  registerTaskStatus(collectors);
  registerTargets(collectors);
}

function registerSync(collectors: Command): void {
  leaf(collectors, 'sync', 'read every Sumo collector the device API serves into the store').action(
    (o: { json: boolean }) =>
      withStore(config(), async (store) => {
        const result = await syncCollectors(new DeviceClient({ baseUrl: config().FLEET_DEVICE_API_URL }), store);
        print(o.json, result, () => `${result.collectors} collectors (${result.alive} alive) in the store`);
      }),
  );
}

function registerUpgrade(collectors: Command): void {
  leaf(
    collectors,
    'upgrade',
    'create a collector upgrade (or downgrade) task, with the rules and error codes of POST /api/v1/collectors/upgrades',
  )
    .argument('<COLLECTOR_ID>', 'a number')
    .option('--to <VERSION>', 'the build (default: the latest)')
    .option('--timeout <SECONDS>', "the task's time limit (default 1800)")
    .action(async (arg: string, o: { to?: string; timeout?: string; json: boolean }) => {
      if (!/^[1-9]\d{0,15}$/.test(arg)) throw new UsageError('collectors upgrade needs a COLLECTOR_ID (a number)');
      const timeout = parseTimeoutSeconds(o.timeout);
      const cfg = config();
      await withStore(cfg, async (store) => {
        let task;
        try {
          task = await audited(
            cfg,
            store,
            {
              action: 'fleet collectors upgrade',
              target: `${SUMO_PREFIX}/collectors/upgrades`,
              details: { collector_id: Number(arg) },
            },
            async () =>
              createCollectorUpgrade(
                await connectClient(cfg),
                store,
                { collectorId: Number(arg), ...(o.to !== undefined ? { toVersion: o.to } : {}) },
                { taskQueue: cfg.FLEET_TASK_QUEUE, ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}) },
              ),
            (created) => ({ details: { created_id: String(created.id) } }),
          );
        } catch (err) {
          if (err instanceof CollectorUpgradeError) throw new Error(`${err.code}: ${err.message}`);
          throw err;
        }
        print(o.json, task, () =>
          [
            `upgrade task ${task.id} created: collector ${task.collectorId} to ${task.toVersion}`,
            `watch it: npm run fleet -- collectors status ${task.id} --watch`,
          ].join('\n'),
        );
      });
    });
}

function registerTaskStatus(collectors: Command): void {
  leaf(
    collectors,
    'status',
    "a collector upgrade task's status code (0 not started, 1 pending, 6 progressing, 2 succeeded, 3 failed) and message",
  )
    .argument('<TASK_ID>', 'a number')
    .option('--watch', 'print it again on every change until the task has finished', false)
    .action(async (arg: string, o: { watch: boolean; json: boolean }) => {
      if (!/^\d{1,15}$/.test(arg)) throw new UsageError('collectors status needs a TASK_ID (a number)');
      await withStore(config(), async (store) => {
        let last = '';
        for (;;) {
          const task = await store.getCollectorUpgradeTask(Number(arg));
          if (!task) throw new Error(`no collector upgrade task ${arg}`);
          const text = o.json
            ? JSON.stringify({ upgrade: task })
            : `task ${task.id}  collector ${task.collectorId}  to ${task.toVersion}  requested ${new Date(task.requestTime).toISOString()}  status ${task.status} (${UPGRADE_TASK_STATUS_TEXT[task.status] ?? 'unknown'})${task.message ? `  ${task.message}` : ''}`;
          if (text !== last) console.log(text);
          last = text;
          if (!o.watch || FINISHED.includes(task.status)) return;
          await new Promise((r) => setTimeout(r, 1000));
        }
      });
    });
}

function registerTargets(collectors: Command): void {
  leaf(collectors, 'targets', 'the available collector builds, oldest first')
    .option('--set <V1,V2,...>', 'replace them (validated, stored sorted)')
    .action((o: { set?: string; json: boolean }) =>
      withStore(config(), async (store) => {
        if (o.set !== undefined)
          await setCollectorTargets(
            store,
            o.set
              .split(',')
              .map((v) => v.trim())
              .filter(Boolean),
          );
        const targets = await collectorTargets(store);
        print(o.json, { targets }, () => targets.map((t) => `${t.version}${t.latest ? '  (latest)' : ''}`).join('\n'));
      }),
    );
}
