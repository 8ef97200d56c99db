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
// index.html's "Loading Parley…" is not Preact's: render() keeps it beside what it renders.
const bootMessage = root.querySelector('.boot');
const show = (vnode: Parameters<typeof render>[0]) => {
  bootMessage?.remove();
  render(vnode, root);
};

function fatal(title: string, message: string): void {
  show(
    <main class="page">
      <h1>{title}</h1>
      <p role="alert" class="error">
        {message}
      </p>
      <button type="button" onClick={() => location.reload()}>
        Try again
      </button>
    </main>,
  );
}

async function boot(): Promise<void> {
  const config = await loadConfig();
  const auth = new Auth(config);
  const user = await auth.init();
  if (!user) {
    show(
      <main class="page">
        <p>Redirecting to sign in…</p>
      </main>,
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
  show(
    <AppContext.Provider value={services}>
      <App />
    </AppContext.Provider>,
  );
}

boot().catch((error: unknown) => {
  fatal('Parley could not start', error instanceof Error ? error.message : String(error));
});
