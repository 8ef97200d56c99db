/** Local mode's web console server: static files, SPA fallback, /config.json, CSP. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WebConfig } from '../../core/web/config';
import { startWebServer, type WebServer } from '../../local/web-server';

const CONFIG: WebConfig = {
  stage: 'local',
  wsUrl: 'ws://127.0.0.1:4511/local',
  restUrl: 'http://127.0.0.1:4510',
  oidc: { authority: 'http://127.0.0.1:4515', clientId: 'parley-web', scope: 'openid profile' },
};

describe('the local web console server', () => {
  let dist: string;
  let server: WebServer;

  beforeAll(async () => {
    dist = mkdtempSync(path.join(tmpdir(), 'parley-web-'));
    mkdirSync(path.join(dist, 'assets'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(path.join(dist, 'assets', 'app-abc123.js'), 'console.log(1)');
    writeFileSync(path.join(tmpdir(), 'parley-web-secret.txt'), 'secret');
    server = await startWebServer({ distDir: dist, config: () => CONFIG });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dist, { recursive: true, force: true });
  });

  it('serves /config.json from the running stack, never cached', async () => {
    const res = await fetch(`${server.url}/config.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual(CONFIG);
  });

  it('serves hashed assets as immutable and index.html for every app route', async () => {
    const asset = await fetch(`${server.url}/assets/app-abc123.js`);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    for (const route of ['/', '/meetings/abc', '/callback?code=x&state=y', '/new']) {
      const res = await fetch(`${server.url}${route}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<title>app</title>');
    }
  });

  it('answers 404 for a missing file and never serves outside the build', async () => {
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/..%2fparley-web-secret.txt`)).status).toBe(404);
    expect((await fetch(`${server.url}/%2e%2e/parley-web-secret.txt`)).status).toBe(404);
    expect((await fetch(`${server.url}/`, { method: 'POST' })).status).toBe(405);
  });

  it('sends a CSP that names exactly the REST, WebSocket and issuer origins', async () => {
    const csp = (await fetch(`${server.url}/`)).headers.get('content-security-policy') ?? '';
    expect(csp).toContain(
      "connect-src 'self' http://127.0.0.1:4510 ws://127.0.0.1:4511 http://127.0.0.1:4515",
    );
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('adds the audio gateway to connect-src and the recordings store to media-src when given', async () => {
    const withAudio = await startWebServer({
      distDir: dist,
      config: () => CONFIG,
      connectOrigins: () => ['ws://127.0.0.1:4512'],
      mediaOrigins: () => ['http://127.0.0.1:4569/parley-media/recordings/x.webm'],
    });
    try {
      const csp = (await fetch(`${withAudio.url}/`)).headers.get('content-security-policy') ?? '';
      expect(csp).toContain(
        "connect-src 'self' http://127.0.0.1:4510 ws://127.0.0.1:4511 http://127.0.0.1:4515 ws://127.0.0.1:4512",
      );
      expect(csp).toContain("media-src 'self' http://127.0.0.1:4569;");
    } finally {
      await withAudio.stop();
    }
    // Without them, media plays from the site only.
    expect((await fetch(`${server.url}/`)).headers.get('content-security-policy')).toContain(
      "media-src 'self';",
    );
  });

  it('says how to build the app when it is not built', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'parley-web-empty-'));
    const bare = await startWebServer({ distDir: empty, config: () => CONFIG });
    try {
      const res = await fetch(`${bare.url}/meetings`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('npm run build:web');
    } finally {
      await bare.stop();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
