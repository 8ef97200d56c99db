/**
 * Local stand-in for an API Gateway WebSocket API with Lambda proxy integrations, and for its
 * `@connections` management API. One node http server on loopback serves both:
 *
 * - `GET /{stage}?token=…` + upgrade: REQUEST authorizer, then `$connect`, then the socket opens;
 * - text frames are routed on `$request.body.action` (else `$default`);
 * - MOCK routes (`mockRoutes`, such as `ping`) are answered from their response template on the
 *   socket itself, with no handler, as API Gateway answers a MOCK integration with a route response;
 * - `$disconnect` runs once per opened connection, after the socket is gone, whoever closed it;
 * - `POST|GET|DELETE /{stage}/@connections/{urlencoded id}` exactly as
 *   `@aws-sdk/client-apigatewaymanagementapi` calls it (SigV4 accepted, not verified).
 *
 * Behaviour follows the AWS developer guide and events captured from AWS; docs/local-mode-gateway.md
 * lists each choice and every AWS behaviour this emulator lacks.
 */

import { isUtf8 } from 'node:buffer';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@aws-lambda-powertools/logger';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyWebsocketEventV2,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { type RawData, type ServerOptions, WebSocket, WebSocketServer } from 'ws';
import { createLogger } from '../core/logger';

// ---- limits and constants ---------------------------------------------------------------------

/** API Gateway WebSocket quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
export const WS_LIMITS = {
  /** Message payload; more closes the socket with 1009. */
  maxMessageBytes: 128 * 1024,
  /** PostToConnection payload; more is a 413 PayloadTooLargeException. */
  managementPayloadBytes: 128 * 1024,
  idleTimeoutMs: 10 * 60 * 1000,
  maxDurationMs: 2 * 60 * 60 * 1000,
  integrationTimeoutMs: 29 * 1000,
} as const;

export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  abnormal: 1006,
  invalidPayload: 1007,
  messageTooBig: 1009,
} as const;

/** `disconnectReason` texts; 1001 and 1005 are as seen in events captured from AWS. */
const CLOSE_REASONS: Readonly<Record<number, string>> = {
  1000: 'Normal closure',
  1001: 'Going away',
  1002: 'Protocol error',
  1003: 'Unsupported data',
  1005: 'Client-side close frame status not set',
  1006: 'Connection closed abnormally',
  1007: 'Invalid frame payload data',
  1009: 'Message too big',
};

/** Identity source of the `$connect` authorizer: `route.request.querystring.token`. */
export const IDENTITY_SOURCE_QUERY_PARAM = 'token';
const LOCAL_REGION = 'us-east-1';
const LOCAL_ACCOUNT_ID = '000000000000';
/** How long a server-initiated close waits for the peer's close frame before dropping the TCP socket. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;
const CONNECTIONS_PATH = '@connections';

// ---- public types -----------------------------------------------------------------------------

export type WsEventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

/** `requestContext` as AWS sends it; `messageId` only on MESSAGE, `disconnect*` only on DISCONNECT. */
export interface WsRequestContext {
  routeKey: string;
  messageId?: string;
  eventType: WsEventType;
  extendedRequestId: string;
  requestTime: string;
  messageDirection: 'IN';
  stage: string;
  connectedAt: number;
  requestTimeEpoch: number;
  identity: { sourceIp: string; userAgent?: string };
  requestId: string;
  domainName: string;
  connectionId: string;
  apiId: string;
  /** The authorizer's `context` (values as strings) plus `principalId` and `integrationLatency`. */
  authorizer?: Record<string, unknown>;
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

export interface WsRouteEvent {
  requestContext: WsRequestContext;
  body?: string;
  isBase64Encoded: false;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
}

/** A route integration. Any returned `body` is discarded (no route responses are configured). */
export type WsRouteHandler = (
  event: APIGatewayProxyWebsocketEventV2 & { requestContext: { authorizer?: Record<string, unknown> } },
  // biome-ignore lint/suspicious/noConfusingVoidType: lets `async (event) => { … }` handlers with no return fit
) => Promise<{ statusCode?: number; body?: string } | undefined | void>;

export type WsAuthorizer = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

export interface WsGatewayOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  stage: string;
  apiId?: string;
  /** REQUEST authorizer on `$connect`; identity source is the `token` query parameter. */
  authorizer?: WsAuthorizer;
  /** `$connect`, `$disconnect`, `$default` and action names such as `subscribe`. */
  routes: Record<string, WsRouteHandler>;
  /**
   * Action routes with a MOCK integration and a `$default` route response: the gateway sends
   * the rendered response template back on the socket and invokes nothing. Templates may use
   * `$context.<variable>` (see MOCK_CONTEXT_VARIABLES) and nothing else of VTL.
   */
  mockRoutes?: Record<string, { responseTemplate: string }>;
  maxMessageBytes?: number;
  idleTimeoutMs?: number;
  maxDurationMs?: number;
  integrationTimeoutMs?: number;
  logger?: Logger;
}

export interface WsGateway {
  /** `ws://{host}:{port}/{stage}` */
  url: string;
  /** `http://{host}:{port}/{stage}`: the `endpoint` of an ApiGatewayManagementApiClient. */
  managementEndpoint: string;
  port: number;
  connectionCount(): number;
  /**
   * Fault injection for tests: management API POSTs to the connections `match` accepts are
   * answered with `status` and `x-amzn-errortype: errorType` (as API Gateway answers a throttled
   * or failing post) until the fault is cleared with `undefined`.
   */
  injectPostFault(fault: PostFault | undefined): void;
  stop(): Promise<void>;
}

export interface PostFault {
  match: (connection: { connectionId: string; authorizer?: Record<string, unknown> }) => boolean;
  status: number;
  errorType: string;
}

// ---- internal state ---------------------------------------------------------------------------

/** What API Gateway knows about a connection from its upgrade request on. */
interface ConnectionContext {
  connectionId: string;
  connectedAt: number;
  identity: { sourceIp: string; userAgent?: string };
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  query: Record<string, string>;
  multiValueQuery: Record<string, string[]>;
  authorizer?: Record<string, unknown>;
}

interface Connection {
  readonly context: ConnectionContext;
  readonly socket: WebSocket;
  readonly idleTimer: NodeJS.Timeout;
  readonly lifetimeTimer: NodeJS.Timeout;
  readonly closed: Promise<void>;
  lastActiveAt: number;
  state: 'open' | 'closing';
  /** Set when the gateway (not the client) ends the connection; reported in `$disconnect`. */
  serverClose?: { code: number; reason: string };
}

type Invocation =
  | { kind: 'result'; value: Awaited<ReturnType<WsRouteHandler>> }
  | { kind: 'error'; error: unknown }
  | { kind: 'timeout' };

/** Thrown inside the upgrade ladder; answered with an HTTP status before the socket opens. */
class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    message = STATUS_CODES[status] ?? 'Error',
  ) {
    super(message);
    this.name = 'UpgradeRefused';
  }
}

/** A management API error the SDK maps by `x-amzn-errortype` to its exception class. */
class ManagementApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = 'ManagementApiError';
  }
}

// ---- the gateway ------------------------------------------------------------------------------

export async function startWsGateway(options: WsGatewayOptions): Promise<WsGateway> {
  const opts = {
    host: '127.0.0.1',
    port: 0,
    apiId: 'local',
    maxMessageBytes: WS_LIMITS.maxMessageBytes,
    idleTimeoutMs: WS_LIMITS.idleTimeoutMs,
    maxDurationMs: WS_LIMITS.maxDurationMs,
    integrationTimeoutMs: WS_LIMITS.integrationTimeoutMs,
    ...options,
  };
  if (!/^[A-Za-z0-9_-]+$/.test(opts.stage)) throw new TypeError(`invalid stage name "${opts.stage}"`);
  const mockRoutes = opts.mockRoutes ?? {};
  for (const [routeKey, route] of Object.entries(mockRoutes)) {
    if (routeKey.startsWith('$') || Object.hasOwn(opts.routes, routeKey)) {
      throw new TypeError(`mock route "${routeKey}" must be an action route without a handler`);
    }
    checkMockTemplate(routeKey, route.responseTemplate);
  }
  const logger = opts.logger ?? createLogger('ws-gateway');
  const stagePath = `/${opts.stage}`;
  const registry = new Map<string, Connection>();
  /** Upgrades and route invocations under way; `stop()` waits for all of them. */
  const inFlight = new Set<Promise<unknown>>();
  let stopping = false;
  let domainName = '';
  let postFault: PostFault | undefined;

  const wssOptions: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    clientTracking: false,
    // ws defaults to 100 MiB; API Gateway closes with 1009 above its message quota.
    maxPayload: opts.maxMessageBytes,
    perMessageDeflate: false,
    closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS,
  };
  const wss = new WebSocketServer(wssOptions);
  const server = createServer((req, res) => {
    track(handleHttpRequest(req, res)).catch((error: unknown) => {
      logger.error('management API request failed', { error });
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal server error' });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(handleUpgrade(req, socket, head)).catch((error: unknown) => {
      logger.error('upgrade failed', { error });
      refuseUpgrade(socket, 500);
    });
  });

  function track<T>(promise: Promise<T>): Promise<T> {
    inFlight.add(promise);
    const remove = () => inFlight.delete(promise);
    promise.then(remove, remove);
    return promise;
  }

  // ---- upgrade ladder: every early return answers with its own HTTP status --------------------

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const ignoreSocketError = () => {};
    socket.on('error', ignoreSocketError); // the client may go away while we authorize
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      if (stopping) throw new UpgradeRefused(503);
      if (url.pathname !== stagePath) throw new UpgradeRefused(404);
      if (req.method !== 'GET') throw new UpgradeRefused(405);
      if (!isWebSocketHandshake(req)) throw new UpgradeRefused(400);

      const context = newConnectionContext(req, url);
      if (opts.authorizer) context.authorizer = await authorize(opts.authorizer, context);
      await runConnectRoute(context);

      if (stopping || socket.destroyed) {
        // $connect succeeded but the socket will never open: $disconnect still runs once.
        const code = socket.destroyed ? CLOSE_CODES.abnormal : CLOSE_CODES.goingAway;
        refuseUpgrade(socket, 503);
        await runDisconnectRoute(context, code, CLOSE_REASONS[code]!);
        return;
      }
      socket.off('error', ignoreSocketError);
      wss.handleUpgrade(req, socket, head, (ws) => onOpen(ws, context));
    } catch (error) {
      if (!(error instanceof UpgradeRefused)) throw error;
      refuseUpgrade(socket, error.status, error.message);
    }
  }

  async function authorize(authorizer: WsAuthorizer, context: ConnectionContext) {
    const token = context.query[IDENTITY_SOURCE_QUERY_PARAM];
    // A missing identity source is refused before the authorizer runs.
    if (!token) throw new UpgradeRefused(401, 'Unauthorized');
    const methodArn = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${opts.apiId}/${opts.stage}/$connect`;
    const started = Date.now();
    let result: APIGatewayAuthorizerResult;
    try {
      result = await authorizer(authorizerEvent(context, methodArn));
    } catch (error) {
      // AWS convention: an error with the message "Unauthorized" is a 401; anything else a 500.
      if (error instanceof Error && error.message === 'Unauthorized') {
        throw new UpgradeRefused(401, 'Unauthorized');
      }
      logger.error('authorizer threw', { connectionId: context.connectionId, error });
      throw new UpgradeRefused(500, 'Internal server error');
    }
    const authorizerContext = validAuthorizerContext(result);
    if (!authorizerContext) {
      logger.error('authorizer returned an invalid result (AuthorizerConfigurationException)', {
        connectionId: context.connectionId,
      });
      throw new UpgradeRefused(500, 'Internal server error');
    }
    if (!policyAllows(result.policyDocument, methodArn)) throw new UpgradeRefused(403, 'Forbidden');
    return {
      ...authorizerContext,
      principalId: result.principalId,
      integrationLatency: Date.now() - started,
    };
  }

  async function runConnectRoute(context: ConnectionContext): Promise<void> {
    const outcome = await invokeRoute('$connect', connectEvent(context));
    if (!outcome) return;
    if (outcome.kind === 'error') throw new UpgradeRefused(502, 'Internal server error');
    if (outcome.kind === 'timeout') throw new UpgradeRefused(504, 'Endpoint request timed out');
    // No statusCode counts as success; a non-2xx one is what the client gets (nonsense ones: 502).
    const status = outcome.value?.statusCode ?? 200;
    if (status >= 200 && status <= 299) return;
    throw new UpgradeRefused(Number.isInteger(status) && status >= 300 && status <= 599 ? status : 502);
  }

  // ---- open connections ------------------------------------------------------------------------

  function onOpen(socket: WebSocket, context: ConnectionContext): void {
    let markClosed = () => {};
    const closed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    const connection: Connection = {
      context,
      socket,
      closed,
      lastActiveAt: context.connectedAt,
      state: 'open',
      idleTimer: setTimeout(() => serverClose(connection, CLOSE_CODES.goingAway), opts.idleTimeoutMs),
      lifetimeTimer: setTimeout(() => serverClose(connection, CLOSE_CODES.goingAway), opts.maxDurationMs),
    };
    registry.set(context.connectionId, connection);

    socket.on('message', (data: RawData, isBinary: boolean) => onMessage(connection, data, isBinary));
    socket.on('error', (error: Error & { code?: string }) => {
      // ws already closes the socket with the matching code (1009 over maxPayload, 1007 bad UTF-8 …).
      const code =
        error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? CLOSE_CODES.messageTooBig
          : error.code === 'WS_ERR_INVALID_UTF8'
            ? CLOSE_CODES.invalidPayload
            : CLOSE_CODES.protocolError;
      connection.serverClose ??= { code, reason: CLOSE_REASONS[code]! };
      logger.info('client broke the WebSocket protocol', { connectionId: context.connectionId, code });
    });
    socket.on('close', (code: number, reason: Buffer) => {
      clearTimeout(connection.idleTimer);
      clearTimeout(connection.lifetimeTimer);
      registry.delete(context.connectionId);
      const statusCode = connection.serverClose?.code ?? code;
      const text = connection.serverClose?.reason ?? (reason.toString() || (CLOSE_REASONS[code] ?? ''));
      track(runDisconnectRoute(context, statusCode, text));
      markClosed();
    });
  }

  function serverClose(connection: Connection, code: number, reason = CLOSE_REASONS[code] ?? ''): void {
    if (connection.state !== 'open') return;
    connection.state = 'closing';
    connection.serverClose = { code, reason };
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.lifetimeTimer);
    connection.socket.close(code, reason);
  }

  function onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.state !== 'open') return;
    // API Gateway does not accept binary frames.
    if (isBinary) {
      serverClose(connection, CLOSE_CODES.unsupportedData);
      return;
    }
    connection.lastActiveAt = Date.now();
    connection.idleTimer.refresh();

    const body = rawDataToBuffer(data).toString('utf8');
    const routeKey = selectRoute(body);
    const requestId = newAwsId();
    if (!routeKey) {
      // No matching route and no $default: AWS answers on the socket and keeps it open.
      replyOnSocket(connection, 'Forbidden', requestId);
      return;
    }
    const context = requestContext(connection.context, routeKey, 'MESSAGE', requestId, {
      messageId: newAwsId(),
    });
    const mock = Object.hasOwn(mockRoutes, routeKey) ? mockRoutes[routeKey] : undefined;
    if (mock) {
      // MOCK integration + `$default` route response: API Gateway answers, nothing is invoked.
      if (connection.socket.readyState === WebSocket.OPEN) {
        connection.socket.send(renderMockTemplate(mock.responseTemplate, context));
      }
      return;
    }
    const event: WsRouteEvent = { requestContext: context, body, isBase64Encoded: false };
    // Route responses are not configured, so a handler's returned body is discarded, as on AWS.
    track(invokeRoute(routeKey, event)).then((outcome) => {
      if (outcome?.kind === 'error') replyOnSocket(connection, 'Internal server error', requestId);
      if (outcome?.kind === 'timeout') replyOnSocket(connection, 'Endpoint request timed out', requestId);
    });
  }

  function selectRoute(body: string): string | undefined {
    let action: unknown;
    try {
      action = (JSON.parse(body) as { action?: unknown } | null)?.action;
    } catch {
      action = undefined; // not JSON: $default
    }
    const isActionRoute =
      typeof action === 'string' &&
      !action.startsWith('$') &&
      (Object.hasOwn(opts.routes, action) || Object.hasOwn(mockRoutes, action));
    if (isActionRoute) return action as string;
    return Object.hasOwn(opts.routes, '$default') ? '$default' : undefined;
  }

  function replyOnSocket(connection: Connection, message: string, requestId: string): void {
    if (connection.state !== 'open' || connection.socket.readyState !== WebSocket.OPEN) return;
    connection.socket.send(
      JSON.stringify({ message, connectionId: connection.context.connectionId, requestId }),
    );
  }

  async function runDisconnectRoute(context: ConnectionContext, code: number, reason: string): Promise<void> {
    const host = domainName;
    await invokeRoute('$disconnect', {
      // AWS sends this fixed, mostly empty header set on $disconnect.
      headers: { Host: host, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
      multiValueHeaders: { Host: [host], 'x-api-key': [''], 'X-Forwarded-For': [''], 'x-restapi': [''] },
      requestContext: requestContext(context, '$disconnect', 'DISCONNECT', newAwsId(), {
        disconnectStatusCode: code,
        disconnectReason: reason,
      }),
      isBase64Encoded: false,
    });
  }

  /** Calls a route if it exists; never throws. `undefined` when the route is not defined. */
  async function invokeRoute(routeKey: string, event: WsRouteEvent): Promise<Invocation | undefined> {
    const handler = Object.hasOwn(opts.routes, routeKey) ? opts.routes[routeKey] : undefined;
    if (!handler) return undefined;
    // @types/aws-lambda marks messageId as always present; AWS sends it on MESSAGE events only.
    const running = track(
      Promise.resolve()
        .then(() => handler(event as unknown as Parameters<WsRouteHandler>[0]))
        .then(
          (value): Invocation => ({ kind: 'result', value }),
          (error: unknown): Invocation => ({ kind: 'error', error }),
        ),
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<Invocation>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), opts.integrationTimeoutMs);
    });
    const outcome = await Promise.race([running, timedOut]);
    clearTimeout(timer);
    const { connectionId, requestId } = event.requestContext;
    if (outcome.kind === 'error') {
      logger.error('route handler threw', { routeKey, connectionId, requestId, error: outcome.error });
    } else if (outcome.kind === 'timeout') {
      logger.error('route handler exceeded the integration timeout', { routeKey, connectionId, requestId });
    }
    return outcome;
  }

  // ---- management API: /{stage}/@connections/{id} ----------------------------------------------

  async function handleHttpRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('x-amzn-requestid', requestId);
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const prefix = `${stagePath}/${CONNECTIONS_PATH}/`;
    if (path === stagePath) return sendJson(res, 426, { message: 'Upgrade Required' });
    if (!path.startsWith(prefix) || path.length === prefix.length) {
      return sendJson(res, 404, { message: 'Not Found' });
    }
    try {
      const connectionId = decodeConnectionId(path.slice(prefix.length));
      switch (req.method) {
        case 'POST': {
          const data = await readPayload(req, WS_LIMITS.managementPayloadBytes);
          const target = openConnection(connectionId);
          if (postFault?.match(target.context)) {
            throw new ManagementApiError(postFault.status, postFault.errorType, 'Injected fault');
          }
          await postToConnection(target, data);
          return sendEmpty(res, 200);
        }
        case 'GET': {
          const connection = openConnection(connectionId);
          return sendJson(res, 200, {
            connectedAt: new Date(connection.context.connectedAt).toISOString(),
            identity: connection.context.identity,
            lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
          });
        }
        case 'DELETE':
          serverClose(openConnection(connectionId), CLOSE_CODES.normal);
          return sendEmpty(res, 204);
        default:
          res.setHeader('allow', 'GET, POST, DELETE');
          return sendJson(res, 405, { message: 'Method Not Allowed' });
      }
    } catch (error) {
      if (!(error instanceof ManagementApiError)) throw error;
      if (error.status === 413) req.resume();
      res.setHeader('x-amzn-errortype', error.errorType);
      sendJson(res, error.status, { message: error.message });
    }
  }

  function openConnection(connectionId: string): Connection {
    const connection = registry.get(connectionId);
    if (connection?.state !== 'open') {
      throw new ManagementApiError(410, 'GoneException', `Connection ${connectionId} is gone`);
    }
    return connection;
  }

  function postToConnection(connection: Connection, data: Buffer): Promise<void> {
    // Valid UTF-8 goes out as a text frame, anything else as a binary frame (see the docs).
    return new Promise((resolve, reject) => {
      connection.socket.send(data, { binary: !isUtf8(data) }, (error) => {
        if (error) reject(new ManagementApiError(410, 'GoneException', 'Connection closed while sending'));
        else resolve();
      });
    });
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  domainName = `${opts.host}:${port}`;

  function newConnectionContext(req: IncomingMessage, url: URL): ConnectionContext {
    const sourceIp = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const userAgent = req.headers['user-agent'];
    const { single: headers, multi: multiValueHeaders } = collectPairs(pairsOf(req.rawHeaders));
    // API Gateway terminates the client's connection and forwards these.
    headers['X-Forwarded-For'] ??= sourceIp;
    headers['X-Forwarded-Port'] ??= String(port);
    headers['X-Forwarded-Proto'] ??= 'http';
    for (const name of ['X-Forwarded-For', 'X-Forwarded-Port', 'X-Forwarded-Proto']) {
      multiValueHeaders[name] ??= [headers[name]!];
    }
    const { single: query, multi: multiValueQuery } = collectPairs([...url.searchParams]);
    return {
      connectionId: newAwsId(),
      connectedAt: Date.now(),
      identity: userAgent === undefined ? { sourceIp } : { sourceIp, userAgent },
      headers,
      multiValueHeaders,
      query,
      multiValueQuery,
    };
  }

  function requestContext(
    context: ConnectionContext,
    routeKey: string,
    eventType: WsEventType,
    requestId: string,
    extra: Partial<WsRequestContext> = {},
  ): WsRequestContext {
    const now = new Date();
    return {
      routeKey,
      ...(extra.messageId === undefined ? {} : { messageId: extra.messageId }),
      eventType,
      extendedRequestId: requestId,
      requestTime: formatRequestTime(now),
      messageDirection: 'IN',
      stage: opts.stage,
      connectedAt: context.connectedAt,
      requestTimeEpoch: now.getTime(),
      identity: context.identity,
      requestId,
      domainName,
      connectionId: context.connectionId,
      apiId: opts.apiId,
      ...(context.authorizer ? { authorizer: context.authorizer } : {}),
      ...(extra.disconnectStatusCode === undefined
        ? {}
        : {
            disconnectStatusCode: extra.disconnectStatusCode,
            disconnectReason: extra.disconnectReason ?? '',
          }),
    };
  }

  function connectEvent(context: ConnectionContext): WsRouteEvent {
    const hasQuery = Object.keys(context.query).length > 0;
    return {
      headers: context.headers,
      multiValueHeaders: context.multiValueHeaders,
      ...(hasQuery
        ? { queryStringParameters: context.query, multiValueQueryStringParameters: context.multiValueQuery }
        : {}),
      requestContext: requestContext(context, '$connect', 'CONNECT', newAwsId()),
      isBase64Encoded: false,
    };
  }

  /**
   * The REQUEST authorizer input for WebSocket APIs. It has no `resource`, `path`, `httpMethod`
   * or `pathParameters` (the @types/aws-lambda type is the REST API one), hence the cast.
   */
  function authorizerEvent(context: ConnectionContext, methodArn: string): APIGatewayRequestAuthorizerEvent {
    return {
      type: 'REQUEST',
      methodArn,
      headers: context.headers,
      multiValueHeaders: context.multiValueHeaders,
      queryStringParameters: context.query,
      multiValueQueryStringParameters: context.multiValueQuery,
      stageVariables: {},
      // Built before the authorizer has run, so it carries no `authorizer` field.
      requestContext: requestContext(context, '$connect', 'CONNECT', newAwsId()),
    } as unknown as APIGatewayRequestAuthorizerEvent;
  }

  let stopped: Promise<void> | undefined;
  async function stopGateway(): Promise<void> {
    stopping = true;
    const open = [...registry.values()];
    for (const connection of open) serverClose(connection, CLOSE_CODES.goingAway);
    await Promise.all(open.map((connection) => connection.closed));
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    wss.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  logger.info('WebSocket gateway listening', { url: `ws://${domainName}${stagePath}` });
  return {
    url: `ws://${domainName}${stagePath}`,
    managementEndpoint: `http://${domainName}${stagePath}`,
    port,
    connectionCount: () => registry.size,
    injectPostFault: (fault) => {
      postFault = fault;
    },
    stop: () => {
      stopped ??= stopGateway();
      return stopped;
    },
  };
}

// ---- helpers ----------------------------------------------------------------------------------

/** The `$context` variables a mock route's template may use (API Gateway's WebSocket set). */
export const MOCK_CONTEXT_VARIABLES = [
  'apiId',
  'connectedAt',
  'connectionId',
  'domainName',
  'eventType',
  'extendedRequestId',
  'messageId',
  'requestId',
  'requestTime',
  'requestTimeEpoch',
  'routeKey',
  'stage',
  'identity.sourceIp',
  'identity.userAgent',
] as const;
const MOCK_REFERENCE = /\$context\.((?:identity|authorizer)\.[A-Za-z0-9_]+|[A-Za-z]+)/g;

/** Refuses templates that use VTL beyond `$context` references (the emulator renders no more). */
function checkMockTemplate(routeKey: string, template: string): void {
  const rest = template.replace(MOCK_REFERENCE, (reference, name: string) => {
    const known =
      (MOCK_CONTEXT_VARIABLES as readonly string[]).includes(name) || name.startsWith('authorizer.');
    if (!known) throw new TypeError(`mock route "${routeKey}": unsupported variable ${reference}`);
    return '';
  });
  if (/[$#]/.test(rest)) {
    throw new TypeError(`mock route "${routeKey}": only $context.<variable> references are supported`);
  }
}

/** Renders `$context.<variable>` references as API Gateway does (values as plain text). */
function renderMockTemplate(template: string, context: WsRequestContext): string {
  return template.replace(MOCK_REFERENCE, (_reference, name: string) => {
    const [head, key] = name.split('.') as [string, string | undefined];
    if (head === 'authorizer') return String(context.authorizer?.[key ?? ''] ?? '');
    if (head === 'identity') return String(context.identity[key as 'sourceIp'] ?? '');
    return String(context[head as keyof WsRequestContext] ?? '');
  });
}

function isWebSocketHandshake(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  return (
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    /^[+/0-9A-Za-z]{22}==$/.test(key) &&
    (version === '13' || version === '8')
  );
}

function refuseUpgrade(socket: Duplex, status: number, message = STATUS_CODES[status] ?? 'Error'): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ message });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The authorizer's context as API Gateway passes it on: flat, values as strings. */
function validAuthorizerContext(result: unknown): Record<string, string> | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const { principalId, policyDocument, context } = result as Partial<APIGatewayAuthorizerResult>;
  if (typeof principalId !== 'string' || typeof policyDocument !== 'object' || policyDocument === null) {
    return undefined;
  }
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(context ?? {})) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') return undefined; // nested objects/arrays are rejected by AWS
    flat[key] = String(value);
  }
  return flat;
}

interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
}

/** IAM evaluation for `execute-api:Invoke` on the method ARN: an explicit Deny wins, else some Allow is needed. */
function policyAllows(policy: APIGatewayAuthorizerResult['policyDocument'], methodArn: string): boolean {
  const raw = (policy as { Statement?: unknown }).Statement;
  const statements = (Array.isArray(raw) ? raw : raw ? [raw] : []) as PolicyStatement[];
  let allowed = false;
  for (const statement of statements) {
    const actions = ([] as string[]).concat(statement.Action ?? []);
    const resources = ([] as string[]).concat(statement.Resource ?? []);
    if (!actions.some((action) => wildcardMatch(action, 'execute-api:Invoke', true))) continue;
    if (!resources.some((resource) => wildcardMatch(resource, methodArn, false))) continue;
    if (statement.Effect === 'Deny') return false;
    if (statement.Effect === 'Allow') allowed = true;
  }
  return allowed;
}

function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

function pairsOf(rawHeaders: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) pairs.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return pairs;
}

/** Single-value maps keep the last value; multi-value maps keep all, as in REST-style events. */
function collectPairs(pairs: [string, string][]) {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of pairs) {
    single[name] = value;
    multi[name] = [...(multi[name] ?? []), value];
  }
  return { single, multi };
}

function decodeConnectionId(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new ManagementApiError(400, 'BadRequestException', 'Invalid connectionId');
  }
}

async function readPayload(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new ManagementApiError(413, 'PayloadTooLargeException', `Payload exceeds the ${maxBytes} byte limit`);
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function rawDataToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}

/** Connection, message and request ids look like AWS's: 11 random bytes, base64url, padded (`BFaT_fALIAMCKug=`). */
function newAwsId(): string {
  return `${randomBytes(11).toString('base64url')}=`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** `11/Nov/2024:13:51:49 +0000`, as in `requestContext.requestTime`. */
function formatRequestTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
