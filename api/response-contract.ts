/**
 * The response-contract check: every answer of a documented route must have a documented status
 * and a body that matches the documented schema of that status (route-docs.ts). On in every API
 * test (and with FLEET_API_CHECK_RESPONSES=true), so the OpenAPI document and the behaviour cannot
 * drift apart; a breach becomes a 500 the test sees, and a log line saying what broke.
 */
import { firstFieldIssue } from '../domain/validation';
import { COMPONENTS, errorStatuses, openApiPath, type ComponentName, type DocumentedRoute } from './route-docs';

/** What is wrong with an answer (status and raw body) of a route, or undefined when it is as documented. */
export function responseProblem(
  url: string,
  route: DocumentedRoute,
  status: number,
  payload: unknown,
): string | undefined {
  const path = openApiPath(url);
  const success = route.doc.status ?? 200;
  // A 500 is a failure of its own (logged with its cause), not a breach of the document.
  if (status !== success && status !== 500 && !errorStatuses(path, route).includes(status))
    return `status ${status} is not documented for this route`;
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
  if (status === 204) return text === '' ? undefined : 'a 204 answer has a body';
  const component: ComponentName | undefined = status === success || !route.error ? route.doc.response : route.error;
  if (!component) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `the body is not JSON (expected ${component})`;
  }
  const parsed = COMPONENTS[component].safeParse(body);
  if (parsed.success) return undefined;
  const { field, message } = firstFieldIssue(parsed.error, { whole: '(root)' });
  return `the body does not match ${component}: ${field}: ${message}`;
}
