/**
 * The dashboard (`/ui`) in a real browser (Debian's Chromium, driven by playwright-core) against
 * the real API on a socket, the real dev server, worker and simulator process: sign-in, the
 * operations list, an operation's page following a running upgrade without a reload, a cancel
 * from the page (the API then answers it cancelled), one task cancelled, a read-only key's
 * refused action shown, and 10,000 tasks paged and filtered. Nothing is loaded from anywhere but
 * the API's origin, no CSP violation, and the key never appears in a URL or the page (nor, checked
 * by startSccApi at stop, in the API's log or answers). Screenshots go to test-results/dashboard/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PRODUCT_CODES } from '../../domain/scc';
import { SCC_KEYS, startSccApi, type SccApi, type Who } from '../helpers/scc-api';

const taskQueue = 'integration-dashboard';
const CHROMIUM = '/usr/bin/chromium';
const TARGET = '9.16.0-100';
const SCREENSHOTS = join(__dirname, '..', '..', 'test-results', 'dashboard');
/** How long a page may take to show what the API has (it polls every 1.5 s); far below the jest timeout. */
const WAIT_MS = 90_000;

let api: SccApi;
let browser: Browser;
let context: BrowserContext;
let requested: string[];
let problems: string[];

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [api, browser] = await Promise.all([
    startSccApi({ appliances: 120, speed: 400, taskQueue }),
    // Root in CI: Chromium's sandbox needs user namespaces; /dev/shm is small in containers.
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await api?.stop();
});

beforeEach(async () => {
  requested = [];
  problems = [];
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(WAIT_MS);
  // Nothing leaves the test's origin: a request elsewhere (a CDN) is recorded and refused.
  await context.route('**/*', (route) =>
    route.request().url().startsWith(`${api.base}/`) ? route.continue() : route.abort(),
  );
  context.on('request', (request) => void requested.push(request.url()));
});
afterEach(async () => {
  await context.close();
  expect(requested.filter((url) => !url.startsWith(`${api.base}/`))).toEqual([]);
  for (const key of Object.values(SCC_KEYS)) expect(requested.filter((url) => url.includes(key))).toEqual([]);
  expect(problems).toEqual([]);
});

async function signIn(who: Who): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => void problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (/content security policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  // The cancel buttons ask first.
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${api.base}/ui`);
  await page.locator('input[name="access-id"]').fill(who);
  await page.locator('input[name="access-key"]').fill(SCC_KEYS[who]);
  await page.locator('button[type="submit"]').click();
  await page.locator('[data-access-id]').waitFor();
  // The key is in this tab's sessionStorage, never in the page itself.
  expect(await page.content()).not.toContain(SCC_KEYS[who]);
  return page;
}

const openOperation = async (page: Page, id: string): Promise<void> => {
  await page.goto(`${api.base}/ui#/operations/upgrade/${id}`);
  await page.locator(`section.operation[data-operation="${id}"]`).waitFor();
};
const operationStatus = (page: Page) => page.locator('section.operation h2 [data-status]');
const row = (page: Page, serial: string) => page.locator(`table.tasks tr[data-serial="${serial}"]`);
const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

/** n appliances of one product code that may be upgraded to TARGET now. */
async function eligible(n: number): Promise<{ product: string; serials: string[] }> {
  for (const product of PRODUCT_CODES) {
    const found = (await api.call('GET', `/upgradeable_appliances/${product}/${TARGET}`, { who: 'reader' })).json
      .upgradeable as { serial: string }[];
    if (found.length >= n) return { product, serials: found.slice(0, n).map((a) => a.serial) };
  }
  throw new Error(`no product code has ${n} appliances to upgrade to ${TARGET}`);
}

/** An upgrade operation created over the API as the operator: now, or in an hour; with a reboot, the appliances then run TARGET. */
async function createUpgrade(
  n: number,
  options: { later?: boolean; reboot?: boolean; rollout?: Record<string, unknown> } = {},
): Promise<{ id: string; product: string; serials: string[] }> {
  const { product, serials } = await eligible(n);
  const body = {
    product_code: product,
    target_version: { version_id: TARGET },
    reboot: options.reboot ?? false,
    comment: 'from the dashboard test',
    appliances: serials,
    ...(options.later ? { upgrade_time: { datetime: Math.floor(Date.now() / 1000) + 3600, time_type: 'utc' } } : {}),
    ...(options.rollout ? { rollout: options.rollout } : {}),
  };
  const created = await api.call('POST', '/operations/upgrade', { body });
  expect([created.status, created.json.error_text]).toEqual([201, undefined]);
  return { id: created.json.id, product, serials: [...serials].sort() };
}

test('sign in, then the operations: status, kind, product, target, created by, waves, a progress bar each', async () => {
  const { id, product } = await createUpgrade(2, { later: true, rollout: { waves: [1, '50%'], max_in_flight: 2 } });
  const page = await context.newPage();
  await page.goto(`${api.base}/ui`);
  // A wrong key is refused on the form, and nothing else is shown.
  await page.locator('input[name="access-id"]').fill('operator');
  await page.locator('input[name="access-key"]').fill('not-the-right-key-1');
  await page.locator('button[type="submit"]').click();
  await page.locator('.sign-in [role="alert"]', { hasText: 'Wrong, expired or revoked' }).waitFor();
  expect(await page.locator('table.operations').count()).toBe(0);
  await page.close();

  const signedIn = await signIn('operator');
  const listed = signedIn.locator(`table.operations tr[data-operation="${id}"]`);
  await listed.locator('.progress-text', { hasText: '0/2 (0%)' }).waitFor();
  const cells = await listed.locator('td').allInnerTexts();
  expect(cells.slice(0, 8)).toEqual([
    id,
    'scheduled',
    'upgrade',
    product,
    TARGET,
    'operator',
    expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/),
    'waves 1, 50%; ≤ 2 at once',
  ]);
  // The page's own headers: a CSP without inline scripts, as every HTML page of the API.
  const served = await fetch(`${api.base}/ui`);
  expect(served.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
  expect(served.headers.get('content-security-policy')).not.toContain('unsafe-inline');
  expect(served.headers.get('x-frame-options')).toBe('DENY');
  expect(requested).toEqual(
    expect.arrayContaining([expect.stringMatching(/\/ui\/app\.js\?v=/), expect.stringMatching(/\/ui\/app\.css\?v=/)]),
  );
  await screenshot(signedIn, 'operations');
  // Filtered by kind: a reboot list has none of it.
  await signedIn.locator('select[name="kind"]').selectOption('reboot');
  await listed.waitFor({ state: 'detached' });
});

test("an operation's page follows a running upgrade without a reload; resumed from the page; a task's log", async () => {
  const { id, serials } = await createUpgrade(4, { reboot: true, rollout: { max_in_flight: 2 } });
  // Paused at once (at most two tasks start): the page opens on a running, paused operation.
  expect((await api.call('POST', `/operations/upgrade/${id}/pause`)).status).toBe(204);
  const page = await signIn('operator');
  await openOperation(page, id);
  await page.locator('section.operation h2 [data-paused="true"]').waitFor();
  expect(await operationStatus(page).innerText()).toBe('running');
  await page.locator('table.tasks tbody tr[data-serial]').nth(3).waitFor();
  // Anything set on this document is lost by a reload.
  await page.evaluate(() => void ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));

  await page.locator('[data-action="resume"]').click();
  await page.locator('[data-notice="done"]', { hasText: 'resume requested' }).waitFor();
  await page.locator('section.operation h2 [data-paused="true"]').waitFor({ state: 'detached' });
  await page.locator('table.tasks tr[data-task-status="successful"]').first().waitFor();
  await screenshot(page, 'operation-running');
  await operationStatus(page).filter({ hasText: 'successful' }).waitFor();
  for (const serial of serials) {
    await row(page, serial).and(page.locator('[data-task-status="successful"]')).waitFor();
    expect(await row(page, serial).locator('[data-stage]').innerText()).toBe('completed');
    expect(await row(page, serial).locator('td').nth(4).innerText()).toBe(TARGET);
  }
  expect(await page.locator('.progress-text').first().innerText()).toBe('4/4 (100%)');
  expect(await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
  // Finished: no action is offered any more.
  expect(await page.locator('[data-action="pause"], [data-action="cancel"], [data-action="cancel-task"]').count()).toBe(
    0,
  );

  // The operation's log says it was paused and resumed.
  await page.locator('details.operation-log summary').click();
  await page
    .locator('details.operation-log ol.log li', { hasText: 'paused: no new task starts until resumed' })
    .waitFor();
  await page.locator('details.operation-log ol.log li', { hasText: / info resumed$/ }).waitFor();

  await row(page, serials[0]!).locator('[data-action="log"]').click();
  const log = page.locator(`tr[data-log-of="${serials[0]}"] ol.log li`);
  await log.first().waitFor();
  const stored = (await api.call('GET', `/operations/upgrade/${id}/appliances/${serials[0]}/log`, { who: 'reader' }))
    .json.log as { log_entry: string }[];
  expect(await log.count()).toBe(stored.length);
  expect(await log.last().innerText()).toContain(stored.at(-1)!.log_entry);
});

test('cancel from the page: the operation, then one task of another; the API answers them cancelled', async () => {
  const whole = await createUpgrade(2, { later: true });
  const page = await signIn('operator');
  await openOperation(page, whole.id);
  expect(await operationStatus(page).innerText()).toBe('scheduled');
  await page.locator('[data-action="cancel"]').click();
  await page.locator('[data-notice="done"]', { hasText: 'cancel requested' }).waitFor();
  await operationStatus(page).filter({ hasText: 'cancelled' }).waitFor();
  expect((await api.call('GET', `/operations/upgrade/${whole.id}`, { who: 'reader' })).json.status).toBe('cancelled');
  await page.locator('table.tasks tr[data-task-status="cancelled"]').nth(1).waitFor();

  const partly = await createUpgrade(2, { later: true });
  await openOperation(page, partly.id);
  const [doomed, kept] = partly.serials as [string, string];
  await row(page, doomed).locator('[data-action="cancel-task"]').click();
  await row(page, doomed).and(page.locator('[data-task-status="cancelled"]')).waitFor();
  expect(
    (await api.call('GET', `/operations/upgrade/${partly.id}/appliances/${doomed}/state`, { who: 'reader' })).json
      .status,
  ).toBe('cancelled');
  expect(await row(page, kept).getAttribute('data-task-status')).toBe('scheduled');
  expect(await operationStatus(page).innerText()).toBe('scheduled');
  expect((await api.call('POST', `/operations/upgrade/${partly.id}/cancel`)).status).toBe(204);
});

test("a read-only key's action is refused by the API, and the page says so", async () => {
  const { id, serials } = await createUpgrade(1, { later: true });
  const page = await signIn('reader');
  await openOperation(page, id);
  await page.locator('[data-action="pause"]').click();
  const refused = page.locator('[data-notice="refused"]');
  await refused.waitFor();
  expect(await refused.innerText()).toContain(
    'Pause refused — 403 FORBIDDEN: access id reader (role read_only) may not create or change operations',
  );
  await screenshot(page, 'refused');
  await row(page, serials[0]!).locator('[data-action="cancel-task"]').click();
  await refused.filter({ hasText: 'Cancel refused — 403 FORBIDDEN' }).waitFor();
  const after = (await api.call('GET', `/operations/upgrade/${id}`, { who: 'reader' })).json;
  expect([after.status, after.paused]).toEqual(['scheduled', undefined]);
  expect(
    (await api.call('GET', `/operations/upgrade/${id}/appliances/${serials[0]}/state`, { who: 'reader' })).json.status,
  ).toBe('scheduled');
  expect((await api.call('POST', `/operations/upgrade/${id}/cancel`)).status).toBe(204);
  // Signing out forgets the key.
  await page.locator('header .who button', { hasText: 'Sign out' }).click();
  await page.locator('form.sign-in').waitFor();
  expect(
    await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length),
  ).toBe(0);
});

test('10,000 appliances: one page at a time, filtered by status and part of a serial', async () => {
  const id = '1790000000777';
  const serials = Array.from(
    { length: 10_000 },
    (_, i) => `S12AB${(0x20000000 + i).toString(16).toUpperCase().slice(-8)}`,
  );
  const failed = (i: number) => i % 10 === 7;
  await api.stack.store.insertOperation(
    'upgrade',
    {
      id,
      username: 'operator',
      status: 'running',
      create_time: new Date().toISOString(),
      product_code: 'SH',
      appliances: serials,
      target_version: { version_id: TARGET },
      reboot: false,
      comment: 'large',
      rollout: { waves: [100, '10%'], max_in_flight: 500 },
    },
    serials.map((serial, i) => ({
      operation_id: id,
      serial,
      status: failed(i) ? 'failed' : 'running',
      stage: failed(i) ? 'failed' : 'downloading',
      current_version: { version_id: '9.14.0-100' },
      ...(failed(i) ? { message: `device said no (${i})` } : {}),
    })),
  );
  const page = await signIn('reader');
  await openOperation(page, id);
  const pager = page.locator('.pager-text').first();
  await pager.filter({ hasText: '1–100 of 10,000' }).waitFor();
  expect(await page.locator('table.tasks tbody tr[data-serial]').count()).toBe(100);
  await page.locator('[data-page="next"]').first().click();
  await pager.filter({ hasText: '101–200 of 10,000' }).waitFor();
  await row(page, serials[100]!).waitFor();
  await page.locator('[data-page="last"]').first().click();
  await row(page, serials[9999]!).waitFor();

  await page.locator('[data-counts="status"] [data-count="failed"]').click();
  await pager.filter({ hasText: '1–100 of 1,000' }).waitFor();
  expect(await row(page, serials[7]!).locator('td.message').innerText()).toBe('device said no (7)');
  await page.locator('input[name="serial"]').fill(serials[9997]!.slice(-5).toLowerCase());
  await row(page, serials[9997]!).waitFor();
  expect(await page.locator('table.tasks tbody tr[data-serial]').count()).toBe(1);
  await screenshot(page, 'large-operation');
  // Back on the list, every operation of this run, the large one with its progress.
  await page.locator('a', { hasText: '‹ Operations' }).click();
  await page
    .locator(`table.operations tr[data-operation="${id}"] .progress-text`, { hasText: '1000/10000 (10%)' })
    .waitFor();
  await screenshot(page, 'operations-all');
});
