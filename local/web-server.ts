/**
 * Serves the built web console (web/dist) in local mode, as CloudFront serves it on AWS:
 * static files, `/config.json` from the running stack, the app's index.html for every other
 * path (the app routes in the browser), and a Content-Security-Policy naming exactly the
 * REST, WebSocket and issuer origins the page may talk to.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { WebConfig } from '../core/web/config';
import { listen, stopOnce } from './http-util';

export const WEB_DIST_DIR = path.resolve(__dirname, '..', 'web', 'dist');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface WebServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  distDir?: string;
  /** The runtime configuration served as `/config.json`. */
  config: () => WebConfig | Promise<WebConfig>;
  /** More origins for CSP `connect-src` (the audio gateway's microphone socket, S3 uploads). */
  connectOrigins?: () => readonly string[];
  /** Origins for CSP `media-src` (where recordings' presigned URLs point). */
  mediaOrigins?: () => readonly string[];
  logger?: Logger;
}

export interface WebServer {
  /** `http://{host}:{port}`: the URL to open. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * The page may load its own files and talk to exactly the stage's APIs, issuer and audio gateway,
 * and play media (recordings) from exactly `media`.
 */
export function contentSecurityPolicy(
  config: WebConfig,
  extra: { connect?: readonly string[]; media?: readonly string[] } = {},
): string {
  const origin = (url: string) => new URL(url).origin;
  const connect = [
    ...new Set([
      origin(config.restUrl),
      origin(config.wsUrl),
      origin(config.oidc.authority),
      ...(extra.connect ?? []).map(origin),
    ]),
  ];
  const media = [...new Set((extra.media ?? []).map(origin))];
  return [
    "default-src 'self'",
    `connect-src 'self' ${connect.join(' ')}`,
    `media-src 'self'${media.map((m) => ` ${m}`).join('')}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const opts = { host: '127.0.0.1', port: 0, distDir: WEB_DIST_DIR, ...options };
  const root = path.resolve(opts.distDir);
  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      opts.logger?.error('web server failed to answer', { error });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const config = await opts.config();
    res.setHeader(
      'content-security-policy',
      contentSecurityPolicy(config, { connect: opts.connectOrigins?.(), media: opts.mediaOrigins?.() }),
    );
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://local').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (pathname === '/config.json') {
      const body = JSON.stringify(config);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const file = path.resolve(root, `.${pathname}`);
    if (file !== root && !file.startsWith(`${root}${path.sep}`)) {
      res.writeHead(404).end();
      return;
    }
    if (await sendFile(req, res, file, pathname.startsWith('/assets/'))) return;
    // A path that names a file (has an extension) and is missing is a 404; anything else is a route.
    if (path.extname(pathname) !== '') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found');
      return;
    }
    if (await sendFile(req, res, path.join(root, 'index.html'), false)) return;
    const text =
      'The web app is not built. Run `npm run build:web` (npm start builds it for you), then reload.';
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' }).end(text);
  }

  const port = await listen(server, opts.port, opts.host);
  return {
    url: `http://${opts.host}:${port}`,
    port,
    stop: stopOnce(server),
  };
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, immutable: boolean) {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return false;
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-length': info.size,
    // Hashed asset names change with their content; index.html must always be revalidated.
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(file);
    stream.on('error', reject);
    res.on('close', resolve);
    stream.pipe(res);
  });
  return true;
}
