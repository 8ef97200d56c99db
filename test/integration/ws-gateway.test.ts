import { request } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import WebSocket from 'ws';
import { createJwtVerifier, type JwtVerifier } from '../../core/auth/jwt-verifier';
import { UnauthorizedError } from '../../core/errors';
import { PING_INTERVAL_MS, PING_MOCK_ROUTE, PING_ROUTE_KEY } from '../../core/realtime/ping-route';
import { type DevIssuer, startDevIssuer } from '../../local/dev-issuer';
import {
  startWsGateway,
  WS_LIMITS,
  type WsGateway,
  type WsGatewayOptions,
  type WsRouteEvent,
  type WsRouteHandler,
} from '../../local/ws-gateway';

// ---- helpers ----------------------------------------------------------------------------------

const silentLogger = new Logger({ serviceName: 'ws-gateway-test', logLevel: 'SILENT' });

/** Records every route invocation and lets a test wait for the one it expects. */
class RouteRecorder {
  readonly events: WsRouteEvent[] = [];
  private waiters: { match: (event: WsRouteEvent) => boolean; resolve: (event: WsRouteEvent) => void }[] = [];

  record(event: WsRouteEvent): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(event)) return true;
      waiter.resolve(event);
      return false;
    });
  }

  waitFor(match: (event: WsRouteEvent) => boolean): Promise<WsRouteEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  count(match: (event: WsRouteEvent) => boolean): number {
    return this.events.filter(match).length;
  }
}

interface Frame {
  data: Buffer;
  isBinary: boolean;
}

/** A ws client that queues what it receives, so no frame is missed between awaits. */
class TestClient {
  private readonly frames: Frame[] = [];
  private readonly readers: ((frame: Frame) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      const frame = { data, isBinary };
      const reader = this.readers.shift();
      if (reader) reader(frame);
      else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const socket = new WebSocket(url, { headers });
    openSockets.add(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  next(): Promise<Frame> {
    const frame = this.frames.shift();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve) => this.readers.push(resolve));
  }

  async nextJson(): Promise<Record<string, unknown>> {
    const frame = await this.next();
    return JSON.parse(frame.data.toString('utf8')) as Record<string, unknown>;
  }

  send(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }
}

const openSockets = new Set<WebSocket>();

/** Attempts an upgrade that the gateway is expected to refuse; returns its HTTP status and body. */
function refusedUpgrade(url: string): Promise<{ status: number; body: string }> {
  const socket = new WebSocket(url);
  openSockets.add(socket);
  return new Promise((resolve, reject) => {
    socket.on('error', () => {});
    socket.once('open', () => reject(new Error('the upgrade was accepted')));
    socket.once('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
        req.destroy();
      });
    });
  });
}

function allowPolicy(
  effect: 'Allow' | 'Deny',
  methodArn: string,
): APIGatewayAuthorizerResult['policyDocument'] {
  return {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: methodArn }],
  };
}

/** The $connect authorizer a Lambda would be: verify the query-string token, allow or deny. */
function tokenAuthorizer(verifier: JwtVerifier, deniedUsers: ReadonlySet<string>) {
  return async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const token = event.queryStringParameters?.token;
    if (!token) throw new Error('Unauthorized');
    let verified: Awaited<ReturnType<JwtVerifier['verify']>>;
    try {
      verified = await verifier.verify(token);
    } catch (error) {
      if (error instanceof UnauthorizedError) throw new Error('Unauthorized');
      throw error;
    }
    const effect = deniedUsers.has(verified.userId) ? 'Deny' : 'Allow';
    return {
      principalId: verified.userId,
      policyDocument: allowPolicy(effect, event.methodArn),
      context: { userId: verified.userId, email: String(verified.claims.email ?? '') },
    };
  };
}

function byClient(tag: string) {
  return (event: WsRouteEvent) =>
    event.requestContext.routeKey === '$connect' && event.queryStringParameters?.client === tag;
}

function managementClient(endpoint: string): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

async function startRecordingGateway(
  recorder: RouteRecorder,
  overrides: Partial<WsGatewayOptions> = {},
): Promise<WsGateway> {
  const record: WsRouteHandler = async (event) => {
    recorder.record(event as unknown as WsRouteEvent);
  };
  return startWsGateway({
    stage: 'local',
    logger: silentLogger,
    routes: { $connect: record, $disconnect: record, $default: record },
    ...overrides,
  });
}

afterEach(async () => {
  const closing = [...openSockets].map(
    (socket) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.terminate();
      }),
  );
  openSockets.clear();
  await Promise.all(closing);
});

// ---- the shared gateway -----------------------------------------------------------------------

describe('WebSocket gateway emulator', () => {
  const recorder = new RouteRecorder();
  const deniedUsers = new Set(['mallory']);
  let issuer: DevIssuer;
  let gateway: WsGateway;
  let management: ApiGatewayManagementApiClient;

  beforeAll(async () => {
    issuer = await startDevIssuer();
    const verifier = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience });
    const record: WsRouteHandler = async (event) => {
      recorder.record(event as unknown as WsRouteEvent);
    };
    gateway = await startWsGateway({
      stage: 'local',
      logger: silentLogger,
      authorizer: tokenAuthorizer(verifier, deniedUsers),
      routes: {
        $connect: async (event) => {
          recorder.record(event as unknown as WsRouteEvent);
          const query = (event as unknown as WsRouteEvent).queryStringParameters ?? {};
          if (query.explode) throw new Error('connect handler failed');
          if (query.refuse) return { statusCode: Number(query.refuse) };
          return { statusCode: 200 };
        },
        $disconnect: record,
        $default: record,
        subscribe: async (event) => {
          recorder.record(event as unknown as WsRouteEvent);
          return { statusCode: 200, body: 'this body is discarded' };
        },
        boom: async () => {
          throw new Error('handler failure');
        },
        ping: async (event) => {
          const { connectionId } = event.requestContext;
          await management.send(
            new PostToConnectionCommand({
              ConnectionId: connectionId,
              Data: JSON.stringify({ type: 'pong' }),
            }),
          );
        },
      },
    });
    management = managementClient(gateway.managementEndpoint);
  });

  afterAll(async () => {
    management.destroy();
    await gateway.stop();
    await issuer.stop();
  });

  async function connect(
    tag: string,
    userId = `user-${tag}`,
  ): Promise<{ client: TestClient; connectionId: string }> {
    const token = await issuer.mintToken(userId, { email: `${userId}@example.com` });
    const client = await TestClient.open(`${gateway.url}?token=${token}&client=${tag}`, {
      'User-Agent': 'parley-test',
    });
    const connected = await recorder.waitFor(byClient(tag));
    return { client, connectionId: connected.requestContext.connectionId };
  }

  describe('management API through the real SDK client', () => {
    it('delivers PostToConnection text byte-for-byte as a text frame', async () => {
      const { client, connectionId } = await connect('post-text');
      const text = '{"type":"transcript","text":"héllo wörld ✓"}';

      await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: text }));
      const frame = await client.next();

      expect(frame.isBinary).toBe(false);
      expect(frame.data.equals(Buffer.from(text, 'utf8'))).toBe(true);
    });

    it('delivers bytes that are not valid UTF-8 as a binary frame, unchanged', async () => {
      const { client, connectionId } = await connect('post-binary');
      const bytes = new Uint8Array([0xff, 0x00, 0xfe, 0x80, 0x41]);

      await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: bytes }));
      const frame = await client.next();

      expect(frame.isBinary).toBe(true);
      expect(frame.data.equals(Buffer.from(bytes))).toBe(true);
    });

    it('delivers a Uint8Array holding valid UTF-8 as a text frame', async () => {
      const { client, connectionId } = await connect('post-utf8-bytes');
      const bytes = new TextEncoder().encode('plain ascii and ünïcode');

      await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: bytes }));
      const frame = await client.next();

      expect(frame.isBinary).toBe(false);
      expect(frame.data.equals(Buffer.from(bytes))).toBe(true);
    });

    it('answers GetConnection with Dates and the caller identity', async () => {
      const { client, connectionId } = await connect('get');
      client.send(JSON.stringify({ action: 'subscribe', meetingId: 'm-1' }));
      await recorder.waitFor(
        (event) =>
          event.requestContext.connectionId === connectionId && event.requestContext.routeKey === 'subscribe',
      );

      const connection = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));

      expect(connection.ConnectedAt).toBeInstanceOf(Date);
      expect(connection.LastActiveAt).toBeInstanceOf(Date);
      expect(connection.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(connection.ConnectedAt!.getTime());
      expect(Math.abs(connection.ConnectedAt!.getTime() - Date.now())).toBeLessThan(60_000);
      expect(connection.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'parley-test' });
      expect(connection.$metadata.requestId).toEqual(expect.any(String));
    });

    it('closes the socket on DeleteConnection and fires $disconnect once', async () => {
      const { client, connectionId } = await connect('delete');

      await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      const closed = await client.closed;
      const disconnect = await recorder.waitFor(
        (event) =>
          event.requestContext.connectionId === connectionId &&
          event.requestContext.eventType === 'DISCONNECT',
      );

      expect(closed.code).toBe(1000);
      expect(disconnect.requestContext).toMatchObject({
        disconnectStatusCode: 1000,
        routeKey: '$disconnect',
      });
      expect(recorder.count((event) => event === disconnect)).toBe(1);
      await expect(
        management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'late' })),
      ).rejects.toBeInstanceOf(GoneException);
    });

    it('raises GoneException for an id that never existed', async () => {
      const error = await management
        .send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=', Data: 'hello' }))
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(GoneException);
      expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
      await expect(
        management.send(new GetConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=' })),
      ).rejects.toBeInstanceOf(GoneException);
      await expect(
        management.send(new DeleteConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAA=' })),
      ).rejects.toBeInstanceOf(GoneException);
    });

    it('refuses a PostToConnection payload over 128 KB with PayloadTooLargeException', async () => {
      const { client, connectionId } = await connect('post-large');

      await expect(
        management.send(
          new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x'.repeat(128 * 1024 + 1) }),
        ),
      ).rejects.toBeInstanceOf(PayloadTooLargeException);
      await management.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'y'.repeat(128 * 1024) }),
      );

      expect((await client.next()).data.length).toBe(128 * 1024);
    });
  });

  describe('$connect and the authorizer', () => {
    it('refuses a missing, bad or expired token with 401 before $connect runs', async () => {
      const expired = await issuer.mintToken('late-user', { expiresInSeconds: -60 });
      const connectsBefore = recorder.count((event) => event.requestContext.eventType === 'CONNECT');

      const missing = await refusedUpgrade(`${gateway.url}?client=no-token`);
      const bad = await refusedUpgrade(`${gateway.url}?token=garbage&client=bad-token`);
      const late = await refusedUpgrade(`${gateway.url}?token=${expired}&client=expired-token`);

      expect([missing.status, bad.status, late.status]).toEqual([401, 401, 401]);
      expect(JSON.parse(bad.body)).toEqual({ message: 'Unauthorized' });
      expect(recorder.count((event) => event.requestContext.eventType === 'CONNECT')).toBe(connectsBefore);
    });

    it('refuses an explicit Deny policy with 403', async () => {
      const token = await issuer.mintToken('mallory');

      const refused = await refusedUpgrade(`${gateway.url}?token=${token}&client=denied`);

      expect(refused.status).toBe(403);
      expect(recorder.count(byClient('denied'))).toBe(0);
    });

    it('refuses the upgrade with the status $connect returns, or 502 when it throws', async () => {
      const token = await issuer.mintToken('u');

      const refused = await refusedUpgrade(`${gateway.url}?token=${token}&client=refuse&refuse=409`);
      const exploded = await refusedUpgrade(`${gateway.url}?token=${token}&client=explode&explode=1`);

      expect(refused.status).toBe(409);
      expect(exploded.status).toBe(502);
      const refusedId = (await recorder.waitFor(byClient('refuse'))).requestContext.connectionId;
      expect(recorder.count((event) => event.requestContext.connectionId === refusedId)).toBe(1);
    });

    it('refuses paths other than the stage with 404', async () => {
      const refused = await refusedUpgrade(gateway.url.replace(/\/local$/, '/prod'));

      expect(refused.status).toBe(404);
    });

    it('builds the $connect event as AWS does and passes the authorizer context to every later event', async () => {
      const { client, connectionId } = await connect('shape', 'ada');
      client.send(JSON.stringify({ action: 'subscribe', meetingId: 'm-9' }));
      const message = await recorder.waitFor(
        (event) =>
          event.requestContext.connectionId === connectionId && event.requestContext.eventType === 'MESSAGE',
      );
      client.socket.close(4000, 'bye');
      const disconnect = await recorder.waitFor(
        (event) =>
          event.requestContext.connectionId === connectionId &&
          event.requestContext.eventType === 'DISCONNECT',
      );
      const connected = await recorder.waitFor(byClient('shape'));

      expect(connectionId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
      expect(connected).toMatchObject({
        isBase64Encoded: false,
        headers: expect.objectContaining({ 'User-Agent': 'parley-test', 'X-Forwarded-For': '127.0.0.1' }),
        multiValueHeaders: expect.objectContaining({ 'User-Agent': ['parley-test'] }),
        queryStringParameters: expect.objectContaining({ client: 'shape' }),
        requestContext: {
          routeKey: '$connect',
          eventType: 'CONNECT',
          messageDirection: 'IN',
          stage: 'local',
          apiId: 'local',
          domainName: `127.0.0.1:${gateway.port}`,
          identity: { sourceIp: '127.0.0.1', userAgent: 'parley-test' },
          connectionId,
        },
      });
      expect(connected.requestContext.requestTime).toMatch(
        /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/,
      );
      expect(connected.requestContext.messageId).toBeUndefined();
      expect(message).toMatchObject({
        body: JSON.stringify({ action: 'subscribe', meetingId: 'm-9' }),
        isBase64Encoded: false,
        requestContext: { routeKey: 'subscribe', eventType: 'MESSAGE', messageId: expect.any(String) },
      });
      expect(message.headers).toBeUndefined();
      expect(message.queryStringParameters).toBeUndefined();
      expect(message.requestContext.connectedAt).toBe(connected.requestContext.connectedAt);
      expect(disconnect.requestContext).toMatchObject({
        disconnectStatusCode: 4000,
        disconnectReason: 'bye',
      });
      for (const event of [connected, message, disconnect]) {
        expect(event.requestContext.authorizer).toEqual({
          userId: 'ada',
          email: 'ada@example.com',
          principalId: 'ada',
          integrationLatency: expect.any(Number),
        });
      }
    });
  });

  describe('messages', () => {
    it('routes on body.action, and unknown actions and non-JSON frames to $default', async () => {
      const { client, connectionId } = await connect('routing');
      const mine = (routeKey: string, body: string) => (event: WsRouteEvent) =>
        event.requestContext.connectionId === connectionId &&
        event.requestContext.routeKey === routeKey &&
        event.body === body;

      client.send('{"action":"subscribe","meetingId":"m-1"}');
      client.send('{"action":"no-such-action"}');
      client.send('not json at all');
      client.send('{"action":42}');
      client.send('{"action":"constructor"}');

      await recorder.waitFor(mine('subscribe', '{"action":"subscribe","meetingId":"m-1"}'));
      await recorder.waitFor(mine('$default', '{"action":"no-such-action"}'));
      await recorder.waitFor(mine('$default', 'not json at all'));
      await recorder.waitFor(mine('$default', '{"action":42}'));
      await recorder.waitFor(mine('$default', '{"action":"constructor"}'));
    });

    it('answers a throwing handler with AWS error JSON and keeps the socket open', async () => {
      const { client, connectionId } = await connect('boom');

      client.send(JSON.stringify({ action: 'boom' }));
      const error = await client.nextJson();
      client.send(JSON.stringify({ action: 'ping' }));
      const pong = await client.nextJson();

      expect(error).toEqual({
        message: 'Internal server error',
        connectionId,
        requestId: expect.any(String),
      });
      expect(pong).toEqual({ type: 'pong' });
    });

    it('closes with 1009 on a message over 128 KB and fires $disconnect', async () => {
      const { client, connectionId } = await connect('oversize');

      client.send(`{"action":"subscribe","pad":"${'x'.repeat(128 * 1024)}"}`);
      const closed = await client.closed;
      const disconnect = await recorder.waitFor(
        (event) =>
          event.requestContext.connectionId === connectionId &&
          event.requestContext.eventType === 'DISCONNECT',
      );

      expect(closed.code).toBe(1009);
      expect(disconnect.requestContext.disconnectStatusCode).toBe(1009);
    });

    it('closes with 1003 on a binary frame and fires $disconnect', async () => {
      const { client, connectionId } = await connect('binary');

      client.send(Buffer.from([1, 2, 3]), true);
      const closed = await client.closed;
      const disconnect = await recorder.waitFor(
        (event) =>
          event.requestContext.connectionId === connectionId &&
          event.requestContext.eventType === 'DISCONNECT',
      );

      expect(closed.code).toBe(1003);
      expect(disconnect.requestContext.disconnectStatusCode).toBe(1003);
      expect(recorder.count((event) => event.requestContext.connectionId === connectionId)).toBe(2);
    });
  });
});

// ---- gateways with their own settings ---------------------------------------------------------

describe('WebSocket gateway timeouts and lifecycle', () => {
  it('closes an idle connection with 1001 and fires $disconnect', async () => {
    const recorder = new RouteRecorder();
    const gateway = await startRecordingGateway(recorder, { idleTimeoutMs: 300 });
    try {
      const client = await TestClient.open(gateway.url);

      const closed = await client.closed;
      const disconnect = await recorder.waitFor((event) => event.requestContext.eventType === 'DISCONNECT');

      expect(closed.code).toBe(1001);
      expect(disconnect.requestContext).toMatchObject({
        disconnectStatusCode: 1001,
        disconnectReason: 'Going away',
      });
      expect(gateway.connectionCount()).toBe(0);
    } finally {
      await gateway.stop();
    }
  });

  it('keeps a chatty connection past the idle timeout and closes it at the maximum duration with 1001', async () => {
    const recorder = new RouteRecorder();
    const gateway = await startRecordingGateway(recorder, { idleTimeoutMs: 250, maxDurationMs: 700 });
    try {
      const client = await TestClient.open(gateway.url);
      const chatter = setInterval(() => client.send('keep-alive'), 50);

      const closed = await client.closed.finally(() => clearInterval(chatter));
      const disconnect = await recorder.waitFor((event) => event.requestContext.eventType === 'DISCONNECT');

      const { connectedAt, requestTimeEpoch } = disconnect.requestContext;
      expect(closed.code).toBe(1001);
      expect(disconnect.requestContext.disconnectStatusCode).toBe(1001);
      expect(requestTimeEpoch - connectedAt).toBeGreaterThanOrEqual(700);
      expect(
        recorder.count(
          (event) =>
            event.requestContext.eventType === 'MESSAGE' &&
            event.requestContext.requestTimeEpoch - connectedAt > 250,
        ),
      ).toBeGreaterThan(0);
    } finally {
      await gateway.stop();
    }
  });

  it('answers a handler slower than the integration timeout with AWS error JSON', async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gateway = await startWsGateway({
      stage: 'local',
      logger: silentLogger,
      integrationTimeoutMs: 100,
      routes: { slow: () => released },
    });
    try {
      const client = await TestClient.open(gateway.url);

      client.send(JSON.stringify({ action: 'slow' }));

      expect(await client.nextJson()).toMatchObject({ message: 'Endpoint request timed out' });
    } finally {
      release();
      await gateway.stop();
    }
  });

  it('answers Forbidden on the socket when no route matches and there is no $default', async () => {
    const gateway = await startWsGateway({ stage: 'dev', logger: silentLogger, routes: {} });
    try {
      const client = await TestClient.open(gateway.url);

      client.send(JSON.stringify({ action: 'anything' }));

      expect(await client.nextJson()).toMatchObject({
        message: 'Forbidden',
        connectionId: expect.any(String),
      });
    } finally {
      await gateway.stop();
    }
  });

  it('stops idempotently, closing sockets and firing $disconnect, and can start again', async () => {
    for (let round = 0; round < 2; round += 1) {
      const recorder = new RouteRecorder();
      const gateway = await startRecordingGateway(recorder);
      const client = await TestClient.open(gateway.url);
      expect(gateway.connectionCount()).toBe(1);

      await Promise.all([gateway.stop(), gateway.stop()]);
      const closed = await client.closed;

      expect(closed.code).toBe(1001);
      expect(recorder.count((event) => event.requestContext.eventType === 'DISCONNECT')).toBe(1);
      expect(gateway.connectionCount()).toBe(0);
      await expect(gateway.stop()).resolves.toBeUndefined();
      await expect(
        new Promise((resolve, reject) => {
          const probe = request(`${gateway.managementEndpoint}/@connections/x`, { method: 'GET' }, resolve);
          probe.on('error', reject);
          probe.end();
        }),
      ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }
  });
});

describe('WebSocket gateway mock routes (API Gateway answering a route itself)', () => {
  it('answers ping from the pong template on the socket, invoking no handler', async () => {
    const recorder = new RouteRecorder();
    const gateway = await startRecordingGateway(recorder, {
      mockRoutes: { [PING_ROUTE_KEY]: { responseTemplate: PING_MOCK_ROUTE.responseTemplate } },
    });
    try {
      const client = await TestClient.open(gateway.url);
      const before = Date.now();

      client.send(JSON.stringify({ action: 'ping', timestamp: 'anything' }));
      const pong = await client.nextJson();
      client.send('after the ping');
      await recorder.waitFor((event) => event.body === 'after the ping');

      expect(pong).toEqual({ type: 'pong', serverTime: expect.any(Number) });
      expect(pong.serverTime).toBeGreaterThanOrEqual(before);
      expect(pong.serverTime).toBeLessThanOrEqual(Date.now());
      expect(recorder.count((event) => event.requestContext.eventType === 'MESSAGE')).toBe(1);
    } finally {
      await gateway.stop();
    }
  });

  it('fills in $context variables of the connection and the message', async () => {
    const recorder = new RouteRecorder();
    const gateway = await startRecordingGateway(recorder, {
      mockRoutes: {
        whoami: {
          responseTemplate:
            '{"id":"$context.connectionId","route":"$context.routeKey","stage":"$context.stage","ip":"$context.identity.sourceIp"}',
        },
      },
    });
    try {
      const client = await TestClient.open(gateway.url);
      const connected = await recorder.waitFor((event) => event.requestContext.eventType === 'CONNECT');

      client.send(JSON.stringify({ action: 'whoami' }));

      expect(await client.nextJson()).toEqual({
        id: connected.requestContext.connectionId,
        route: 'whoami',
        stage: 'local',
        ip: '127.0.0.1',
      });
    } finally {
      await gateway.stop();
    }
  });

  it('counts a ping as client activity: pings keep a connection past the idle timeout', async () => {
    const recorder = new RouteRecorder();
    const gateway = await startRecordingGateway(recorder, {
      idleTimeoutMs: 2_000,
      mockRoutes: { [PING_ROUTE_KEY]: { responseTemplate: PING_MOCK_ROUTE.responseTemplate } },
    });
    try {
      const client = await TestClient.open(gateway.url);
      const connected = await recorder.waitFor((event) => event.requestContext.eventType === 'CONNECT');
      const pinger = setInterval(() => client.send(JSON.stringify({ action: 'ping' })), 100);
      let last = 0;
      try {
        // Until API Gateway's own clock says the socket has outlived the idle timeout by half.
        while (last - connected.requestContext.connectedAt < 3_000) {
          last = Number((await client.nextJson()).serverTime);
        }
      } finally {
        clearInterval(pinger);
      }

      expect(client.socket.readyState).toBe(WebSocket.OPEN);
      expect(recorder.count((event) => event.requestContext.eventType === 'DISCONNECT')).toBe(0);
    } finally {
      await gateway.stop();
    }
  });

  it('refuses a template it cannot render as API Gateway would, and a mock route that has a handler', async () => {
    await expect(
      startRecordingGateway(new RouteRecorder(), {
        mockRoutes: { ping: { responseTemplate: '{"echo":$input.json(\'$.timestamp\')}' } },
      }),
    ).rejects.toThrow(/only \$context/);
    await expect(
      startRecordingGateway(new RouteRecorder(), {
        mockRoutes: { ping: { responseTemplate: '{"t":$context.noSuchVariable}' } },
      }),
    ).rejects.toThrow(/unsupported variable \$context\.noSuchVariable/);
    await expect(
      startRecordingGateway(new RouteRecorder(), {
        mockRoutes: { $default: { responseTemplate: '{}' } },
      }),
    ).rejects.toThrow(/must be an action route/);
  });

  it('pings clients often enough for the idle limit: the default interval is at most half of it', () => {
    expect(PING_INTERVAL_MS).toBeLessThanOrEqual(WS_LIMITS.idleTimeoutMs / 2);
    // …and not needlessly often: each ping is two billed API Gateway messages.
    expect(PING_INTERVAL_MS).toBeGreaterThanOrEqual(WS_LIMITS.idleTimeoutMs / 4);
  });
});
