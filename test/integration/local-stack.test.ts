import { createServer } from 'node:net';
import WebSocket from 'ws';
import { type LocalStack, startLocalStack } from '../../local/stack';

/** Resolves true when nothing listens on the port any more. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function exercise(stack: LocalStack): Promise<void> {
  const health = await fetch(`${stack.urls.rest}/health`);
  expect(health.status).toBe(200);
  const token = await stack.issuer.mintToken('alice');
  const ws = new WebSocket(`${stack.urls.ws}?token=${token}`);
  const sentAt = Date.now();
  const pong = await new Promise<{ type: string; serverTime?: number }>((resolve, reject) => {
    ws.once('open', () => ws.send(JSON.stringify({ action: 'ping' })));
    ws.once('message', (data) => resolve(JSON.parse(String(data))));
    ws.once('error', reject);
  });
  // Answered by the gateway itself, as API Gateway answers its MOCK ping route.
  expect(pong).toEqual({ type: 'pong', serverTime: expect.any(Number) });
  expect(pong.serverTime).toBeGreaterThanOrEqual(sentAt);
  ws.close();
}

describe('the local stack', () => {
  it('starts, works and stops cleanly twice in one process, freeing every port', async () => {
    const first = await startLocalStack({ logLevel: 'ERROR' });
    await exercise(first);
    // The WebSocket API and its management API share one port, as on AWS they share a host.
    const portsOf = (stack: LocalStack) => [
      ...new Set(Object.values(stack.urls).map((url) => Number(new URL(url).port))),
    ];
    const ports = portsOf(first);
    expect(ports).toHaveLength(Object.keys(first.urls).length - 1);
    await first.stop();
    for (const port of ports) expect(await portIsFree(port)).toBe(true);

    // The second stack takes the same ports (see local/stack.ts) and works the same.
    const second = await startLocalStack({ logLevel: 'ERROR' });
    expect(portsOf(second)).toEqual(ports);
    await exercise(second);
    await second.stop();
    await second.stop(); // idempotent
    for (const port of ports) expect(await portIsFree(port)).toBe(true);
  });
});
