/** Every workflow the worker registers (the bundle entry point). */
export { downgradeOperation, rebootOperation, upgradeOperation } from './operation';
export { applianceRebootTask } from './appliance-reboot-task';
export { applianceTaskBatch } from './appliance-task-batch';
export { applianceUpgradeTask } from './appliance-upgrade-task';
export { inventoryRefresh } from './inventory-refresh';
export { collectorUpgradeTask } from './collector-upgrade';
export { taskSlots } from './task-slots';
export { applianceRollbackTask } from './rollback';
