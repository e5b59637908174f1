/** `fleet upgrade`, `fleet downgrade`, `fleet reboot`: start an operation (checked against the inventory). */
import type { Command } from 'commander';
import type { FleetConfig } from '../../domain/config';
import { OPERATION_TIME_FIELD, type OperationKind } from '../../domain/operation';
import { ineligibleAppliances } from '../../store/fleet-facts';
import { connectClient, createOperation } from '../operations';
import {
  audited,
  config,
  leaf,
  operationPath,
  parseJsonOption,
  parseTimeoutSeconds,
  parseWhen,
  withStore,
} from './common';

interface OperateOptions {
  product?: string;
  version?: string;
  at?: string;
  local: boolean;
  reboot: boolean;
  rebootAt?: string;
  switchPartition: boolean;
  comment: string;
  user?: string;
  rollout?: string;
  healthCheck?: string;
  rollback?: string;
  taskRetries?: string;
  timeout?: string;
  json: boolean;
}

const ROLLOUT_EXAMPLE = `'{"waves":[1,"10%"],"max_in_flight":20,"failure_threshold":{"max_failure_percent":5,"min_sample":10}}'`;

/** The request body, as `POST /operations/{kind}` takes it. */
function requestBody(kind: OperationKind, serials: string[], o: OperateOptions): Record<string, unknown> {
  const when = (value: string, option: string) => ({
    datetime: parseWhen(value, Date.now(), option),
    time_type: o.local ? 'local' : 'utc',
  });
  const timeout = parseTimeoutSeconds(o.timeout);
  const limit = timeout !== undefined ? { task_timeout: timeout } : {};
  const at = o.at ? { [OPERATION_TIME_FIELD[kind]]: when(o.at, '--at') } : {};
  if (kind === 'reboot')
    return { switch_partition: o.switchPartition, comment: o.comment, appliances: serials, ...at, ...limit };
  return {
    product_code: o.product,
    target_version: { version_id: o.version },
    reboot: o.reboot,
    comment: o.comment,
    appliances: serials,
    ...at,
    ...(o.rebootAt ? { reboot_time: when(o.rebootAt, '--reboot-at') } : {}),
    ...(o.rollout ? { rollout: parseJsonOption('rollout', o.rollout) } : {}),
    ...(o.healthCheck ? { health_check: parseJsonOption('health-check', o.healthCheck) } : {}),
    ...(o.rollback ? { rollback: o.rollback } : {}),
    ...(o.taskRetries ? { task_retries: parseJsonOption('task-retries', o.taskRetries) } : {}),
    ...limit,
  };
}

async function operate(
  cfg: FleetConfig,
  kind: OperationKind,
  serials: string[],
  options: OperateOptions,
): Promise<void> {
  const o = { ...options, user: options.user ?? process.env.USER ?? 'fleet-cli' };
  const body = requestBody(kind, serials, o);
  // Eligibility and local times come from the inventory.
  await withStore(cfg, async (store) => {
    const { operation, linked } = await audited(
      cfg,
      store,
      // `username`: the operation's (--user), beside the OS user the actor names.
      { action: `fleet ${kind}`, target: operationPath(kind), details: { username: o.user } },
      async () =>
        createOperation(await connectClient(cfg), kind, body, {
          taskQueue: cfg.FLEET_TASK_QUEUE,
          username: o.user,
          timeZones: (s) => store.timeZones(s),
          eligibility: (k, request) => ineligibleAppliances(store, k, request),
        }),
      (created) => ({
        details: {
          created_id: created.operation.id,
          ...(created.linked ? { reboot_id: created.linked.operation.id } : {}),
        },
      }),
    );
    const web = (k: string, id: string) =>
      `http://localhost:${cfg.FLEET_TEMPORAL_UI_PORT}/namespaces/${cfg.FLEET_TEMPORAL_NAMESPACE}/workflows/${k}-${id}`;
    const what = operation.target_version ? ` to ${operation.target_version.version_id}` : '';
    console.log(
      o.json
        ? JSON.stringify(linked ? { operation, reboot_operation: linked.operation } : operation, null, 2)
        : [
            `operation ${operation.id} ${operation.status}: ${kind} of ${operation.appliances.length} appliance(s)${what}`,
            ...(linked ? [`reboot operation ${linked.operation.id} follows it at the reboot time`] : []),
            `watch it: npm run fleet -- status ${operation.id}${kind === 'upgrade' ? '' : ` --kind ${kind}`} --watch`,
            `Web UI:   ${web(kind, operation.id)}`,
          ].join('\n'),
    );
  });
}

/** Options every kind takes: when, comment, who, the tasks' time limit. */
function common(cmd: Command, timeField: string): Command {
  return cmd
    .option('--at <WHEN>', `start at this time (${timeField}): ISO 8601, or +6h, +30m, +90s from now; default: at once`)
    .option('--local', "the times are each appliance's own wall-clock time (its inventory time zone)", false)
    .option('--comment <TEXT>', "the operation's comment", '')
    .option('--user <NAME>', "the operation's username (default: $USER, else fleet-cli)")
    .option('--timeout <SECONDS>', "each appliance task's time limit (task_timeout; default 1800)");
}

export function registerOperate(program: Command): void {
  for (const kind of ['upgrade', 'downgrade'] as const) {
    const cmd = leaf(
      program,
      kind,
      `start ${kind === 'upgrade' ? 'an upgrade' : 'a downgrade'} operation of the appliances (to ${kind === 'upgrade' ? 'a newer' : 'an older'} version)`,
    )
      .argument('[SERIAL...]', 'the appliances')
      .requiredOption('--product <CODE>', 'their product code (SH, EX, IC, SMC, WW, GC)')
      .requiredOption('--version <VERSION_ID>', 'the target version, e.g. 9.18.0-100')
      .option('--reboot', 'reboot into the new version once installed', false)
      .option('--reboot-at <WHEN>', 'with --reboot: reboot at this time instead, as a linked reboot operation');
    common(cmd, `${kind}_time`)
      .option(
        '--rollout <JSON>',
        `rollout policy: waves, max_in_flight, failure_threshold, approval, success_threshold_percent, progress_deadline_seconds, e.g. ${ROLLOUT_EXAMPLE}`,
      )
      .option(
        '--health-check <JSON>',
        `after the final reboot, wait for the appliance to report healthy, e.g. '{"settle_seconds":120,"probes":6,"interval_seconds":30}' (needs --reboot)`,
      )
      .option(
        '--rollback <POLICY>',
        'none, on_failure (an appliance that fails its health check or install goes back to its version) or all (also those upgraded, when the failure threshold stops the rollout)',
      )
      .option(
        '--task-retries <JSON>',
        `run a failed or timed-out task again, e.g. '{"max":1,"on":["failed"],"backoff_seconds":300}'`,
      )
      .action((serials: string[], o: OperateOptions) => operate(config(), kind, serials, o));
  }
  const reboot = leaf(program, 'reboot', 'start a reboot operation of the appliances')
    .argument('[SERIAL...]', 'the appliances')
    .option('--switch-partition', 'boot the other partition', false);
  common(reboot, 'reboot_time').action((serials: string[], o: OperateOptions) =>
    operate(config(), 'reboot', serials, o),
  );
}
