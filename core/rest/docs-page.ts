/**
 * `GET /docs`: the OpenAPI document rendered as one self-contained HTML page — no scripts, no
 * CDN, inline CSS only — so it works offline, in local mode and behind strict CSPs.
 */
import { REST_ERROR_CODES } from './errors';
import type { OpenApiDocument } from './openapi';
import { MAX_JSON_BODY_BYTES } from './schemas';

type JsonSchema = Record<string, unknown>;

/** Sent with the page: nothing may load from anywhere; inline styles only. */
export const DOCS_CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Inline code spans from `backticks`. */
function prose(text: string): string {
  return esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

const REF_PREFIX = '#/components/schemas/';

function refName(schema: JsonSchema): string | undefined {
  const ref = schema.$ref;
  return typeof ref === 'string' && ref.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : undefined;
}

/** A short type label: `string`, `integer 1–500`, `Meeting[]`, `"a" | "b"`. */
function typeLabel(schema: JsonSchema): string {
  const ref = refName(schema);
  if (ref) return `<a href="#schema-${esc(ref)}">${esc(ref)}</a>`;
  if (Array.isArray(schema.enum))
    return schema.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(' | ');
  if (schema.const !== undefined) return `<code>${esc(JSON.stringify(schema.const))}</code>`;
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeLabel).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : String(schema.type ?? 'any');
  if (schema.type === 'array' && schema.items) return `${typeLabel(schema.items as JsonSchema)}[]`;
  const bounds: string[] = [];
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    bounds.push(`${schema.minLength ?? 0}–${schema.maxLength ?? '∞'} chars`);
  }
  if (typeof schema.minimum === 'number' && Math.abs(schema.minimum) < 1e15)
    bounds.push(`≥ ${schema.minimum}`);
  if (typeof schema.maximum === 'number' && Math.abs(schema.maximum) < 1e15)
    bounds.push(`≤ ${schema.maximum}`);
  if (schema.maxItems !== undefined) bounds.push(`at most ${schema.maxItems}`);
  if (schema.pattern) bounds.push(`pattern <code>${esc(schema.pattern)}</code>`);
  if (schema.default !== undefined)
    bounds.push(`default <code>${esc(JSON.stringify(schema.default))}</code>`);
  return `${esc(type)}${bounds.length > 0 ? ` <span class="muted">(${bounds.join(', ')})</span>` : ''}`;
}

/** Fields of an object schema as a nested list; nested objects are expanded in place. */
function fields(schema: JsonSchema, depth = 0): string {
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (schema.type !== 'object' || !props) return `<p>${typeLabel(schema)}</p>`;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const items = Object.entries(props).map(([name, prop]) => {
    const inner = prop.type === 'array' ? (prop.items as JsonSchema | undefined) : prop;
    const nested =
      inner && inner.type === 'object' && inner.properties && depth < 3 ? fields(inner, depth + 1) : '';
    const description = typeof prop.description === 'string' ? ` — ${prose(prop.description)}` : '';
    return `<li><code>${esc(name)}</code>${required.has(name) ? '' : ' <span class="muted">optional</span>'}: ${typeLabel(prop)}${description}${nested}</li>`;
  });
  return `<ul class="fields">${items.join('')}</ul>`;
}

function mediaSchemas(content: Record<string, { schema?: JsonSchema }> | undefined): string {
  if (!content) return '';
  return Object.entries(content)
    .map(([type, { schema }]) => {
      const ref = schema ? refName(schema) : undefined;
      const label = ref ? `<a href="#schema-${esc(ref)}">${esc(ref)}</a>` : schema ? typeLabel(schema) : '';
      return `<div><code>${esc(type)}</code>: ${label}</div>`;
    })
    .join('');
}

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  security: unknown[];
  parameters?: { name: string; in: string; required: boolean; description?: string; schema: JsonSchema }[];
  requestBody?: { description?: string; content: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: JsonSchema }> }>;
}

function operationHtml(method: string, path: string, op: Operation): string {
  const params = op.parameters ?? [];
  const paramRows = params
    .map(
      (p) =>
        `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}${p.required ? '' : ', optional'}</td><td>${typeLabel(p.schema)}</td><td>${p.description ? prose(p.description) : ''}</td></tr>`,
    )
    .join('');
  const responses = Object.entries(op.responses)
    .map(
      ([status, r]) =>
        `<tr><td><b>${esc(status)}</b></td><td>${prose(r.description)}${mediaSchemas(r.content)}</td></tr>`,
    )
    .join('');
  return `<section class="op" id="op-${esc(op.operationId)}">
<h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p><b>${prose(op.summary)}</b> ${op.security.length > 0 ? '<span class="tag">bearer JWT</span>' : '<span class="tag open">no auth</span>'}</p>
${op.description ? `<p>${prose(op.description)}</p>` : ''}
${params.length > 0 ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th></th></tr>${paramRows}</table>` : ''}
${op.requestBody ? `<h4>Body</h4>${op.requestBody.description ? `<p class="muted">${prose(op.requestBody.description)}</p>` : ''}${mediaSchemas(op.requestBody.content)}` : ''}
<h4>Responses</h4><table>${responses}</table>
</section>`;
}

export function renderDocsPage(doc: OpenApiDocument): string {
  const ops: { method: string; path: string; op: Operation }[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) ops.push({ method, path, op: op as Operation });
  }
  const index = ops
    .map(
      ({ method, path, op }) =>
        `<tr><td><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span></td><td><a href="#op-${esc(op.operationId)}"><code>${esc(path)}</code></a></td><td>${op.security.length > 0 ? 'JWT' : 'none'}</td><td>${prose(op.summary)}</td></tr>`,
    )
    .join('');
  const schemas = Object.entries(doc.components.schemas)
    .map(
      ([name, schema]) =>
        `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3>${fields(schema)}</section>`,
    )
    .join('');
  const errors = Object.entries(REST_ERROR_CODES)
    .map(
      ([code, { status, description }]) =>
        `<tr><td><code>${esc(code)}</code></td><td>${status}</td><td>${prose(description)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)}</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{margin-bottom:.2rem}h2{margin-top:2.5rem;border-bottom:1px solid #dde;padding-bottom:.3rem}h3{margin:.2rem 0}h4{margin:.8rem 0 .3rem}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f8;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.3rem 0}td,th{border-bottom:1px solid #eef;padding:.3rem .5rem;text-align:left;vertical-align:top}
.op{border:1px solid #e3e6ee;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4rem;text-align:center;font:600 12px ui-monospace,monospace;color:#fff;border-radius:3px;padding:.1rem .3rem}
.get{background:#2f6fdb}.post{background:#1f9d55}.delete{background:#cc3b3b}
.tag{font-size:12px;background:#eef1f8;border-radius:3px;padding:.05rem .4rem}.tag.open{background:#fff4d6}
.muted{color:#667}.fields{margin:.2rem 0 .2rem 1rem;padding-left:1rem}a{color:#2557b8}
</style></head><body>
<h1>${esc(doc.info.title)}</h1>
<p class="muted">OpenAPI ${esc(doc.openapi)} · version ${esc(doc.info.version)} · <a href="docs/openapi.json">openapi.json</a></p>
<p>${prose(doc.info.description)}</p>
<p>Send <code>Authorization: Bearer &lt;JWT&gt;</code> on every route marked JWT. JSON bodies are limited to ${MAX_JSON_BODY_BYTES / 1024} KiB and must be sent as <code>application/json</code>.</p>
<h2>Routes</h2><table><tr><th></th><th>path</th><th>auth</th><th></th></tr>${index}</table>
${ops.map(({ method, path, op }) => operationHtml(method, path, op)).join('\n')}
<h2>Error codes</h2><p>Every error body is <code>{ "error": { "code", "message", "field"? } }</code>. Missing or invalid tokens are refused by API Gateway itself with <code>401 {"message":"Unauthorized"}</code>.</p>
<table><tr><th>code</th><th>status</th><th></th></tr>${errors}</table>
<h2>Schemas</h2>${schemas}
</body></html>`;
}
