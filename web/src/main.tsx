/**
 * Boot: config → sign-in → one realtime connection for the whole app → render.
 */
import { render } from 'preact';
import { ParleyClient } from '../../core/realtime/client';
import { Api } from './api';
import { AppContext } from './app-context';
import { Auth } from './auth';
import { App } from './components/App';
import { openStores } from './components/MeetingPage';
import { loadConfig } from './runtime-config';
import './styles.css';

const root = document.getElementById('app') as HTMLElement;
/** index.html's "Loading Parley…": Preact renders beside children it did not make, so remove it. */
const clearBoot = () => root.querySelector(':scope > .boot')?.remove();

function fatal(title: string, message: string): void {
  clearBoot();
  render(
    <main class="page">
      <h1>{title}</h1>
      <p role="alert" class="error">
        {message}
      </p>
      <button type="button" onClick={() => location.reload()}>
        Try again
      </button>
    </main>,
    root,
  );
}

async function boot(): Promise<void> {
  const config = await loadConfig();
  const auth = new Auth(config);
  const user = await auth.init();
  clearBoot();
  if (!user) {
    render(
      <main class="page">
        <p>Redirecting to sign in…</p>
      </main>,
      root,
    );
    await auth.signIn();
    return;
  }
  const api = new Api(config.restUrl, auth);
  const client = new ParleyClient({
    url: config.wsUrl,
    token: () => auth.accessToken(),
    maxBackoffMs: 10_000,
  });
  client.connect();
  if (sessionStorage.getItem('parleyTestHooks') === '1') {
    (window as unknown as { parleyTestHooks: unknown }).parleyTestHooks = { client, stores: openStores };
  }
  const services = { config, auth, api, client, userId: user.profile.sub };
  render(
    <AppContext.Provider value={services}>
      <App />
    </AppContext.Provider>,
    root,
  );
}

boot().catch((error: unknown) => {
  fatal('Parley could not start', error instanceof Error ? error.message : String(error));
});
