/**
 * The simulator's administration routes the fleet benchmarks read (docs/device-api.md): its
 * fleet-wide stats (device-API requests, device jobs running and their peak) and each device's
 * effect counters, compared with what its plan says it must have done exactly once.
 */
import type { DeviceCounters } from '../../domain/device-api';
import type { SimulatorStats } from '../../simulator/appliance';
import { countersText, type FleetPlans } from './device-plans';

export type { SimulatorStats };

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

export const simulatorStats = (simUrl: string): Promise<SimulatorStats> => json(`${simUrl}/admin/stats`);
export const resetSimulatorStats = (simUrl: string): Promise<SimulatorStats> => json(`${simUrl}/admin/stats/reset`, { method: 'POST' });

export interface CounterCheck {
  checked: number;
  matching: number;
  /** One line per appliance whose counters differ from its plan's. */
  mismatches: string[];
}

/** Reads every planned appliance's counters (32 at a time) and compares stages, patches, installs and reboots with its plan. */
export async function checkCounters(simUrl: string, fleet: FleetPlans): Promise<CounterCheck> {
  const result: CounterCheck = { checked: 0, matching: 0, mismatches: [] };
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < fleet.appliances.length) {
      const { serial, plan } = fleet.appliances[next++]!;
      const want = fleet.plans[plan]!.counters;
      const got = await json<DeviceCounters>(`${simUrl}/admin/devices/${encodeURIComponent(serial)}/counters`).catch((err: Error) => err);
      result.checked++;
      if (got instanceof Error) result.mismatches.push(`${serial}: ${got.message}`);
      else if (got.stages === want.stages && got.patches === want.patches && got.installs === want.installs && got.reboots === want.reboots) result.matching++;
      else result.mismatches.push(`${serial}: ${countersText(got)} (plan: ${countersText(want)}; ${got.idempotent_replays} idempotent replays)`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, one));
  return result;
}
