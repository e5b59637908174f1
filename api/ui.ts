/**
 * `/ui`: the fleet dashboard (ui/), bundled from its sources and npm packages (preact, htm) with
 * esbuild inside the API process, once, on first use (api/main.ts asks for it at start), so a
 * fresh clone's `npm start` serves it with no build step and nothing comes from a CDN. The page
 * and its two assets need no authentication and hold no data; everything the page shows comes
 * from the API with the access id and key the user signs in with (ui/api.ts), so the same roles
 * apply. No inline script or style: the page runs under a strict CSP.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { htmlSecurityHeaders } from './docs';
import { notFound } from './errors';

/** The routes registered (outside /api/, so the OpenAPI document leaves them out). */
export const UI_ROUTES = ['/ui', '/ui/:file'] as const;

const UI_DIR = join(__dirname, '..', 'ui');

/** Only this origin's script and styles (none inline); requests only to this origin; no form posts anywhere. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  type: string;
  body: Buffer;
  /** Short content hash: the `?v=` of the page's links, and the ETag. */
  hash: string;
}

const asset = (type: string, body: Buffer): Asset => ({
  type,
  body,
  hash: createHash('sha256').update(body).digest('hex').slice(0, 16),
});

/** ui/main.ts and what it imports, as one minified script for the browsers of the last few years. */
async function bundle(): Promise<Buffer> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(UI_DIR, 'main.ts')],
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    legalComments: 'none',
    logLevel: 'silent',
    tsconfig: join(UI_DIR, 'tsconfig.json'),
  });
  return Buffer.from(result.outputFiles[0]!.contents);
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const [script, style] = await Promise.all([bundle(), readFile(join(UI_DIR, 'style.css'))]);
  return new Map([
    ['app.js', asset('text/javascript; charset=utf-8', script)],
    ['app.css', asset('text/css; charset=utf-8', style)],
  ]);
}

let building: Promise<Map<string, Asset>> | undefined;

/** The dashboard's assets, built once per process (a failed build is tried again on the next request). */
export function dashboardAssets(): Promise<Map<string, Asset>> {
  building ??= loadAssets().catch((err: unknown) => {
    building = undefined;
    throw err;
  });
  return building;
}

function page(files: Map<string, Asset>): string {
  const href = (file: string): string => `/ui/${file}?v=${files.get(file)?.hash ?? ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fleet upgrades</title>
<link rel="stylesheet" href="${href('app.css')}">
<link rel="icon" href="data:,">
</head>
<body>
<noscript>The dashboard needs JavaScript; the API itself is described at <a href="/docs">/docs</a>.</noscript>
<div id="app"></div>
<script src="${href('app.js')}"></script>
</body>
</html>
`;
}

async function sendAsset(
  request: FastifyRequest<{ Params: { file: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  if (request.params.file === '') return reply.redirect('/ui');
  const found = (await dashboardAssets()).get(request.params.file);
  if (!found) throw notFound(`dashboard file ${request.params.file}`);
  const etag = `"${found.hash}"`;
  // Links carry the content hash, so a cached copy never goes stale.
  void reply
    .header('cache-control', 'public, max-age=31536000, immutable')
    .header('etag', etag)
    .header('x-content-type-options', 'nosniff')
    .header('cross-origin-resource-policy', 'same-origin');
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.type(found.type).send(found.body);
}

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  app.get(UI_ROUTES[0], async (_request, reply) =>
    htmlSecurityHeaders(reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache'), CSP).send(
      page(await dashboardAssets()),
    ),
  );
  app.get<{ Params: { file: string } }>(UI_ROUTES[1], sendAsset);
}
