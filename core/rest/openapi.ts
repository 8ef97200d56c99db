/**
 * The OpenAPI 3.1 document of the REST API, built from the route table (routes.ts) and the
 * zod schemas (schemas.ts) with `z.toJSONSchema`, so the document cannot drift from what the
 * handlers validate. Request bodies and query strings are described as clients send them
 * (`io: "input"`: defaults make fields optional), responses as Parley returns them.
 */
import * as z from 'zod';
import { REST_ERROR_CODES, type RestErrorCode } from './errors';
import { REST_ROUTES, type RestRouteDefinition } from './routes';
import { ErrorResponseSchema, MAX_JSON_BODY_BYTES, restRegistry } from './schemas';

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers?: { url: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
}

const REF_PREFIX = '#/components/schemas/';

function stripMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

/** Components: request schemas in their input shape, everything else in its output shape. */
function componentSchemas(): {
  schemas: Record<string, JsonSchema>;
  refFor: (schema: z.ZodType) => JsonSchema | undefined;
} {
  const requestIds = new Set<string>();
  for (const route of REST_ROUTES) {
    const id = route.body ? restRegistry.get(route.body)?.id : undefined;
    if (id) requestIds.add(id);
  }
  const options = { uri: (id: string) => `${REF_PREFIX}${id}`, unrepresentable: 'any' as const };
  const inputs = z.toJSONSchema(restRegistry, { ...options, io: 'input' }).schemas;
  const outputs = z.toJSONSchema(restRegistry, { ...options, io: 'output' }).schemas;
  const schemas: Record<string, JsonSchema> = {};
  for (const id of Object.keys(outputs)) {
    schemas[id] = stripMeta((requestIds.has(id) ? inputs[id] : outputs[id]) as JsonSchema);
  }
  return {
    schemas,
    refFor: (schema) => {
      const id = restRegistry.get(schema)?.id;
      return id ? { $ref: `${REF_PREFIX}${id}` } : undefined;
    },
  };
}

function inlineSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return stripMeta(z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema);
}

function pathParameters(path: string): unknown[] {
  return [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
}

function queryParameters(schema: z.ZodType | undefined): unknown[] {
  if (!schema) return [];
  const json = inlineSchema(schema, 'input') as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property as JsonSchema & { description?: string };
    return {
      name,
      in: 'query',
      required: json.required?.includes(name) ?? false,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

function errorResponses(codes: readonly RestErrorCode[], errorRef: JsonSchema): Record<string, unknown> {
  const byStatus = new Map<number, RestErrorCode[]>();
  for (const code of codes) {
    const status = REST_ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    responses[String(status)] = {
      description: list.map((code) => `\`${code}\`: ${REST_ERROR_CODES[code].description}`).join('; '),
      content: { 'application/json': { schema: errorRef } },
    };
  }
  return responses;
}

function operation(
  route: RestRouteDefinition,
  refFor: (s: z.ZodType) => JsonSchema | undefined,
): Record<string, unknown> {
  const errorRef = refFor(ErrorResponseSchema)!;
  const content: Record<string, unknown> = {};
  if (route.success.schema) {
    content['application/json'] = {
      schema: refFor(route.success.schema) ?? inlineSchema(route.success.schema, 'output'),
    };
  }
  for (const type of route.success.text ?? []) {
    if (!content[type]) content[type] = { schema: { type: 'string' } };
  }
  const success: Record<string, unknown> = { description: route.success.description };
  if (Object.keys(content).length > 0) success.content = content;
  if (route.success.headers) {
    success.headers = Object.fromEntries(
      Object.entries(route.success.headers).map(([name, description]) => [
        name,
        { description, schema: { type: 'string' } },
      ]),
    );
  }
  const parameters = [...pathParameters(route.path), ...queryParameters(route.query)];
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.auth ? { security: [{ bearer: [] }] } : { security: [] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            description: `JSON, at most ${MAX_JSON_BODY_BYTES / 1024} KiB`,
            content: {
              'application/json': { schema: refFor(route.body) ?? inlineSchema(route.body, 'input') },
            },
          },
        }
      : {}),
    responses: { [String(route.success.status)]: success, ...errorResponses(route.errors, errorRef) },
  };
}

let cached: OpenApiDocument | undefined;

export function openApiDocument(): OpenApiDocument {
  if (cached) return cached;
  const { schemas, refFor } = componentSchemas();
  const paths: OpenApiDocument['paths'] = {};
  for (const route of REST_ROUTES) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route, refFor);
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Parley REST API',
      version: '1',
      description:
        'Join meetings with a bot, read live transcripts, and get AI briefings and answers. Authenticate with a bearer ' +
        'JWT from the same issuer as the WebSocket API. Every error is `{ "error": { "code", "message", "field"? } }`; ' +
        'a meeting you may not read is always 404, never 403.',
    },
    tags: [
      { name: 'Meetings', description: 'Join, list, read, leave and share meetings' },
      { name: 'Transcript', description: 'Final transcript segments and downloads' },
      { name: 'Intelligence', description: 'Briefings and questions' },
      { name: 'Webhooks', description: 'Called by Recall.ai' },
      { name: 'Service', description: 'Health and documentation' },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Access token from the deployment’s issuer (Cognito on AWS, the dev issuer locally)',
        },
      },
    },
  };
  return cached;
}
