/**
 * The OpenAPI 3.1 document of the API, generated from the zod schemas that validate requests and
 * answers (domain/scc.ts, domain/sumo.ts) through the route table (route-docs.ts), for the routes
 * actually registered: it cannot list a route that is not served or miss one that is. Served at
 * `/openapi.json`, browsable at `/docs`.
 */
import { z } from 'zod';
import {
  COMPONENTS,
  documentedRoute,
  errorStatuses,
  openApiPath,
  operationIdOf,
  pathParameters,
  type ComponentName,
  type DocumentedRoute,
} from './route-docs';

export interface RegisteredRoute {
  method: string | string[];
  url: string;
}

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: ComponentName) => ({ content: { 'application/json': { schema: ref(name) } } });

/** A schema on its own (a parameter's), without the JSON Schema dialect line. */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** Every component, each referring to the others by `$ref`. */
function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => [id, schema]),
  );
}

function parameters(path: string, { doc }: DocumentedRoute): Record<string, unknown>[] {
  const inPath = Object.entries(pathParameters(path, doc)).map(([name, schema]) => ({
    name,
    in: 'path',
    required: true,
    schema: jsonSchema(schema),
  }));
  const inQuery = Object.entries(doc.query?.shape ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: false,
    schema: jsonSchema(schema as z.ZodType),
  }));
  return [...inPath, ...inQuery];
}

function responses(path: string, route: DocumentedRoute): Record<string, unknown> {
  const { doc, error } = route;
  const status = doc.status ?? 200;
  const answers: Record<string, unknown> = {
    [status]: {
      description: status === 204 ? 'done, no body' : 'success',
      ...(doc.response && status !== 204 ? json(doc.response) : {}),
      ...links(route),
    },
  };
  for (const code of errorStatuses(path, route)) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it; the rule's view of the type differs
    const body = error ?? (doc.response as ComponentName);
    answers[code] = { description: code === 503 ? 'not ready' : 'error', ...json(body) };
  }
  return answers;
}

/** Where a success answer leads (the seed's links), by operationId under the same spelling. */
function links({ prefix, doc }: DocumentedRoute): Record<string, unknown> {
  if (!doc.links) return {};
  const entries = Object.entries(doc.links).map(([name, { route, parameters }]) => {
    const [method, path] = route.split(' ') as [string, string];
    return [name, { operationId: operationIdOf(method, prefix, path), parameters }];
  });
  return { links: Object.fromEntries(entries) };
}

function operation(path: string, route: DocumentedRoute): Record<string, unknown> {
  const params = parameters(path, route);
  return {
    operationId: operationIdOf(route.method, route.prefix, path.slice(route.prefix.length)),
    summary: route.doc.summary,
    ...(params.length ? { parameters: params } : {}),
    ...(route.doc.request ? { requestBody: { required: true, ...json(route.doc.request) } } : {}),
    ...(route.error ? {} : { security: [] }),
    responses: responses(path, route),
  };
}

/** The methods served at a concrete path (for 405's `Allow`), from the routes as registered. */
export function allowedMethods(routes: readonly RegisteredRoute[]): (path: string) => string[] {
  let compiled: { pattern: RegExp; methods: string[] }[] | undefined;
  return (path) => {
    // Compiled at the first 405, when every route is registered.
    compiled ??= routes.map((route) => ({
      pattern: new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+')}$`),
      methods: [route.method].flat(),
    }));
    return [...new Set(compiled.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods))].sort();
  };
}

export function buildOpenApi(routes: readonly RegisteredRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    for (const method of [route.method].flat()) {
      const documented = documentedRoute(method, route.url);
      if (!documented) continue;
      const path = openApiPath(route.url);
      paths[path] = { ...paths[path], [method.toLowerCase()]: operation(path, documented) };
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fleet upgrade orchestrator: SCC cmc.upgrades 1.0 and Sumo Logic collector upgrades v1',
      version: '1.0',
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: { basic: { type: 'http', scheme: 'basic', description: 'an access id and its access key' } },
    },
    security: [{ basic: [] }],
    paths,
  };
}
