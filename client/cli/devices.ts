/** `fleet devices`: the serials the device API serves. */
import type { Command } from 'commander';
import { DeviceClient } from '../../activities/device-client';
import { config, leaf, parseCount } from './common';

export function registerDevices(program: Command): void {
  leaf(program, 'devices', 'list the serials the device API serves (FLEET_DEVICE_API_URL)')
    .option('--product <CODE>', 'only this product code')
    .option('--limit <N>', 'at most N serials')
    .action(async (o: { product?: string; limit?: string; json: boolean }) => {
      const limit = o.limit !== undefined ? parseCount('--limit', o.limit, 0) : undefined;
      const serials = await new DeviceClient({ baseUrl: config().FLEET_DEVICE_API_URL }).listSerials(o.product);
      const shown = serials.slice(0, limit ?? serials.length);
      console.log(o.json ? JSON.stringify(shown) : shown.join('\n'));
    });
}
