/**
 * Local stand-in for an API Gateway HTTP API with Lambda proxy integrations (payload format 2.0)
 * and a JWT authorizer. It builds the same `APIGatewayProxyEventV2` the Lambdas receive on AWS,
 * calls the same handlers, and maps their results the way API Gateway does:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 *
 * What it does not emulate is listed in docs/local-mode-gateway.md.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '@aws-lambda-powertools/logger';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import { UnauthorizedError } from '../core/errors';
import { createLogger } from '../core/logger';
import { listen, sendJson, stopOnce } from './http-util';

/** HTTP API payload quota is 10 MB (not adjustable). Lambda's own 6 MB invoke limit is not emulated. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const LOCAL_ACCOUNT_ID = '000000000000';
export const DEFAULT_API_ID = 'local';
/** HTTP APIs served from the default stage carry this stage name in every event. */
const STAGE = '$default';
/** Content types API Gateway passes through as text; every other body arrives base64-encoded. */
const TEXT_CONTENT_TYPES = [/^text\//, /^application\/(json|xml|javascript)$/, /\+(json|xml)$/];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
export type HttpRouteEvent = APIGatewayProxyEventV2WithJWTAuthorizer | APIGatewayProxyEventV2;

export interface HttpRoute {
  method: HttpMethod;
  /** `/meetings/{id}`; a last segment `{name+}` is greedy. */
  path: string;
  /** Protected by the JWT authorizer. */
  auth: boolean;
  handler: (event: HttpRouteEvent) => Promise<APIGatewayProxyResultV2>;
}

/** What the host needs from `core/auth/jwt-verifier`. */
export interface TokenVerifier {
  verify(token: string): Promise<{ claims: Record<string, unknown> }>;
}

export interface CorsOptions {
  allowOrigins: string[];
  /** Default: echo the preflight's Access-Control-Request-Method. */
  allowMethods?: string[];
  /** Default: echo the preflight's Access-Control-Request-Headers. */
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAgeSeconds?: number;
  allowCredentials?: boolean;
}

export interface HttpHostOptions {
  host?: string;
  port?: number;
  apiId?: string;
  routes: HttpRoute[];
  /** Required when any route has `auth: true`. */
  jwt?: TokenVerifier;
  maxBodyBytes?: number;
  cors?: CorsOptions;
  logger?: Logger;
}

export interface HttpHost {
  /** `http://{host}:{port}` with no trailing slash. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

interface CompiledRoute {
  route: HttpRoute;
  routeKey: string;
  pattern: RegExp;
  paramNames: string[];
  /** Literal segments first, greedy routes last: API Gateway picks the most specific match. */
  specificity: number;
}

/** A response API Gateway itself produces (not the integration). */
class GatewayResponse extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GatewayResponse';
  }
}

export async function startHttpHost(options: HttpHostOptions): Promise<HttpHost> {
  const opts = {
    host: '127.0.0.1',
    port: 0,
    apiId: DEFAULT_API_ID,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    ...options,
  };
  if (opts.routes.some((route) => route.auth) && !opts.jwt) {
    throw new TypeError('startHttpHost: routes with auth: true need a jwt verifier');
  }
  const logger = opts.logger ?? createLogger('http-host');
  const routes = opts.routes.map(compileRoute).sort((a, b) => b.specificity - a.specificity);

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      logger.error('http host failed to answer a request', { error });
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
      else res.destroy();
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const baseHeaders: Record<string, string> = { 'apigw-requestid': requestId };
    const origin = req.headers.origin;
    if (opts.cors && origin) Object.assign(baseHeaders, corsHeaders(opts.cors, origin));

    if (opts.cors && isPreflight(req)) {
      const preflight = origin ? preflightHeaders(opts.cors, origin, req) : {};
      res.writeHead(204, { ...baseHeaders, ...preflight });
      res.end();
      return;
    }
    try {
      const url = new URL(req.url ?? '/', 'http://local');
      const match = matchRoute(routes, req.method ?? 'GET', url.pathname);
      if (!match) throw new GatewayResponse(404, 'Not Found');
      const body = await readBody(req, opts.maxBodyBytes);
      const claims = match.compiled.route.auth ? await authorize(req, opts.jwt!) : undefined;
      const event = buildEvent({ req, url, body, match, requestId, claims, apiId: opts.apiId });
      let result: APIGatewayProxyResultV2;
      try {
        result = await match.compiled.route.handler(event);
      } catch (error) {
        logger.error('route handler threw', { routeKey: match.compiled.routeKey, requestId, error });
        throw new GatewayResponse(500, 'Internal Server Error');
      }
      writeResult(res, result, baseHeaders, opts.cors !== undefined);
    } catch (error) {
      if (!(error instanceof GatewayResponse)) throw error;
      if (error.status >= 500) logger.warn('gateway error response', { status: error.status, requestId });
      if (error.status === 413) req.resume();
      sendJson(res, error.status, { message: error.message }, { ...baseHeaders, ...error.headers });
    }
  }

  async function authorize(req: IncomingMessage, jwt: TokenVerifier): Promise<Record<string, unknown>> {
    const header = req.headers.authorization;
    // The identity source may hold the token alone or prefixed with "Bearer ".
    const token = header?.replace(/^Bearer\s+/i, '').trim();
    if (!token) throw new GatewayResponse(401, 'Unauthorized', { 'www-authenticate': 'Bearer' });
    try {
      return (await jwt.verify(token)).claims;
    } catch (error) {
      if (error instanceof UnauthorizedError) {
        const description = error.message.replace(/"/g, "'");
        throw new GatewayResponse(401, 'Unauthorized', {
          'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${description}"`,
        });
      }
      logger.error('JWT authorizer could not verify a token', { error });
      throw new GatewayResponse(500, 'Internal Server Error');
    }
  }

  const port = await listen(server, opts.port, opts.host);
  return {
    url: `http://${opts.host}:${port}`,
    port,
    stop: stopOnce(server),
  };
}

// ---- routing ----------------------------------------------------------------------------------

function compileRoute(route: HttpRoute): CompiledRoute {
  const paramNames: string[] = [];
  let specificity = 0;
  const segments = route.path.split('/').map((segment, index, all) => {
    const param = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(segment);
    if (!param) {
      specificity += 1_000;
      return escapeRegExp(segment);
    }
    paramNames.push(param[1]!);
    if (param[2] === '+') {
      if (index !== all.length - 1) throw new TypeError(`greedy parameter must be last: ${route.path}`);
      return '(.+)';
    }
    specificity += 10;
    return '([^/]+)';
  });
  return {
    route,
    routeKey: `${route.method} ${route.path}`,
    pattern: new RegExp(`^${segments.join('/')}$`),
    paramNames,
    specificity,
  };
}

interface RouteMatch {
  compiled: CompiledRoute;
  pathParameters: Record<string, string>;
}

function matchRoute(routes: CompiledRoute[], method: string, path: string): RouteMatch | undefined {
  for (const compiled of routes) {
    if (compiled.route.method !== method) continue;
    const found = compiled.pattern.exec(path);
    if (!found) continue;
    const pathParameters: Record<string, string> = {};
    compiled.paramNames.forEach((name, i) => {
      pathParameters[name] = safeDecode(found[i + 1] ?? '');
    });
    return { compiled, pathParameters };
  }
  return undefined;
}

// ---- request → event --------------------------------------------------------------------------

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new GatewayResponse(413, 'Request Entity Too Large');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) throw new GatewayResponse(413, 'Request Entity Too Large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

interface EventInput {
  req: IncomingMessage;
  url: URL;
  body: Buffer;
  match: RouteMatch;
  requestId: string;
  claims: Record<string, unknown> | undefined;
  apiId: string;
}

function buildEvent({ req, url, body, match, requestId, claims, apiId }: EventInput): HttpRouteEvent {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const target = req.url ?? '/';
  const rawQueryString = target.includes('?') ? target.slice(target.indexOf('?') + 1) : '';
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
  }
  const now = new Date();
  const domainName = headers.host ?? '';
  const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const isText = TEXT_CONTENT_TYPES.some((pattern) => pattern.test(contentType));
  const { routeKey } = match.compiled;

  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId,
      domainName,
      domainPrefix: domainName.split('.')[0]!.split(':')[0]!,
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: sourceIpOf(req),
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: STAGE,
      time: formatRequestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(match.pathParameters).length > 0 ? { pathParameters: match.pathParameters } : {}),
    ...(body.length > 0 ? { body: body.toString(isText ? 'utf8' : 'base64') } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
  if (!claims) return event;
  return {
    ...event,
    requestContext: {
      ...event.requestContext,
      authorizer: { jwt: { claims: flattenClaims(claims), scopes: scopesOf(claims) } },
    },
  };
}

/** API Gateway hands claims to the integration as strings; arrays look like `[a b]`. */
function flattenClaims(claims: Record<string, unknown>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) flat[name] = `[${value.map(String).join(' ')}]`;
    else if (typeof value === 'object') flat[name] = JSON.stringify(value);
    else flat[name] = String(value);
  }
  return flat;
}

function scopesOf(claims: Record<string, unknown>): string[] | null {
  const scope = claims.scope ?? claims.scp;
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scope)) return scope.map(String);
  return null;
}

// ---- result → response ------------------------------------------------------------------------

function writeResult(
  res: ServerResponse,
  result: APIGatewayProxyResultV2,
  baseHeaders: Record<string, string>,
  corsManaged: boolean,
): void {
  // Payload 2.0 inference: anything without a statusCode is the JSON body of a 200.
  const structured = asStructuredResult(result);
  if (!structured) {
    const body = typeof result === 'string' ? result : (JSON.stringify(result) ?? '');
    res.writeHead(200, { 'content-type': 'application/json', ...baseHeaders });
    res.end(body);
    return;
  }
  const { statusCode, headers = {}, cookies = [], body = '', isBase64Encoded = false } = structured;
  const valid =
    Number.isInteger(statusCode) &&
    statusCode! >= 100 &&
    statusCode! <= 599 &&
    typeof body === 'string' &&
    Array.isArray(cookies);
  if (!valid) throw new GatewayResponse(500, 'Internal Server Error');

  const outgoing: Record<string, string | string[]> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    // With CORS configured, API Gateway answers CORS itself and drops the integration's headers.
    if (corsManaged && lower.startsWith('access-control-')) continue;
    outgoing[lower] = String(value);
  }
  if (cookies.length > 0) outgoing['set-cookie'] = cookies;
  res.writeHead(statusCode!, { ...outgoing, ...baseHeaders });
  res.end(isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

function asStructuredResult(result: APIGatewayProxyResultV2): APIGatewayProxyStructuredResultV2 | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  return 'statusCode' in result ? (result as APIGatewayProxyStructuredResultV2) : undefined;
}

// ---- CORS -------------------------------------------------------------------------------------

function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && typeof req.headers['access-control-request-method'] === 'string';
}

function allowedOrigin(cors: CorsOptions, origin: string): string | undefined {
  if (cors.allowOrigins.includes(origin)) return origin;
  if (cors.allowOrigins.includes('*')) return cors.allowCredentials ? origin : '*';
  return undefined;
}

function corsHeaders(cors: CorsOptions, origin: string): Record<string, string> {
  const allowed = allowedOrigin(cors, origin);
  if (!allowed) return {};
  const headers: Record<string, string> = { 'access-control-allow-origin': allowed, vary: 'Origin' };
  if (cors.allowCredentials) headers['access-control-allow-credentials'] = 'true';
  if (cors.exposeHeaders?.length) headers['access-control-expose-headers'] = cors.exposeHeaders.join(',');
  return headers;
}

function preflightHeaders(cors: CorsOptions, origin: string, req: IncomingMessage): Record<string, string> {
  if (!allowedOrigin(cors, origin)) return {};
  const requestedHeaders = req.headers['access-control-request-headers'];
  const headers: Record<string, string> = {
    'access-control-allow-methods':
      cors.allowMethods?.join(',') ?? String(req.headers['access-control-request-method']),
  };
  const allowHeaders = cors.allowHeaders?.join(',') ?? requestedHeaders;
  if (allowHeaders) headers['access-control-allow-headers'] = allowHeaders;
  if (cors.maxAgeSeconds !== undefined) headers['access-control-max-age'] = String(cors.maxAgeSeconds);
  return headers;
}

// ---- small helpers ----------------------------------------------------------------------------

/** API Gateway request ids look like `Mc7UVioPPHcEKPA=`. */
function newRequestId(): string {
  return `${randomBytes(11).toString('base64url')}=`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** `12/Mar/2020:19:03:58 +0000`, as in `requestContext.time`. */
function formatRequestTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function sourceIpOf(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
