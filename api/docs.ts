/**
 * `/docs`: Swagger UI for `/openapi.json`, served from the `swagger-ui-dist` package on this host
 * (no CDN, so it works offline and behind a firewall), with "Try it out" on by default and the
 * Basic credentials entered in Authorize kept across reloads. The page itself needs no
 * authentication; the API calls made from it carry the credentials. Only a fixed list of the
 * package's files is served, and no inline script, so the page runs under a strict CSP.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The routes registered (the OpenAPI document leaves them out). */
export const DOCS_ROUTES = ['/docs', '/docs/:file'] as const;

interface Asset {
  type: string;
  body: Buffer;
  /** Short content hash: the `?v=` of the page's links, and the ETag. */
  hash: string;
}

/** The package's files that are served, with their content types. */
const PACKAGE_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-16x16.png': 'image/png',
  'favicon-32x32.png': 'image/png',
};

/** Ours: starts Swagger UI on the document (a file, not an inline script, for the CSP). */
const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    tryItOutEnabled: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    validatorUrl: null,
    // The API's 401 carries a Basic challenge; with credentials omitted the browser shows no login
    // prompt of its own (and reuses none): only what is entered in Authorize is sent.
    requestInterceptor: function (request) { request.credentials = 'omit'; return request; },
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout'
  });
});
`;

/** Swagger UI sets inline styles and uses data: images; everything else comes from this origin. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The security headers of every HTML page the API serves (`/docs`, and any later page such as a
 * dashboard: call htmlSecurityHeaders with the page's own CSP). Not framed by any site (CSP
 * frame-ancestors, and X-Frame-Options for browsers without it), no Referer sent from it (URLs
 * may carry ids), a browsing context of its own (no window.opener across origins), no powerful
 * browser feature, no MIME sniffing. HSTS, over HTTPS, is on every answer (api/tls.ts).
 */
export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy':
    'accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()',
  'x-content-type-options': 'nosniff',
};

/** Sets the page's CSP and HTML_SECURITY_HEADERS on the reply. */
export function htmlSecurityHeaders(reply: FastifyReply, csp: string): FastifyReply {
  return reply.header('content-security-policy', csp).headers(HTML_SECURITY_HEADERS);
}

const asset = (type: string, body: Buffer): Asset => ({
  type,
  body,
  hash: createHash('sha256').update(body).digest('hex').slice(0, 16),
});

function loadAssets(): Map<string, Asset> {
  const dir = dirname(require.resolve('swagger-ui-dist/package.json'));
  const assets = new Map(
    Object.entries(PACKAGE_FILES).map(([file, type]) => [file, asset(type, readFileSync(join(dir, file)))]),
  );
  assets.set('docs-init.js', asset('text/javascript; charset=utf-8', Buffer.from(INIT_SCRIPT)));
  return assets;
}

let cachedAssets: Map<string, Asset> | undefined;
let cachedPage: string | undefined;
/** Read once per process, on first use (about 2 MB). */
const assets = (): Map<string, Asset> => (cachedAssets ??= loadAssets());
const docsPage = (): string => (cachedPage ??= page(assets()));

function page(files: Map<string, Asset>): string {
  const href = (file: string): string => `/docs/${file}?v=${files.get(file)?.hash ?? ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Fleet upgrade orchestrator API</title>
<link rel="stylesheet" href="${href('swagger-ui.css')}">
<link rel="stylesheet" href="${href('index.css')}">
<link rel="icon" type="image/png" href="${href('favicon-32x32.png')}" sizes="32x32">
<link rel="icon" type="image/png" href="${href('favicon-16x16.png')}" sizes="16x16">
</head>
<body>
<noscript>This page needs JavaScript; the OpenAPI document itself is <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="${href('swagger-ui-bundle.js')}"></script>
<script src="${href('swagger-ui-standalone-preset.js')}"></script>
<script src="${href('docs-init.js')}"></script>
</body>
</html>
`;
}

async function sendAsset(
  request: FastifyRequest<{ Params: { file: string } }>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const found = assets().get(request.params.file);
  if (!found) {
    reply.callNotFound();
    return reply;
  }
  const etag = `"${found.hash}"`;
  // Links carry the content hash, so a cached copy never goes stale.
  // Its own origin's pages only may load it (cross-origin-resource-policy), never sniffed as another type.
  void reply
    .header('cache-control', 'public, max-age=31536000, immutable')
    .header('etag', etag)
    .header('x-content-type-options', 'nosniff')
    .header('cross-origin-resource-policy', 'same-origin');
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.type(found.type).send(found.body);
}

export async function docsRoutes(app: FastifyInstance): Promise<void> {
  app.get(DOCS_ROUTES[0], async (_request, reply) =>
    htmlSecurityHeaders(reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache'), CSP).send(
      docsPage(),
    ),
  );
  app.get<{ Params: { file: string } }>(DOCS_ROUTES[1], sendAsset);
}
