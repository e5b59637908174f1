/**
 * The OpenAPI 3.1 document of the API, generated from the same zod schemas that validate requests
 * (domain/scc.ts, domain/sumo.ts) and from the routes actually registered, so it cannot list a
 * route that is not served or miss one that is. Served at `/openapi.json`, browsable at `/docs`.
 */
import { z } from 'zod';
import * as scc from '../domain/scc';
import * as sumo from '../domain/sumo';

export interface RegisteredRoute {
  method: string | string[];
  url: string;
}

/** Component schemas by name: every seed object the API reads or answers. */
const COMPONENTS: Record<string, z.ZodType> = {
  appliance: scc.appliance,
  image: scc.image,
  locally_hosted_image: scc.locallyHostedImage,
  locally_hosted_image_upload: scc.locallyHostedImageUpload.extend({ image_definition: scc.imageDefinition }),
  customer_url_hosted_image: scc.customerUrlHostedImage,
  customer_url_hosted_image_register: scc.customerUrlHostedImageRegister.extend({ image_definition: scc.imageDefinition }),
  riverbed_hosted_image: scc.riverbedHostedImage,
  upgradeable_appliances: scc.upgradeableAppliances,
  downgradeable_appliances: scc.downgradeableAppliances,
  rebootable_appliances: scc.rebootableAppliances,
  product_versions: scc.productVersions,
  upgrade_operation_request: scc.upgradeOperationRequest,
  upgrade_operation: scc.upgradeOperation,
  downgrade_operation_request: scc.downgradeOperationRequest,
  downgrade_operation: scc.downgradeOperation,
  reboot_operation_request: scc.rebootOperationRequest,
  reboot_operation: scc.rebootOperation,
  appliance_upgrade_task: scc.applianceUpgradeTask,
  appliance_downgrade_task: scc.applianceDowngradeTask,
  appliance_reboot_task: scc.applianceRebootTask,
  appliance_upgrade_task_state: scc.applianceUpgradeTaskState,
  appliance_downgrade_task_state: scc.applianceDowngradeTaskState,
  appliance_reboot_task_state: scc.applianceRebootTaskState,
  operation_log: scc.operationLog,
  appliance_task_log: scc.applianceTaskLog,
  log_entry: scc.logEntry,
  logging: scc.logging,
  connected_product_codes: scc.connectedProductCodes,
  image_repositories: scc.imageRepositories,
  scc_error: z.object({ error_id: z.string(), error_text: z.string(), field: z.string().optional() }),
  collectors: sumo.upgradableCollectors,
  targets: sumo.targets,
  collector_upgrade_request: sumo.createUpgradeTaskRequest,
  collector_upgrade_created: sumo.createUpgradeTaskResponse,
  collector_upgrade_task: sumo.upgradeTaskResponse,
  sumo_error: sumo.sumoError,
};

interface Doc {
  summary: string;
  request?: string;
  response?: string;
  status?: number;
}

const kindDocs = (kind: 'upgrade' | 'downgrade' | 'reboot'): Record<string, Doc> => ({
  [`GET /operations/${kind}`]: { summary: `${kind} operations (filters username, status, time_lower_bound, time_upper_bound)`, response: `${kind}_operation` },
  [`POST /operations/${kind}`]: { summary: `create a ${kind} operation`, request: `${kind}_operation_request`, response: `${kind}_operation`, status: 201 },
  [`GET /operations/${kind}/{id}`]: { summary: `one ${kind} operation`, response: `${kind}_operation` },
  [`POST /operations/${kind}/{id}/cancel`]: { summary: `cancel the ${kind} operation`, status: 204 },
  [`GET /operations/${kind}/{id}/log`]: { summary: `the ${kind} operation's log`, response: 'operation_log' },
  [`GET /operations/${kind}/{id}/appliances/{serial}`]: { summary: `one appliance's ${kind} task`, response: `appliance_${kind}_task` },
  [`POST /operations/${kind}/{id}/appliances/{serial}/cancel`]: { summary: `cancel one appliance's ${kind} task`, status: 204 },
  [`GET /operations/${kind}/{id}/appliances/{serial}/state`]: { summary: 'task state', response: `appliance_${kind}_task_state` },
  [`PUT /operations/${kind}/{id}/appliances/{serial}/state`]: { summary: 'set the task state (internal_service)', request: `appliance_${kind}_task_state`, response: `appliance_${kind}_task_state` },
  [`GET /operations/${kind}/{id}/appliances/{serial}/log`]: { summary: 'task log', response: 'appliance_task_log' },
  [`POST /operations/${kind}/{id}/appliances/{serial}/log`]: { summary: 'append to the task log (internal_service)', request: 'log_entry', status: 204 },
});

const SCC_DOCS: Record<string, Doc> = {
  ...kindDocs('upgrade'),
  ...kindDocs('downgrade'),
  ...kindDocs('reboot'),
  'GET /images': { summary: 'all images (filter product_code)', response: 'image' },
  'GET /images/{id}': { summary: 'one image', response: 'image' },
  'GET /image_repositories': { summary: 'the image repositories', response: 'image_repositories' },
  'GET /image_repositories/customer/local_images': { summary: 'images uploaded here', response: 'locally_hosted_image' },
  'POST /image_repositories/customer/local_images': { summary: 'upload an image by URL (file URLs too)', request: 'locally_hosted_image_upload', response: 'locally_hosted_image', status: 201 },
  'GET /image_repositories/customer/local_image/{id}': { summary: 'one uploaded image', response: 'locally_hosted_image' },
  'DELETE /image_repositories/customer/local_image/{id}': { summary: 'delete an uploaded image', status: 204 },
  'GET /image_repositories/customer/urls': { summary: 'images at customer URLs', response: 'customer_url_hosted_image' },
  'POST /image_repositories/customer/urls': { summary: 'register an image URL', request: 'customer_url_hosted_image_register', response: 'customer_url_hosted_image', status: 201 },
  'GET /image_repositories/customer/url/{id}': { summary: 'one customer URL image', response: 'customer_url_hosted_image' },
  'DELETE /image_repositories/customer/url/{id}': { summary: 'delete a customer URL image', status: 204 },
  'GET /image_repositories/riverbed/images': { summary: 'Riverbed-hosted images', response: 'riverbed_hosted_image' },
  'GET /image_repositories/riverbed/image/{id}': { summary: 'one Riverbed-hosted image', response: 'riverbed_hosted_image' },
  'GET /connected_product_codes': { summary: 'product codes of connected appliances', response: 'connected_product_codes' },
  'GET /appliances/{product_code}': { summary: 'appliances of a product code', response: 'appliance' },
  'GET /appliances/{product_code}/{serial}': { summary: 'one appliance', response: 'appliance' },
  'GET /upgradeable_appliances/{product_code}/{version_id}': { summary: 'upgrade eligibility', response: 'upgradeable_appliances' },
  'GET /downgradeable_appliances/{product_code}/{version_id}': { summary: 'downgrade eligibility', response: 'downgradeable_appliances' },
  'GET /rebootable_appliances/{product_code}': { summary: 'reboot eligibility', response: 'rebootable_appliances' },
  'GET /versions/upgradeable/{product_code}': { summary: 'upgradeable versions', response: 'product_versions' },
  'GET /versions/downgradeable/{product_code}': { summary: 'downgradeable versions', response: 'product_versions' },
  'GET /logging': { summary: 'the service logging parameters: level and any extension properties, as last set', response: 'logging' },
  'PUT /logging': { summary: 'set the service logging level (applied at once) and any extension properties (kept as sent)', request: 'logging', response: 'logging' },
};

const SUMO_DOCS: Record<string, Doc> = {
  'GET /collectors/upgrades/collectors': { summary: 'upgradable collectors (toVersion, offset, limit)', response: 'collectors' },
  'GET /collectors/upgrades/targets': { summary: 'available collector builds', response: 'targets' },
  'GET /collectors/upgrades/{upgradeTaskID}': { summary: 'an upgrade task', response: 'collector_upgrade_task' },
  'POST /collectors/upgrades': { summary: 'create an upgrade or downgrade task', request: 'collector_upgrade_request', response: 'collector_upgrade_created', status: 202 },
};

const PREFIXES: [RegExp, Record<string, Doc>, string][] = [
  [/^\/api\/cmcc?\.upgrades\/1\.0/, SCC_DOCS, 'scc_error'],
  [/^\/api\/v1/, SUMO_DOCS, 'sumo_error'],
];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const openApiPath = (url: string): string => url.replace(/:([A-Za-z_]+)/g, '{$1}');

export function buildOpenApi(routes: readonly RegisteredRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.url);
    if (path === '/openapi.json' || path === '/docs' || path.endsWith('*')) continue;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      const matched = PREFIXES.find(([prefix]) => prefix.test(path));
      const doc = matched ? matched[1][`${method} ${path.replace(matched[0], '')}`] : undefined;
      const status = String(doc?.status ?? 200);
      const params = [...path.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      paths[path] = {
        ...paths[path],
        [method.toLowerCase()]: {
          summary: doc?.summary ?? (path === '/health' ? 'health: ok while Temporal answers' : path),
          ...(params.length ? { parameters: params } : {}),
          ...(doc?.request ? { requestBody: { required: true, content: { 'application/json': { schema: ref(doc.request) } } } } : {}),
          ...(matched ? {} : { security: [] }),
          responses: {
            [status]: status === '204' ? { description: 'done' } : { description: 'success', ...(doc?.response ? { content: { 'application/json': { schema: ref(doc.response) } } } : {}) },
            ...(matched ? { '4XX': { description: 'error', content: { 'application/json': { schema: ref(matched[2]) } } } } : {}),
          },
        },
      };
    }
  }
  const schemas = Object.fromEntries(Object.entries(COMPONENTS).map(([name, schema]) => {
    const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    return [name, json];
  }));
  return {
    openapi: '3.1.0',
    info: { title: 'Fleet upgrade orchestrator: SCC cmc.upgrades 1.0 and Sumo Logic collector upgrades v1', version: '1.0' },
    components: { schemas, securitySchemes: { basic: { type: 'http', scheme: 'basic' } } },
    security: [{ basic: [] }],
    paths,
  };
}

/** A small self-contained page that lists the document's routes and schemas (no CDN needed). */
export const DOCS_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Fleet API</title>
<style>body{font:14px system-ui;margin:2em}details{margin:.3em 0}code{background:#eee;padding:0 .3em}pre{background:#f6f6f6;padding:.5em;overflow:auto}</style></head>
<body><h1>Fleet upgrade orchestrator API</h1><p>From <a href="/openapi.json">/openapi.json</a>. HTTP Basic authentication.</p><div id="paths"></div><h2>Schemas</h2><div id="schemas"></div>
<script>
fetch('/openapi.json').then(r=>r.json()).then(doc=>{
  const esc=s=>String(s).replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
  const paths=document.getElementById('paths');
  for(const [p,ops] of Object.entries(doc.paths)) for(const [m,op] of Object.entries(ops)){
    const d=document.createElement('details');
    d.innerHTML='<summary><code>'+m.toUpperCase()+'</code> '+esc(p)+' — '+esc(op.summary)+'</summary><pre>'+esc(JSON.stringify(op,null,2))+'</pre>';
    paths.appendChild(d);}
  const schemas=document.getElementById('schemas');
  for(const [n,s] of Object.entries(doc.components.schemas)){
    const d=document.createElement('details');
    d.innerHTML='<summary>'+esc(n)+'</summary><pre>'+esc(JSON.stringify(s,null,2))+'</pre>';
    schemas.appendChild(d);}
});
</script></body></html>`;
