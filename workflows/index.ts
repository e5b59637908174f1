/** Every workflow the worker registers (the bundle entry point). */
export { upgradeOperation } from './upgrade-operation';
export { applianceUpgradeTask } from './appliance-upgrade-task';
export { inventoryRefresh } from './inventory-refresh';
