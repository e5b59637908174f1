/**
 * Appliance tasks install what their image plan says, on real parts (dev server, simulator
 * process, worker, SQLite store with the Riverbed catalog): a two-image upgrade through an
 * intermediate version, a delta image patched on the device, a target without images, and
 * eligibility checked when the operation is created and again when its task starts.
 */
import { createOperation, InvalidRequestError, type CreateOperationOptions } from '../../client/operations';
import { runInventoryRefresh } from '../../client/inventory';
import type { Appliance } from '../../domain/scc';
import { ineligibleAppliances } from '../../store/fleet-facts';
import type { upgradeOperation } from '../../workflows';
import { recordHistories, replayAll } from '../helpers/histories';
import { startStack, type Stack } from '../helpers/stack';

const taskQueue = 'integration-image-plans';
let stack: Stack;
/** The inventory's view of the fleet (a disconnected appliance does not answer the device API). */
let fleet: Appliance[];

beforeAll(async () => {
  // The demo profile has read-only, unentitled, end-of-life and disconnected appliances.
  stack = await startStack({ appliances: 60, speed: 400, taskQueue, profile: 'demo' });
  await runInventoryRefresh(stack.env.client, taskQueue);
  fleet = (await stack.store.listAppliances()) as unknown as Appliance[];
  expect(fleet.length).toBeGreaterThan(50);
});

// Every history the tests produced replays, checked once they have all run (in whatever order), then the stack stops.
afterAll(async () => {
  try {
    await replayHistories();
  } finally {
    await stack?.stop();
  }
});

const options = (): CreateOperationOptions => ({
  taskQueue,
  username: 'tester',
  eligibility: (kind, request) => ineligibleAppliances(stack.store, kind, request),
});
const result = (id: string) => stack.env.client.workflow.getHandle<typeof upgradeOperation>(`upgrade-${id}`).result();
const logOf = async (id: string, serial: string) => (await stack.store.getLog(id, serial)).map((e) => e.log_entry);

/** Upgrades one appliance (checked at creation) and waits for the operation's end. */
async function upgradeOne(appliance: Appliance, version_id: string, reboot: boolean) {
  const { operation } = await createOperation(
    stack.env.client,
    'upgrade',
    {
      product_code: appliance.product_code,
      target_version: { version_id },
      reboot,
      comment: '',
      appliances: [appliance.serial],
    },
    options(),
  );
  return { operation, outcome: await result(operation.id) };
}

/** Writable, entitled, connected, supported appliances running `versionId`, not yet used by a test. */
const used = new Set<string>();
function take(versionId: string, count = 1): Appliance[] {
  const found = fleet
    .filter(
      (d) =>
        d.connected &&
        d.entitled &&
        !d.read_only &&
        !d.model_eol &&
        d.current_version?.version_id === versionId &&
        !used.has(d.serial),
    )
    .slice(0, count);
  expect(found).toHaveLength(count);
  for (const d of found) used.add(d.serial);
  return found;
}

test('an upgrade that takes two images installs the intermediate version, reboots into it, then patches to the target', async () => {
  const [appliance] = take('9.12.0-100');
  const serial = appliance!.serial;
  const { operation, outcome } = await upgradeOne(appliance!, '9.18.0-100', true);
  expect(outcome.tasks).toEqual([expect.objectContaining({ serial, status: 'successful', stage: 'completed' })]);

  expect((await stack.devices.info(serial)).running_version.version_id).toBe('9.18.0-100');
  expect(await stack.devices.counters(serial)).toMatchObject({ stages: 2, patches: 1, installs: 2, reboots: 2 });
  // Every line, in order (lines written with the task's next write keep their place).
  const staged = expect.stringMatching(/^image staged from http/);
  expect(await logOf(operation.id, serial)).toEqual([
    'upgrade to 9.18.0-100 started',
    'the target takes 2 images: 9.12.0-100 → 9.16.0-100 → 9.18.0-100',
    `downloading full image riverbed-${appliance!.product_code}-${appliance!.arch}-9.16.0-100 (riverbed repository) for 9.16.0-100 (step 1 of 2)`,
    staged,
    'installing 9.16.0-100 (step 1 of 2)',
    '9.16.0-100 installed on the standby partition',
    'rebooting to run 9.16.0-100 before the next image',
    'appliance is running 9.16.0-100',
    `downloading delta image riverbed-${appliance!.product_code}-${appliance!.arch}-9.16.0-100-to-9.18.0-100 (riverbed repository) for 9.18.0-100 (step 2 of 2)`,
    staged,
    'patching 9.16.0-100 to 9.18.0-100 with the delta image (step 2 of 2)',
    'installing 9.18.0-100 (step 2 of 2)',
    '9.18.0-100 installed on the standby partition',
    'rebooting to activate the new partition',
    'appliance is running 9.18.0-100',
    'upgrade to 9.18.0-100 completed',
  ]);
  // Both versions reached are in the appliance's history, by this operation.
  const history = await stack.store.versionHistory(serial);
  expect(history.filter((c) => c.operation_id === operation.id).map((c) => c.to_version_id)).toEqual([
    '9.16.0-100',
    '9.18.0-100',
  ]);
});

test('a delta image is patched on the device; without reboot the target waits on the standby partition', async () => {
  const [appliance] = take('9.14.0-100');
  const serial = appliance!.serial;
  const { operation, outcome } = await upgradeOne(appliance!, '9.16.0-100', false);
  expect(outcome.tasks[0]).toMatchObject({ status: 'successful', stage: 'completed' });
  const info = await stack.devices.info(serial);
  expect([info.running_version.version_id, info.standby_version?.version_id]).toEqual(['9.14.0-100', '9.16.0-100']);
  expect(await stack.devices.counters(serial)).toMatchObject({ stages: 1, patches: 1, installs: 1, reboots: 0 });
  expect(await logOf(operation.id, serial)).toContain('patching 9.14.0-100 to 9.16.0-100 with the delta image');
});

test('an operation naming an ineligible appliance is refused at creation, naming it and why, and nothing starts', async () => {
  const readOnly = fleet.find((d) => d.read_only);
  const [good] = take('9.12.1-100');
  expect(readOnly).toBeDefined();
  const request = (appliances: string[], product_code = good!.product_code) => ({
    product_code,
    target_version: { version_id: '9.16.0-100' },
    reboot: true,
    comment: 'refused',
    appliances,
  });

  // Nothing may start: every workflow start of this client is watched (no waiting on visibility).
  const start = jest.spyOn(stack.env.client.workflow, 'start');
  const refusedReadOnly = await createOperation(
    stack.env.client,
    'upgrade',
    request([good!.serial, readOnly!.serial], readOnly!.product_code),
    options(),
  ).catch((e: unknown) => e);
  expect(refusedReadOnly).toBeInstanceOf(InvalidRequestError);
  expect((refusedReadOnly as InvalidRequestError).field).toBe('appliances');
  const message = (refusedReadOnly as InvalidRequestError).message;
  expect(message).toContain(`${readOnly!.serial} (read_only)`);
  if (good!.product_code !== readOnly!.product_code) expect(message).toContain(`${good!.serial} (wrong_product_code)`);

  const unknown = await createOperation(stack.env.client, 'upgrade', request(['S00AB00000000']), options()).catch(
    (e: unknown) => e,
  );
  expect((unknown as InvalidRequestError).message).toContain('S00AB00000000 (unknown)');
  // Nothing was started for either request.
  expect(start).not.toHaveBeenCalled();
  start.mockRestore();
  used.delete(good!.serial);
});

test('eligibility is checked again when the task starts, and a target without images fails the task saying so', async () => {
  const readOnly = fleet.find((d) => d.read_only)!;
  const [appliance] = take('9.12.1-100');
  // Created without the creation-time check (as a caller without the inventory would).
  const plain = { taskQueue, username: 'tester' };
  const { operation: refused } = await createOperation(
    stack.env.client,
    'upgrade',
    {
      product_code: readOnly.product_code,
      target_version: { version_id: '9.16.0-100' },
      reboot: true,
      comment: '',
      appliances: [readOnly.serial],
    },
    plain,
  );
  expect((await result(refused.id)).tasks[0]).toMatchObject({
    status: 'failed',
    message: `appliance ${readOnly.serial} is read-only`,
  });

  const { operation: nowhere } = await createOperation(
    stack.env.client,
    'upgrade',
    {
      product_code: appliance!.product_code,
      target_version: { version_id: '9.20.0-100' },
      reboot: true,
      comment: '',
      appliances: [appliance!.serial],
    },
    plain,
  );
  expect((await result(nowhere.id)).tasks[0]).toMatchObject({
    status: 'failed',
    message: `no ${appliance!.product_code} image of version 9.20.0-100`,
  });
  expect(await stack.devices.counters(appliance!.serial)).toMatchObject({ stages: 0, installs: 0 });
});

/** Replays every history the tests produced against the current workflow code (and records fixtures, asked to). */
async function replayHistories(): Promise<void> {
  const query = "FleetOperationKind = 'upgrade'";
  // 4 operations started above (the refused ones never did), one task each.
  expect(await replayAll(stack.env.client, query)).toBeGreaterThanOrEqual(8);
  // `FLEET_RECORD_HISTORIES=test/fixtures/histories npx jest test/integration/image-plan.test.ts` records fixtures.
  await recordHistories(stack.env.client, query, 'image-plan');
}
