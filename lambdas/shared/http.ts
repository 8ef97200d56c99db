/**
 * Shared wiring of the REST API Lambdas (HTTP API, payload format 2.0). `httpRoute` is the one
 * wrapper every handler uses: it enforces the body size limit, parses and validates the path,
 * query and JSON body with zod, takes the user from the JWT authorizer's claims, calls the core
 * function, passes the result through its response schema (which drops anything internal),
 * and maps typed errors (core/errors.ts) to the one error shape
 * `{ "error": { "code", "message", "field"? } }`. Stack traces are logged, never returned.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { z } from 'zod';
import { sqs } from '../../core/clients/sqs';
import { queueUrl } from '../../core/config';
import { toClientError } from '../../core/error-codes';
import { createLogger } from '../../core/logger';
import type { PipelineEvent } from '../../core/pipeline/events';
import { sendPipelineEvent } from '../../core/pipeline/send-event';
import type { RecallClient } from '../../core/recall/client';
import { recallFromEnv as recallClientFromEnv } from '../../core/recall/from-env';
import { errorBody } from '../../core/rest/errors';
import { MAX_JSON_BODY_BYTES } from '../../core/rest/schemas';

/** The event as API Gateway sends it, with the JWT authorizer's claims when the route has one. */
export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Record<string, unknown>; scopes?: string[] | null } } | null;
  };
};
export type HttpResult = APIGatewayProxyStructuredResultV2;

export const logger = createLogger('rest');

export interface HttpRequest<B, Q, P> {
  /** `sub` of the caller's token; '' on routes without auth. */
  userId: string;
  body: B;
  query: Q;
  params: P;
  /** Header names lower-cased, as API Gateway delivers them. */
  headers: Record<string, string | undefined>;
  /** The body exactly as received (decoded from base64 if API Gateway encoded it). */
  rawBody: string;
  /** `GET /docs`: the API Gateway route key that matched. */
  routeKey: string;
}

export type HttpReply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; text: string; contentType: string; headers?: Record<string, string> };

export interface RouteSpec<B extends z.ZodType, Q extends z.ZodType, P extends z.ZodType> {
  /** For logs. */
  name: string;
  /** The route is behind the JWT authorizer: a request without a user is refused (401). */
  auth: boolean;
  body?: B;
  query?: Q;
  params?: P;
  /** JSON replies are parsed with it (unknown keys dropped) before they are sent. */
  response?: z.ZodType;
  /** Default MAX_JSON_BODY_BYTES. */
  maxBodyBytes?: number;
}

const BASE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...BASE_HEADERS, ...headers },
    body: JSON.stringify(body),
  };
}

export function errorResult(status: number, code: string, message: string, field?: string): HttpResult {
  return json(status, errorBody(code, message, field));
}

/** The first zod issue as a field name and a message that starts with it. */
export function describeIssue(error: z.ZodError, where: string): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: where, message: `${where}: invalid` };
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0] ?? ''].join('.');
    return { field, message: `${field}: unknown field (allowed fields are listed at /docs)` };
  }
  const field = issue.path.length > 0 ? issue.path.join('.') : where;
  return { field, message: `${field}: ${issue.message}` };
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return true; // curl -d without -H, some SDKs: judged by parsing
  const type = value.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

type Parsed<S extends z.ZodType> = z.output<S>;

/** Wraps one route: validation, auth, error mapping and logging around `run`. */
export function httpRoute<
  B extends z.ZodType = z.ZodUnknown,
  Q extends z.ZodType = z.ZodUnknown,
  P extends z.ZodType = z.ZodUnknown,
>(
  spec: RouteSpec<B, Q, P>,
  run: (request: HttpRequest<Parsed<B>, Parsed<Q>, Parsed<P>>) => Promise<HttpReply>,
): (event: HttpEvent) => Promise<HttpResult> {
  const maxBodyBytes = spec.maxBodyBytes ?? MAX_JSON_BODY_BYTES;
  return async (event) => {
    const started = performance.now();
    const requestId = event.requestContext?.requestId;
    logger.appendKeys({ route: spec.name, requestId });
    let result: HttpResult;
    try {
      result = await handle(event);
    } catch (error) {
      result = failure(error);
    }
    logger.info('request', { status: result.statusCode, ms: Math.round(performance.now() - started) });
    logger.removeKeys(['route', 'requestId']);
    return result;
  };

  async function handle(event: HttpEvent): Promise<HttpResult> {
    const rawBody =
      event.body === undefined || event.body === null
        ? ''
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').toString('utf8')
          : event.body;
    if (Buffer.byteLength(rawBody) > maxBodyBytes) {
      return errorResult(413, 'PAYLOAD_TOO_LARGE', `The body is limited to ${maxBodyBytes} bytes`);
    }
    const claims = event.requestContext?.authorizer?.jwt?.claims;
    const userId = typeof claims?.sub === 'string' ? claims.sub : '';
    if (spec.auth && userId === '') return errorResult(401, 'UNAUTHORIZED', 'Missing or invalid token');

    const params = parsePart(spec.params, event.pathParameters ?? {}, 'path');
    if ('error' in params) return params.error;
    const query = parsePart(spec.query, event.queryStringParameters ?? {}, 'query');
    if ('error' in query) return query.error;

    let body: unknown;
    if (spec.body) {
      let value: unknown = {};
      if (rawBody.trim() !== '') {
        if (!isJsonContentType(event.headers?.['content-type'])) {
          return errorResult(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
        }
        try {
          value = JSON.parse(rawBody);
        } catch (error) {
          return errorResult(400, 'BAD_JSON', `The body is not valid JSON: ${(error as Error).message}`);
        }
      }
      const parsed = spec.body.safeParse(value);
      if (!parsed.success) {
        const { field, message } = describeIssue(parsed.error, 'body');
        return errorResult(400, 'INVALID_REQUEST', message, field);
      }
      body = parsed.data;
    }

    const reply = await run({
      userId,
      body: body as Parsed<B>,
      query: query.value as Parsed<Q>,
      params: params.value as Parsed<P>,
      headers: event.headers ?? {},
      rawBody,
      routeKey: event.routeKey,
    });
    if ('text' in reply) {
      return {
        statusCode: reply.status,
        headers: { 'content-type': reply.contentType, ...BASE_HEADERS, ...reply.headers },
        body: reply.text,
      };
    }
    const out = spec.response ? spec.response.parse(reply.json) : reply.json;
    return json(reply.status, out, reply.headers);
  }
}

function parsePart(
  schema: z.ZodType | undefined,
  value: Record<string, string | undefined>,
  where: string,
): { value: unknown } | { error: HttpResult } {
  if (!schema) return { value };
  const parsed = schema.safeParse(value);
  if (parsed.success) return { value: parsed.data };
  const { field, message } = describeIssue(parsed.error, where);
  return { error: errorResult(400, 'INVALID_REQUEST', message, field) };
}

/** The one mapping (core/error-codes.ts): typed errors keep their code; the rest is INTERNAL_ERROR. */
function failure(error: unknown): HttpResult {
  const client = toClientError(error);
  if (client.internal) logger.error('request failed', { error: error as Error });
  else if (client.status < 500) logger.info('request refused', { code: client.code, status: client.status });
  else logger.warn('request failed', { code: client.code, status: client.status, error: error as Error });
  return errorResult(client.status, client.code, client.message, client.field);
}

// ----- dependencies several handlers share (built at module load, used lazily) -----

/** The Recall client, when RECALL_BASE_URL is set; its key is read on first use (core/recall/from-env.ts). */
export function recallFromEnv(): () => Promise<RecallClient | undefined> {
  return recallClientFromEnv(logger);
}

/** Sends status events to the transcript queue, like the audio gateway does. */
export function publisherFromEnv(): (event: PipelineEvent) => Promise<void> {
  const url = queueUrl('transcriptEvents');
  return (event) => sendPipelineEvent(sqs(), url, event);
}
