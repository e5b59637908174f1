/**
 * The simulator's administration routes the fleet benchmarks read (docs/device-api.md): its
 * fleet-wide stats (device-API requests, device jobs running and their peak) and each device's
 * effect counters, compared with what its plan says it must have done exactly once.
 */
import type { DeviceCounters } from '../../domain/device-api';
import { DeviceClient } from '../../activities/device-client';
import type { SimulatorStats } from '../../domain/device-api';
import { countersText, type FleetPlans } from './device-plans';

export type { SimulatorStats };

export const simulatorStats = (simUrl: string): Promise<SimulatorStats> =>
  new DeviceClient({ baseUrl: simUrl }).stats();
export const resetSimulatorStats = (simUrl: string): Promise<SimulatorStats> =>
  new DeviceClient({ baseUrl: simUrl }).stats({ reset: true });

export interface CounterCheck {
  checked: number;
  matching: number;
  /** One line per appliance whose counters differ from its plan's. */
  mismatches: string[];
}

/** Reads every planned appliance's counters (32 at a time) and compares stages, patches, installs and reboots with its plan. */
export async function checkCounters(simUrl: string, fleet: FleetPlans): Promise<CounterCheck> {
  const devices = new DeviceClient({ baseUrl: simUrl });
  const result: CounterCheck = { checked: 0, matching: 0, mismatches: [] };
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < fleet.appliances.length) {
      const { serial, plan } = fleet.appliances[next++]!;
      const want = fleet.plans[plan]!.counters;
      const got: DeviceCounters | Error = await devices.counters(serial).catch((err: Error) => err);
      result.checked++;
      if (got instanceof Error) result.mismatches.push(`${serial}: ${got.message}`);
      else if (
        got.stages === want.stages &&
        got.patches === want.patches &&
        got.installs === want.installs &&
        got.reboots === want.reboots
      )
        result.matching++;
      else
        result.mismatches.push(
          `${serial}: ${countersText(got)} (plan: ${countersText(want)}; ${got.idempotent_replays} idempotent replays)`,
        );
    }
  };
  await Promise.all(Array.from({ length: 32 }, one));
  return result;
}
