/**
 * `/docs` in a real browser (Debian's Chromium, installed by scripts/setup.sh, driven by
 * playwright-core) over the real stack: Swagger UI, loaded only from our own origin, renders every
 * operation of /openapi.json; Authorize takes Basic credentials; "Try it out" (on by default) →
 * Execute reaches the real API: 200 with the repositories when authorized, 401 without.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { basicAuth, CMC_PREFIX, SCC_KEYS, startSccApi, type SccApi } from '../helpers/scc-api';

const taskQueue = 'integration-docs-page';
const CHROMIUM = '/usr/bin/chromium';
const REPOSITORIES = `${CMC_PREFIX}/image_repositories`;
/** Generous for a loaded CI machine, still far below the jest timeout so a missing element fails clearly. */
const WAIT_MS = 30_000;

let api: SccApi;
let browser: Browser;
let context: BrowserContext;
/** Every URL the browser asked for in the current test, and any CSP violation or page error. */
let requested: string[];
let problems: string[];

beforeAll(async () => {
  [api, browser] = await Promise.all([
    startSccApi({ appliances: 4, speed: 400, taskQueue }),
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
  context = await browser.newContext();
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
  expect(problems).toEqual([]);
});

async function openDocs(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => void problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (/content security policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  await page.goto(`${api.base}/docs`);
  await page.locator('.swagger-ui .information-container .title').waitFor();
  return page;
}

/**
 * Scrolls down the page until `found` says so or the bottom is reached, answering what `seen`
 * read at each step. Swagger UI draws only the operations near the window once a section holds
 * 150 or more (a virtualized list), as a reader scrolling sees them.
 */
async function scrollThrough<T>(page: Page, seen: () => Promise<T>, found: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await seen();
    const atBottom = await page.evaluate<boolean>(
      'window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2',
    );
    if (found(value) || atBottom) return value;
    await page.mouse.wheel(0, 600);
    // The next frame has drawn the operations now in view.
    await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
  }
}

/** The GET /api/cmc.upgrades/1.0/image_repositories operation, expanded. */
async function repositoriesOperation(page: Page) {
  const operation = page.locator('.opblock.opblock-get', {
    has: page.locator(`.opblock-summary-path[data-path="${REPOSITORIES}"]`),
  });
  await scrollThrough(
    page,
    () => operation.count(),
    (n) => n > 0,
  );
  await operation.locator('.opblock-summary').click();
  await operation.locator('button.execute').waitFor();
  return operation;
}

/** Clicks Execute and returns the request sent, the status shown and the body shown. */
async function execute(page: Page, operation: Awaited<ReturnType<typeof repositoriesOperation>>) {
  const [response] = await Promise.all([
    page.waitForResponse((res) => res.url() === `${api.base}${REPOSITORIES}`),
    operation.locator('button.execute').click(),
  ]);
  const shown = operation.locator('.live-responses-table .response');
  await shown.locator('.response-col_status').waitFor();
  return {
    authorization: response.request().headers().authorization,
    status: (await shown.locator('.response-col_status').innerText()).trim(),
    body: await shown.locator('.response-col_description').innerText(),
  };
}

async function authorize(page: Page, username: string, password: string): Promise<void> {
  await page.locator('.scheme-container button.authorize').click();
  const dialog = page.locator('.modal-ux');
  await dialog.locator('input[aria-label="auth-basic-username"]').fill(username);
  await dialog.locator('input[aria-label="auth-basic-password"]').fill(password);
  await dialog.locator('button.authorize[type="submit"]').click();
  // Once accepted the dialog offers Logout instead of Authorize.
  await dialog.locator('button', { hasText: 'Logout' }).waitFor();
  await dialog.locator('button.btn-done').click();
  await dialog.waitFor({ state: 'detached' });
}

test('Swagger UI from our own origin lists every operation of the document', async () => {
  const served = await fetch(`${api.base}/docs`);
  expect(served.headers.get('content-security-policy')).toContain("script-src 'self'");
  const page = await openDocs();
  const doc = (await (await fetch(`${api.base}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
  expect(operations).toBeGreaterThan(20);
  // Every operation of the document is drawn on the way down, each once.
  const drawn = new Set<string>();
  const read = async () => {
    for (const op of await page
      .locator('.opblock')
      .evaluateAll((els) =>
        els.map(
          (el) =>
            `${el.querySelector('.opblock-summary-method')?.textContent} ${el.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
        ),
      ))
      drawn.add(op);
    return drawn.size;
  };
  expect(await scrollThrough(page, read, (n) => n >= operations)).toBe(operations);
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
  );
  expect([...drawn].sort()).toEqual(documented.sort());
  expect(await page.locator('.information-container .title').innerText()).toContain('Fleet upgrade orchestrator');
  // The assets came from the package, through /docs/.
  expect(requested).toEqual(
    expect.arrayContaining([
      expect.stringContaining('/docs/swagger-ui-bundle.js'),
      expect.stringContaining('/docs/swagger-ui.css'),
      `${api.base}/openapi.json`,
    ]),
  );
});

test('without credentials Execute shows 401', async () => {
  const page = await openDocs();
  const operation = await repositoriesOperation(page);
  // "Try it out" is on by default: the operation offers Cancel and Execute at once.
  expect(await operation.locator('.try-out__btn').innerText()).toBe('Cancel');
  const result = await execute(page, operation);
  expect(result.authorization).toBeUndefined();
  expect(result.status).toBe('401');
  expect(result.body).toContain('AUTH_REQUIRED');
});

test('Authorize with Basic credentials, then Execute shows 200 and the repositories', async () => {
  const page = await openDocs();
  await authorize(page, 'admin', SCC_KEYS.admin);
  const result = await execute(page, await repositoriesOperation(page));
  expect(result.authorization).toBe(basicAuth('admin'));
  expect(result.status).toBe('200');
  expect(result.body).toContain('customer');
  expect(result.body).toContain('riverbed');
  // persistAuthorization: the credentials survive loading the page again.
  await page.goto(`${api.base}/docs`);
  await page.locator('.swagger-ui .information-container .title').waitFor();
  expect((await execute(page, await repositoriesOperation(page))).status).toBe('200');
});
