/**
 * What each route of the API takes and answers: its summary, path parameters, query, request and
 * response components, success status and every error status it can answer. One table serves the
 * OpenAPI document (openapi.ts), the path parameter check and the response-contract check
 * (response-contract.ts), so the document and the behaviour cannot drift apart.
 */
import { z } from 'zod';
import { OPERATION_ID_PATTERN } from '../client/operations';
import * as scc from '../domain/scc';
import * as sumo from '../domain/sumo';
import * as access from '../domain/access';
import type { OperationKind } from '../domain/operation';
import { approvalDecisionAnswer } from '../domain/operation-schemas';
import type { Permission } from './auth';

/** Component schemas by name: every seed object the API reads or answers. Each schema object once. */
export const COMPONENTS = {
  appliance: scc.appliance,
  appliances: scc.appliances,
  image: scc.image,
  images: scc.images,
  locally_hosted_image: scc.locallyHostedImage,
  locally_hosted_images: scc.locallyHostedImages,
  locally_hosted_image_upload: scc.locallyHostedImageUpload,
  customer_url_hosted_image: scc.customerUrlHostedImage,
  customer_url_hosted_images: scc.customerUrlHostedImages,
  customer_url_hosted_image_register: scc.customerUrlHostedImageRegister,
  riverbed_hosted_image: scc.riverbedHostedImage,
  riverbed_hosted_images: scc.riverbedHostedImages,
  image_repositories: scc.imageRepositories,
  upgradeable_appliances: scc.upgradeableAppliances,
  downgradeable_appliances: scc.downgradeableAppliances,
  rebootable_appliances: scc.rebootableAppliances,
  product_versions: scc.productVersions,
  upgrade_operation_request: scc.upgradeOperationRequest,
  upgrade_operation: scc.upgradeOperation,
  upgrade_operations: scc.upgradeOperations,
  downgrade_operation_request: scc.downgradeOperationRequest,
  downgrade_operation: scc.downgradeOperation,
  downgrade_operations: scc.downgradeOperations,
  reboot_operation_request: scc.rebootOperationRequest,
  reboot_operation: scc.rebootOperation,
  reboot_operations: scc.rebootOperations,
  appliance_upgrade_task: scc.applianceUpgradeTask,
  appliance_downgrade_task: scc.applianceDowngradeTask,
  appliance_reboot_task: scc.applianceRebootTask,
  appliance_upgrade_task_state: scc.applianceUpgradeTaskState,
  appliance_downgrade_task_state: scc.applianceDowngradeTaskState,
  appliance_reboot_task_state: scc.applianceRebootTaskState,
  appliance_upgrade_task_state_set: scc.applianceUpgradeTaskStateSetRequest,
  appliance_downgrade_task_state_set: scc.applianceDowngradeTaskStateSetRequest,
  appliance_reboot_task_state_set: scc.applianceRebootTaskStateSetRequest,
  appliance_task_page: scc.applianceTaskPage,
  operation_log: scc.operationLog,
  appliance_task_log: scc.applianceTaskLog,
  log_entry: scc.logEntry,
  logging: scc.logging,
  connected_product_codes: scc.connectedProductCodes,
  approval_decision: approvalDecisionAnswer,
  scc_error: z.object({ error_id: z.string(), error_text: z.string(), field: z.string().optional() }),
  health: z.object({
    status: z
      .enum(['ready', 'starting', 'degraded'])
      .meta({ description: 'ready: Temporal answers and the catalog and inventory are loaded' }),
    temporal: z.enum(['ok', 'unreachable']),
    catalog: z.enum(['loaded', 'loading']).optional(),
    inventory: z.enum(['loaded', 'loading']).optional(),
  }),
  collectors: sumo.upgradableCollectors,
  targets: sumo.targets,
  collector_upgrade_request: sumo.createUpgradeTaskRequest,
  collector_upgrade_created: sumo.createUpgradeTaskResponse,
  collector_upgrade_task: sumo.upgradeTaskResponse,
  sumo_error: sumo.sumoError,
  access_key: access.accessKey,
  access_keys: access.accessKeys,
  access_key_create: access.accessKeyCreateRequest,
  access_key_created: access.accessKeyCreated,
  audit_entry: access.auditEntry,
  audit_entries: access.auditEntries,
} satisfies Record<string, z.ZodType>;
export type ComponentName = keyof typeof COMPONENTS;

export interface RouteDoc {
  summary: string;
  /** What the caller must hold beyond reading (403 otherwise). */
  permission?: Exclude<Permission, 'read'>;
  /** Path parameters whose schema is not the API's usual one for that name (PATH_PARAMETERS). */
  params?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  request?: ComponentName;
  response?: ComponentName;
  /** Success status (default 200; 204 answers no body). */
  status?: number;
  /** Error statuses beyond those that follow from the route's inputs (see errorStatuses). */
  errors?: number[];
  /** OpenAPI links of the success answer: a route of the same API (`GET /x/{id}`) and where its parameters come from. */
  links?: Record<string, { route: string; parameters: Record<string, string> }>;
}

const operationId = z.string().regex(OPERATION_ID_PATTERN, 'must be an operation id (1 to 20 digits)');
const imageId = scc.text().min(1);

/** Path parameters by name, as every route that has them takes them. */
const PATH_PARAMETERS: Record<string, z.ZodType> = {
  id: operationId,
  serial: scc.serial,
  product_code: scc.productCode,
  version_id: scc.text().min(1),
  upgradeTaskID: scc.text(40).min(1),
  access_id: access.accessId,
};

/** A kind's operations: list, create, read (and, below, what steers them and their appliance tasks). */
const operationDocs = (kind: OperationKind): Record<string, RouteDoc> => ({
  [`GET /operations/${kind}`]: {
    summary: `${kind} operations, oldest first`,
    query: scc.operationsQuery,
    response: `${kind}_operations`,
  },
  [`POST /operations/${kind}`]: {
    summary: `create a ${kind} operation`,
    permission: 'operate',
    request: `${kind}_operation_request`,
    response: `${kind}_operation`,
    status: 201,
    links: {
      operation: { route: `GET /operations/${kind}/{id}`, parameters: { id: '$response.body#/id' } },
      log: { route: `GET /operations/${kind}/{id}/log`, parameters: { id: '$response.body#/id' } },
      cancel: { route: `POST /operations/${kind}/{id}/cancel`, parameters: { id: '$response.body#/id' } },
      first_task: {
        route: `GET /operations/${kind}/{id}/appliances/{serial}`,
        parameters: { id: '$response.body#/id', serial: '$response.body#/appliances/0' },
      },
      first_task_state: {
        route: `GET /operations/${kind}/{id}/appliances/{serial}/state`,
        parameters: { id: '$response.body#/id', serial: '$response.body#/appliances/0' },
      },
    },
  },
  [`GET /operations/${kind}/{id}`]: { summary: `one ${kind} operation`, response: `${kind}_operation` },
});

/** What steers an operation of a kind: cancel, approval, retry, pause and resume; and its log. */
const operationControlDocs = (kind: OperationKind): Record<string, RouteDoc> => ({
  [`POST /operations/${kind}/{id}/cancel`]: {
    summary: `cancel the ${kind} operation (409 when it has already finished)`,
    permission: 'operate',
    status: 204,
    errors: [409],
  },
  [`POST /operations/${kind}/{id}/approve`]: {
    summary: `approve the ${kind} operation's next wave (rollout.approval; 409 when it is not awaiting approval or has finished)`,
    permission: 'operate',
    response: 'approval_decision',
    errors: [409],
  },
  [`POST /operations/${kind}/{id}/reject`]: {
    summary: `reject the ${kind} operation's next wave: the rollout stops, tasks not started end cancelled (409 when it is not awaiting approval or has finished)`,
    permission: 'operate',
    response: 'approval_decision',
    errors: [409],
  },
  [`POST /operations/${kind}/{id}/retry`]: {
    summary: `a new ${kind} operation over the appliances whose tasks did not succeed, with the same request (retry_of / retried_by); 409 when it has not finished, had no failures or was retried already`,
    permission: 'operate',
    response: `${kind}_operation`,
    status: 201,
    errors: [409],
    links: { operation: { route: `GET /operations/${kind}/{id}`, parameters: { id: '$response.body#/id' } } },
  },
  [`GET /operations/${kind}/{id}/log`]: { summary: `the ${kind} operation's log`, response: 'operation_log' },
  [`POST /operations/${kind}/{id}/pause`]: {
    summary: `extension: pause the ${kind} operation, no new appliance task starts until resumed, running ones go on (409 when it has already finished)`,
    permission: 'operate',
    status: 204,
    errors: [409],
  },
  [`POST /operations/${kind}/{id}/resume`]: {
    summary: `extension: resume the paused ${kind} operation (409 when it has already finished)`,
    permission: 'operate',
    status: 204,
    errors: [409],
  },
});

/** A kind's appliance tasks: a page of them, one task, its cancel, state and log. */
const taskDocs = (kind: OperationKind): Record<string, RouteDoc> => ({
  [`GET /operations/${kind}/{id}/appliances`]: {
    summary: `extension: the ${kind} operation's appliance tasks a page at a time (by serial; filters status, stage, part of a serial), with the counts of all its tasks by status and stage`,
    query: scc.applianceTasksQuery,
    response: 'appliance_task_page',
  },
  [`GET /operations/${kind}/{id}/appliances/{serial}`]: {
    summary: `one appliance's ${kind} task`,
    response: `appliance_${kind}_task`,
  },
  [`POST /operations/${kind}/{id}/appliances/{serial}/cancel`]: {
    summary: `cancel one appliance's ${kind} task (409 when it has already finished)`,
    permission: 'operate',
    status: 204,
    errors: [409],
  },
  [`GET /operations/${kind}/{id}/appliances/{serial}/state`]: {
    summary: 'task state',
    response: `appliance_${kind}_task_state`,
  },
  [`PUT /operations/${kind}/{id}/appliances/{serial}/state`]: {
    summary: 'set the task state (internal_service)',
    permission: 'internal',
    request: `appliance_${kind}_task_state_set`,
    response: `appliance_${kind}_task_state`,
  },
  [`GET /operations/${kind}/{id}/appliances/{serial}/log`]: { summary: 'task log', response: 'appliance_task_log' },
  [`POST /operations/${kind}/{id}/appliances/{serial}/log`]: {
    summary: 'append to the task log (internal_service)',
    permission: 'internal',
    request: 'log_entry',
    status: 204,
  },
});

const kindDocs = (kind: OperationKind): Record<string, RouteDoc> => ({
  ...operationDocs(kind),
  ...operationControlDocs(kind),
  ...taskDocs(kind),
});

const image = { params: { id: imageId } };

export const SCC_ROUTES: Record<string, RouteDoc> = {
  ...kindDocs('upgrade'),
  ...kindDocs('downgrade'),
  ...kindDocs('reboot'),
  'GET /images': {
    summary: 'every image, one per image definition, with every source it is available from',
    query: scc.imagesQuery,
    response: 'images',
  },
  'GET /images/{id}': { summary: 'one image', ...image, response: 'image' },
  'GET /image_repositories': { summary: 'the image repositories', response: 'image_repositories' },
  'GET /image_repositories/customer/local_images': {
    summary: 'images uploaded here',
    response: 'locally_hosted_images',
  },
  'POST /image_repositories/customer/local_images': {
    summary: 'upload an image by URL (file URLs too); its definition is read from the image',
    permission: 'operate',
    request: 'locally_hosted_image_upload',
    response: 'locally_hosted_image',
    status: 201,
    errors: [409],
    links: {
      image: { route: 'GET /image_repositories/customer/local_image/{id}', parameters: { id: '$response.body#/id' } },
    },
  },
  'GET /image_repositories/customer/local_image/{id}': {
    summary: 'one uploaded image',
    ...image,
    response: 'locally_hosted_image',
  },
  'DELETE /image_repositories/customer/local_image/{id}': {
    summary: 'delete an uploaded image',
    ...image,
    permission: 'operate',
    status: 204,
  },
  'GET /image_repositories/customer/urls': {
    summary: 'images at customer URLs',
    response: 'customer_url_hosted_images',
  },
  'POST /image_repositories/customer/urls': {
    summary: 'register an image URL; its definition is read from the image',
    permission: 'operate',
    request: 'customer_url_hosted_image_register',
    response: 'customer_url_hosted_image',
    status: 201,
    errors: [409],
    links: { image: { route: 'GET /image_repositories/customer/url/{id}', parameters: { id: '$response.body#/id' } } },
  },
  'GET /image_repositories/customer/url/{id}': {
    summary: 'one customer URL image',
    ...image,
    response: 'customer_url_hosted_image',
  },
  'DELETE /image_repositories/customer/url/{id}': {
    summary: 'delete a customer URL image',
    ...image,
    permission: 'operate',
    status: 204,
  },
  'GET /image_repositories/riverbed/images': { summary: 'Riverbed-hosted images', response: 'riverbed_hosted_images' },
  'GET /image_repositories/riverbed/image/{id}': {
    summary: 'one Riverbed-hosted image',
    ...image,
    response: 'riverbed_hosted_image',
  },
  'GET /connected_product_codes': {
    summary: 'product codes of connected appliances',
    response: 'connected_product_codes',
  },
  'GET /appliances/{product_code}': {
    summary: 'appliances of a product code, optionally of one group',
    query: scc.appliancesQuery,
    response: 'appliances',
  },
  'GET /appliances/{product_code}/{serial}': { summary: 'one appliance', response: 'appliance' },
  'GET /upgradeable_appliances/{product_code}/{version_id}': {
    summary: 'upgrade eligibility',
    response: 'upgradeable_appliances',
  },
  'GET /downgradeable_appliances/{product_code}/{version_id}': {
    summary: 'downgrade eligibility',
    response: 'downgradeable_appliances',
  },
  'GET /rebootable_appliances/{product_code}': { summary: 'reboot eligibility', response: 'rebootable_appliances' },
  'GET /versions/upgradeable/{product_code}': { summary: 'upgradeable versions', response: 'product_versions' },
  'GET /versions/downgradeable/{product_code}': { summary: 'downgradeable versions', response: 'product_versions' },
  'GET /logging': {
    summary: 'the service logging parameters: level and any extension properties, as last set',
    response: 'logging',
  },
  'PUT /logging': {
    summary: 'set the service logging level (applied at once) and any extension properties (kept as sent)',
    permission: 'operate',
    request: 'logging',
    response: 'logging',
  },
};

export const SUMO_ROUTES: Record<string, RouteDoc> = {
  'GET /collectors/upgrades/collectors': {
    summary: 'upgradable collectors (toVersion, offset, limit)',
    query: sumo.upgradableCollectorsQuery,
    response: 'collectors',
  },
  'GET /collectors/upgrades/targets': { summary: 'available collector builds', response: 'targets' },
  'GET /collectors/upgrades/{upgradeTaskID}': {
    summary: 'an upgrade task (404 for an id that names no task)',
    response: 'collector_upgrade_task',
  },
  'POST /collectors/upgrades': {
    summary: 'create an upgrade or downgrade task',
    permission: 'operate',
    request: 'collector_upgrade_request',
    response: 'collector_upgrade_created',
    status: 202,
    links: {
      task: { route: 'GET /collectors/upgrades/{upgradeTaskID}', parameters: { upgradeTaskID: '$response.body#/id' } },
    },
  },
};

/** The service's own extension API: access keys and the audit trail, admin only. */
export const ADMIN_ROUTES: Record<string, RouteDoc> = {
  'GET /access_keys': {
    summary: 'every access key: id, role, status, created, last used, expiry (never the key)',
    permission: 'manage',
    response: 'access_keys',
  },
  'POST /access_keys': {
    summary: 'create an access key; the answer shows the key, once',
    permission: 'manage',
    request: 'access_key_create',
    response: 'access_key_created',
    status: 201,
    errors: [409],
  },
  'DELETE /access_keys/{access_id}': {
    summary: 'revoke an access key: refused from the next request on, in every API process',
    permission: 'manage',
    status: 204,
  },
  'POST /access_keys/{access_id}/rotate': {
    summary: 'a new key for the access id (the old one stops working); shown once',
    permission: 'manage',
    response: 'access_key_created',
  },
  'GET /audit': {
    summary: 'the audit trail: every change and refused attempt, who, when, from where',
    permission: 'manage',
    query: access.auditQuery,
    response: 'audit_entries',
  },
};

export interface ApiPart {
  prefix: RegExp;
  routes: Record<string, RouteDoc>;
  error: ComponentName;
  /** Statuses every route of the part may answer whatever its inputs (Sumo: 415 for any non-JSON Content-Type). */
  always: number[];
}

export const API_PARTS: ApiPart[] = [
  // 429: too many failed authentications from the client or for the access id (api/auth.ts).
  { prefix: /^\/api\/cmcc?\.upgrades\/1\.0/, routes: SCC_ROUTES, error: 'scc_error', always: [401, 429] },
  { prefix: /^\/api\/v1/, routes: SUMO_ROUTES, error: 'sumo_error', always: [401, 415, 429] },
  { prefix: /^\/api\/fleet\/1\.0/, routes: ADMIN_ROUTES, error: 'scc_error', always: [401, 429] },
];

/** Routes outside the two APIs that the document lists. */
export const SERVICE_ROUTES: Record<string, RouteDoc> = {
  'GET /health': {
    summary: 'readiness: ready once Temporal answers and the catalog and inventory are loaded (503 until then)',
    response: 'health',
    errors: [503],
  },
};

/** `/a/:b` (Fastify) → `/a/{b}` (OpenAPI). */
export const openApiPath = (url: string): string => url.replace(/:([A-Za-z_]+)/g, '{$1}');

export const pathParameterNames = (path: string): string[] => [...path.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => m[1]!);

export interface DocumentedRoute {
  method: string;
  /** The path prefix of the route's API as served (`/api/cmcc.upgrades/1.0`), '' outside the two APIs. */
  prefix: string;
  doc: RouteDoc;
  /** Component of the error body; undefined outside the two APIs. */
  error?: ComponentName;
  always: number[];
}

/** The doc of a route as Fastify registered it (`GET`, `/api/cmc.upgrades/1.0/images/:id`). */
export function documentedRoute(method: string, url: string): DocumentedRoute | undefined {
  // Looked up by several hooks of every request, for the few routes there are: found once each.
  const key = `${method} ${url}`;
  if (!found.has(key)) found.set(key, findDocumentedRoute(method, url));
  return found.get(key);
}

const found = new Map<string, DocumentedRoute | undefined>();

function findDocumentedRoute(method: string, url: string): DocumentedRoute | undefined {
  const path = openApiPath(url);
  const part = API_PARTS.find((p) => p.prefix.test(path));
  if (!part) {
    const doc = SERVICE_ROUTES[`${method} ${path}`];
    return doc ? { method, prefix: '', doc, always: [] } : undefined;
  }
  const prefix = part.prefix.exec(path)![0];
  const doc = part.routes[`${method} ${path.slice(prefix.length)}`];
  return doc ? { method, prefix, doc, error: part.error, always: part.always } : undefined;
}

const SPELLING: Record<string, string> = {
  '/api/cmcc.upgrades/1.0': 'cmcc_',
  '/api/v1': 'sumo_',
  '/api/fleet/1.0': 'fleet_',
};
const capital = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

/**
 * A route's OpenAPI operationId, unique across both SCC spellings: `getOperationsUpgradeByIdLog`,
 * `cmcc_getOperationsUpgradeByIdLog`, `sumo_postCollectorsUpgrades`.
 */
export function operationIdOf(method: string, prefix: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment)?.[1];
      return param
        ? `By${capital(param.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase()))}`
        : segment
            .split(/[^A-Za-z0-9]+/)
            .map(capital)
            .join('');
    });
  return `${SPELLING[prefix] ?? ''}${method.toLowerCase()}${words.join('')}`;
}

/** The schema of each path parameter of a route. */
export function pathParameters(path: string, doc: RouteDoc): Record<string, z.ZodType> {
  return Object.fromEntries(
    pathParameterNames(path).map((name) => [name, doc.params?.[name] ?? PATH_PARAMETERS[name] ?? scc.text()]),
  );
}

/** Every error status a route can answer. */
export function errorStatuses(path: string, { method, doc, always }: DocumentedRoute): number[] {
  const statuses = new Set<number>(always);
  const hasParams = pathParameterNames(path).length > 0;
  if (doc.permission) statuses.add(403);
  if (hasParams || doc.query || doc.request) statuses.add(400);
  if (hasParams) statuses.add(404);
  // A body is read on every method but GET, wanted or not: one too large or not JSON is refused.
  if (doc.request || method !== 'GET') [413, 415].forEach((s) => statuses.add(s));
  for (const status of doc.errors ?? []) statuses.add(status);
  return [...statuses].sort((a, b) => a - b);
}
