/**
 * The dashboard's one way to the API: every request carries the signed-in access id and key as
 * HTTP Basic (kept in sessionStorage, so they last as long as the tab; never in a URL or the
 * page). `credentials: 'omit'`: the browser neither shows its own login prompt for the API's 401
 * nor sends credentials it remembers.
 */
export const SCC = '/api/cmc.upgrades/1.0';

export interface Credentials {
  accessId: string;
  accessKey: string;
}

const STORAGE_KEY = 'fleet-dashboard-credentials';

export function savedCredentials(): Credentials | undefined {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Credentials | null;
    return saved && typeof saved.accessId === 'string' && typeof saved.accessKey === 'string' ? saved : undefined;
  } catch {
    return undefined;
  }
}

export function saveCredentials(credentials: Credentials | undefined): void {
  if (credentials) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** A refusal or failure the API answered: its status and error code, shown as they are. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** UTF-8 safe base64 of `id:key`. */
function basic({ accessId, accessKey }: Credentials): string {
  const bytes = new TextEncoder().encode(`${accessId}:${accessKey}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

export async function request<T>(credentials: Credentials, method: 'GET' | 'POST', path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${SCC}${path}`, {
      method,
      credentials: 'omit',
      cache: 'no-store',
      headers: { authorization: basic(credentials), accept: 'application/json' },
    });
  } catch {
    throw new ApiProblem(0, 'UNREACHABLE', 'the API did not answer');
  }
  const text = await res.text();
  let body: { error_id?: string; error_text?: string } | undefined;
  try {
    body = text ? (JSON.parse(text) as typeof body) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok)
    throw new ApiProblem(res.status, body?.error_id ?? `HTTP_${res.status}`, body?.error_text ?? res.statusText);
  return body as T;
}
