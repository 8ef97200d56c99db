/**
 * Small HTTP pieces the local servers share (REST host, web server, dev issuer, Recall
 * simulator, emulators): listen on a port, close with every kept-alive socket, send JSON.
 */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on `host:port` (0 = any free port) and resolves with the port bound. */
export function listen(server: Server, port: number | undefined, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, drops kept-alive and in-flight connections, and resolves once closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A `stop()` that closes the server once, however often it is called. */
export function stopOnce(server: Server): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= closeServer(server);
    return stopped;
  };
}

/** Sends `body` as JSON with its length; `headers` may add to or override the defaults. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}
