/**
 * Faults the simulator can inject, per device or fleet-wide, through /admin or at start-up.
 * Each changes what the device API answers, never the orchestrator: the point is to see how the
 * workflows cope.
 */
import { z } from 'zod';
import { JOB_KINDS } from '../domain/device-api';

export const FAULT_KINDS = [
  'fail_at_stage', // a job of `stage` kind ends failed
  'hang_at_stage', // a job of `stage` kind never ends
  'hold_at_stage', // a job of `stage` kind does not end while the fault is set; cleared, it ends as its time allows (tests wait on it)
  'disconnect', // the device does not answer for `seconds` (simulated), or until cleared
  'no_return_from_reboot', // after its next reboot the device never answers again
  'slow_link', // downloads take `factor` times longer
  'flapping_5xx', // each request fails with 503 with `probability`
  'esxi_conflict', // install refuses to replace ESXi unless esxi_force
  'wrong_version_after_reboot', // a reboot does not switch partitions
  'unhealthy_after_upgrade', // running another version than when the fault was added (or `version_id`), a service is down and errors count up
  'slow_to_healthy', // after a reboot, services take `seconds` (simulated) to come up
  'fail_first_installs', // the next `count` install jobs end failed (a flapping install)
] as const;

export const fault = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fail_at_stage'), stage: z.enum(JOB_KINDS), message: z.string().optional() }),
  z.object({ kind: z.literal('hang_at_stage'), stage: z.enum(JOB_KINDS) }),
  z.object({ kind: z.literal('hold_at_stage'), stage: z.enum(JOB_KINDS) }),
  z.object({ kind: z.literal('disconnect'), seconds: z.number().positive().optional() }),
  z.object({ kind: z.literal('no_return_from_reboot') }),
  z.object({ kind: z.literal('slow_link'), factor: z.number().min(1) }),
  z.object({ kind: z.literal('flapping_5xx'), probability: z.number().min(0).max(1) }),
  z.object({ kind: z.literal('esxi_conflict') }),
  z.object({ kind: z.literal('wrong_version_after_reboot') }),
  z.object({ kind: z.literal('unhealthy_after_upgrade'), version_id: z.string().min(1).optional() }),
  z.object({ kind: z.literal('slow_to_healthy'), seconds: z.number().positive() }),
  z.object({ kind: z.literal('fail_first_installs'), count: z.number().int().positive() }),
]);
export type Fault = z.infer<typeof fault>;

/** Fleet-wide: apply `fault` to each device with `probability` (repeatable with `seed`). */
export const fleetFaultRequest = z.object({
  fault,
  probability: z.number().min(0).max(1),
  seed: z.number().int().optional(),
  product_code: z.string().optional(),
});
export type FleetFaultRequest = z.infer<typeof fleetFaultRequest>;

/**
 * Start-up form: `kind[:stage][=value]@probability`, e.g. `fail_at_stage:install@0.05`,
 * `slow_link=4@0.1`, `flapping_5xx=0.3@1`, `disconnect=600@0.02`, `slow_to_healthy=300@0.1`,
 * `fail_first_installs=1@0.05`, `unhealthy_after_upgrade@0.01`.
 */
export function parseFaultSpec(spec: string): FleetFaultRequest {
  const match = /^([a-z_0-9]+)(?::([a-z]+))?(?:=([0-9.]+))?@([0-9.]+)$/.exec(spec);
  if (!match) throw new Error(`--fault '${spec}': expected kind[:stage][=value]@probability`);
  const [, kind, stage, value, probability] = match;
  const raw: Record<string, unknown> = { kind };
  if (stage) raw.stage = stage;
  if (value !== undefined) {
    if (kind === 'slow_link') raw.factor = Number(value);
    else if (kind === 'flapping_5xx') raw.probability = Number(value);
    else if (kind === 'disconnect' || kind === 'slow_to_healthy') raw.seconds = Number(value);
    else if (kind === 'fail_first_installs') raw.count = Number(value);
    else throw new Error(`--fault '${spec}': ${kind} takes no value`);
  }
  const parsed = fleetFaultRequest.safeParse({ fault: raw, probability: Number(probability) });
  if (!parsed.success)
    throw new Error(`--fault '${spec}': ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
