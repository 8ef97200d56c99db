/**
 * Baseline of bench/pipeline.ts, run as a child process: the least any relay must add between
 * a speech server and a client. It opens one WebSocket per meeting to the fake speech peer (as
 * the audio gateway does) and forwards every text frame unchanged to the clients connected at
 * `/?meeting=<id>`. No parsing, no queue, no database: two WebSocket hops and one process.
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { serveRpc, until } from './lib-bench';

const subscribers = new Map<string, Set<WebSocket>>();
const upstream: WebSocket[] = [];
const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
server.on('connection', (ws, req) => {
  const meetingId = new URL(req.url ?? '/', 'http://relay').searchParams.get('meeting') ?? '';
  let set = subscribers.get(meetingId);
  if (!set) {
    set = new Set();
    subscribers.set(meetingId, set);
  }
  set.add(ws);
  ws.on('close', () => set.delete(ws));
  ws.on('error', () => undefined);
});

async function connect(req: { peerUrl: string; meetingIds: string[] }): Promise<{ url: string }> {
  await Promise.all(
    req.meetingIds.map(
      (meetingId) =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`${req.peerUrl}/v1/listen?tag=meeting:${meetingId}`, {
            perMessageDeflate: false,
          });
          ws.on('message', (data, isBinary) => {
            if (isBinary) return;
            for (const client of subscribers.get(meetingId) ?? []) client.send(data, { binary: false });
          });
          ws.once('open', () => resolve());
          ws.once('error', reject);
          upstream.push(ws);
        }),
    ),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}` };
}

async function disconnect(): Promise<void> {
  for (const ws of upstream) ws.close(1000);
  await until(() => upstream.every((ws) => ws.readyState === WebSocket.CLOSED), 5_000);
  upstream.length = 0;
}

serveRpc(
  {
    connect: (req: { peerUrl: string; meetingIds: string[] }) => connect(req),
    disconnect: () => disconnect(),
    exit: () => {
      setImmediate(() => process.exit(0));
    },
  },
  (m) => process.send?.(m),
  (fn) => process.on('message', fn),
);
process.on('disconnect', () => process.exit(0));
