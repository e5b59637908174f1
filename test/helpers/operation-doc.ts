import type { UpgradeOperation } from '../../domain/scc';

let seq = 0;

/** A scheduled SH upgrade of `appliances` to 9.16.0-100 with a reboot, as the API stores it; a new id each call. */
export function upgradeOperationDoc(appliances: string[], extra: Partial<UpgradeOperation> = {}): UpgradeOperation {
  seq++;
  return {
    id: `7${seq}${Date.now() % 100000}`,
    username: 'tester',
    create_time: new Date().toISOString(),
    status: 'scheduled',
    product_code: 'SH',
    target_version: { version_id: '9.16.0-100' },
    reboot: true,
    comment: '',
    appliances,
    ...extra,
  };
}
