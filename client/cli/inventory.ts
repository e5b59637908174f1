/** `fleet inventory sync|list|import`: the appliances in the store. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseInventoryFile } from '../../domain/inventory';
import type { ProductCode } from '../../domain/scc';
import { recordLoaded } from '../../store/readiness';
import { runInventoryRefresh } from '../inventory';
import { connectClient } from '../operations';
import { config, group, leaf, print, table, withStore } from './common';

export function registerInventory(program: Command): void {
  const inventory = group(program, 'inventory', 'the appliances in the store (FLEET_STORE_URL)');

  leaf(
    inventory,
    'sync',
    'discover the devices the device API lists and refresh every appliance into the store now',
  ).action(async (o: { json: boolean }) => {
    const cfg = config();
    const result = await runInventoryRefresh(await connectClient(cfg), cfg.FLEET_TASK_QUEUE);
    print(
      o.json,
      result,
      () =>
        `${result.appliances} appliances (${result.discovered} new): ${result.connected} connected, ${result.disconnected} disconnected`,
    );
  });

  leaf(inventory, 'list', 'the appliances in the store: version, connectivity, hostname')
    .option('--product <CODE>', 'only this product code')
    .action((o: { product?: string; json: boolean }) =>
      withStore(config(), async (store) => {
        const appliances = await store.listAppliances(o.product ? { product_code: o.product as ProductCode } : {});
        print(o.json, appliances, () =>
          table([
            ['SERIAL', 'PRODUCT', 'ARCH', 'VERSION', 'CONNECTED', 'HOSTNAME'],
            ...appliances.map((a) => [
              a.serial,
              a.product_code,
              String(a.arch ?? ''),
              String(a.current_version?.version_id ?? ''),
              String(a.connected),
              typeof a.hostname === 'string' ? a.hostname : '',
            ]),
          ]),
        );
      }),
    );

  leaf(
    inventory,
    'import',
    'import { "appliances": [...], "collectors": [...] } (SCC appliance objects, each with an optional connection; Sumo collector objects) in one transaction',
  )
    .argument('<FILE>')
    .action(async (file: string, o: { json: boolean }) => {
      const parsed = parseInventoryFile(readFileSync(file, 'utf8'));
      await withStore(config(), async (store) => {
        const counts = await store.importInventory(parsed);
        await recordLoaded(store, 'inventory');
        print(o.json, counts, () => `imported ${counts.appliances} appliance(s) and ${counts.collectors} collector(s)`);
      });
    });
}
