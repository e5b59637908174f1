/**
 * The fleet dashboard (`/ui`): sign in with an access id and key, then the operations and one
 * operation's page (`#/operations/<kind>/<id>`), read again every POLL_MS. Bundled by
 * api/ui.ts with esbuild; no inline script, so it runs under the page's strict CSP.
 */
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiProblem, request, saveCredentials, savedCredentials, type Credentials } from './api';
import { problemText } from './components';
import { OperationPage } from './operation-page';
import { OperationsPage } from './operations-page';
import { KINDS, type Kind } from './types';

type Route = { page: 'operations' } | { page: 'operation'; kind: Kind; id: string };

function routeOf(hash: string): Route {
  const match = /^#\/operations\/(\w+)\/(\d{1,20})$/.exec(hash);
  if (match && (KINDS as readonly string[]).includes(match[1]!))
    return { page: 'operation', kind: match[1] as Kind, id: match[2]! };
  return { page: 'operations' };
}

function SignIn({ onSignedIn, reason }: { onSignedIn: (credentials: Credentials) => void; reason?: string }) {
  const [problem, setProblem] = useState<string | undefined>(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    // Never a real submission: the key must not reach a URL.
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const accessId = (form.elements.namedItem('access-id') as HTMLInputElement).value.trim();
    const accessKey = (form.elements.namedItem('access-key') as HTMLInputElement).value;
    if (!accessId || !accessKey) return setProblem('Enter an access id and its key.');
    setBusy(true);
    try {
      await request({ accessId, accessKey }, 'GET', '/operations/upgrade?time_lower_bound=253402300799');
      onSignedIn({ accessId, accessKey });
    } catch (err) {
      setProblem(
        err instanceof ApiProblem && err.status === 401
          ? 'Wrong, expired or revoked access id or key.'
          : err instanceof ApiProblem
            ? problemText(err)
            : String(err),
      );
      setBusy(false);
    }
  };
  return html`<form class="sign-in" method="post" onSubmit=${submit} autocomplete="off">
    <h2>Sign in</h2>
    <p class="muted">
      With an API access id and key (<code>fleet keys create</code>). The key is kept in this tab only and sent with
      each request.
    </p>
    <label>Access id <input name="access-id" autocomplete="username" required /></label>
    <label>Access key <input name="access-key" type="password" autocomplete="current-password" required /></label>
    ${problem ? html`<div class="notice refused" role="alert">${problem}</div>` : null}
    <button type="submit" disabled=${busy}>Sign in</button>
  </form>`;
}

function App() {
  const [credentials, setCredentials] = useState<Credentials | undefined>(savedCredentials());
  const [reason, setReason] = useState<string | undefined>(undefined);
  const [route, setRoute] = useState<Route>(routeOf(location.hash));
  useEffect(() => {
    const onHash = (): void => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const signIn = (next: Credentials): void => {
    saveCredentials(next);
    setReason(undefined);
    setCredentials(next);
  };
  const signOut = (why?: string): void => {
    saveCredentials(undefined);
    setReason(why);
    setCredentials(undefined);
  };
  const onUnauthorized = (): void => signOut('The API no longer accepts this access key (401): sign in again.');
  return html`<header class="top">
      <h1><a href="#/">Fleet upgrades</a></h1>
      ${credentials ? html`<span class="who">Signed in as <b data-access-id>${credentials.accessId}</b> <button type="button" class="link" onClick=${() => signOut()}>Sign out</button></span>` : null}
    </header>
    <main>
      ${
        !credentials
          ? html`<${SignIn} onSignedIn=${signIn} reason=${reason} />`
          : route.page === 'operation'
            ? html`<${OperationPage}
                key=${`${route.kind}/${route.id}`}
                kind=${route.kind}
                id=${route.id}
                credentials=${credentials}
                onUnauthorized=${onUnauthorized}
              />`
            : html`<${OperationsPage} credentials=${credentials} onUnauthorized=${onUnauthorized} />`
      }
    </main>`;
}

render(html`<${App} />`, document.getElementById('app')!);
