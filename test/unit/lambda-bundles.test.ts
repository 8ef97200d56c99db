/**
 * Every Lambda the stack deploys, bundled exactly as `cdk synth` bundles it (the real asset
 * from the cloud assembly), loads in a fresh Node process with only the environment the
 * stack gives it (tokens replaced by dummy values, the AWS SDK resolvable as on Lambda) and
 * exports the handler function its template names.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { ParleyFunction } from '../../lib/constructs/parley-function';
import { flattenCfnReference } from '../../lib/nag';
import { buildParleyApp } from '../../lib/parley-app';

jest.setTimeout(120_000);

type Json = Record<string, unknown>;
const ROOT = path.resolve(__dirname, '..', '..');
const CDK_CONTEXT = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context as Json;

interface Bundle {
  name: string;
  entry: string;
  handler: string;
  dir: string;
  env: Record<string, string>;
}

let outdir: string;
let bundles: Bundle[];

/** A literal standing in for a CloudFormation value: references become `dummy`, joins keep their shape. */
function dummy(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  const flat = flattenCfnReference(value);
  if (/^<[^>]+>$/.test(flat)) {
    if (/(_URL|_ENDPOINT|ISSUER)$/.test(key)) return 'https://dummy.example.com/x';
    if (key.endsWith('_SECRET_ARN'))
      return 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dummy-AbCdEf';
  }
  return flat.replace(/<[^>]+>/g, 'dummy');
}

/**
 * Loads `file` in a fresh Node process and reports the type of `exports[handler]`, then (after
 * a newline) the AWS SDK packages that loading it required: what the function loads at init.
 */
function load(bundle: Bundle): Promise<{ code: number | null; out: string; err: string }> {
  const file = path.join(bundle.dir, 'index.js');
  const script = [
    `const m = require(${JSON.stringify(file)});`,
    `process.stdout.write(typeof m[${JSON.stringify(bundle.handler)}]);`,
    'const sdk = new Set(Object.keys(require.cache).map((f) => /node_modules\\/(@aws-sdk\\/[^/]+)/.exec(f)?.[1]).filter(Boolean));',
    "process.stdout.write('\\n' + [...sdk].sort().join(','));",
  ].join('\n');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], {
      env: {
        PATH: process.env.PATH ?? '',
        // As on Lambda: the runtime's SDK is resolvable, the rest is in the bundle.
        NODE_PATH: path.join(ROOT, 'node_modules'),
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: `parley-${bundle.name}`,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        ...bundle.env,
      },
      cwd: tmpdir(),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/**
 * CDK bundles each function with `npx --no-install esbuild …` (npm's runner for a project's own
 * esbuild), and npm's start-up costs ~0.6 s of CPU per function, ~20 s for the stack's 33. This
 * `npx`, first on PATH during the synth, runs exactly that command's binary from node_modules/.bin
 * with the same arguments (what npx resolves it to) and hands any other call to the real npx.
 */
function fastNpxDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-npx-'));
  const bin = path.join(ROOT, 'node_modules', '.bin');
  const script = [
    '#!/bin/sh',
    `if [ "$1" = "--no-install" ] && [ -x "${bin}/$2" ]; then`,
    '  name="$2"; shift 2',
    `  exec "${bin}/$name" "$@"`,
    'fi',
    `PATH=${JSON.stringify(process.env.PATH ?? '')} exec npx "$@"`,
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'npx'), script, { mode: 0o755 });
  return dir;
}

beforeAll(() => {
  outdir = mkdtempSync(path.join(tmpdir(), 'parley-bundles-'));
  const npxDir = fastNpxDir();
  const pathBefore = process.env.PATH;
  process.env.PATH = `${npxDir}${path.delimiter}${pathBefore ?? ''}`;
  try {
    synthesize();
  } finally {
    process.env.PATH = pathBefore;
    rmSync(npxDir, { recursive: true, force: true });
  }
});

function synthesize() {
  // A stand-in web app build: this test bundles the Lambdas, not the web app (no Vite here).
  const webAppDir = mkdtempSync(path.join(tmpdir(), 'parley-web-'));
  writeFileSync(path.join(webAppDir, 'index.html'), '<!doctype html><title>Parley</title>');
  const app = new App({
    outdir,
    context: { ...CDK_CONTEXT, 'aws:cdk:enable-asset-metadata': true, webAppDir },
  });
  const { stack } = buildParleyApp(app, {}, { nag: false });
  const assembly = app.synth();
  const template = JSON.parse(
    readFileSync(path.join(assembly.directory, `${stack.artifactId}.template.json`), 'utf8'),
  ) as { Resources: Record<string, { Properties: Json; Metadata?: Json }> };
  bundles = stack.node
    .findAll()
    .filter((c): c is ParleyFunction => c instanceof ParleyFunction)
    .map((f) => {
      const resource =
        template.Resources[Stack.of(f).getLogicalId(f.function.node.defaultChild as CfnElement)];
      if (!resource) throw new Error(`no resource for ${f.lambdaName}`);
      const [file, exported] = String(resource.Properties.Handler).split('.');
      expect(file).toBe('index');
      const variables = ((resource.Properties.Environment as Json | undefined)?.Variables ?? {}) as Json;
      return {
        name: f.lambdaName,
        entry: f.entry,
        handler: exported ?? '',
        dir: path.join(assembly.directory, String(resource.Metadata?.['aws:asset:path'])),
        env: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, dummy(k, v)])),
      };
    });
}

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('Lambda bundles', () => {
  it('covers every handler in lambdas/ (a new handler must be wired into the stack)', () => {
    const onDisk = readdirSync(path.join(ROOT, 'lambdas')).filter((d) =>
      existsSync(path.join(ROOT, 'lambdas', d, 'handler.ts')),
    );
    expect(bundles.map((b) => b.name).sort()).toEqual(onDisk.sort());
  });

  it('points every function at an existing lambdas/<name>/handler.ts', () => {
    for (const b of bundles) {
      expect(b.entry).toBe(path.join(ROOT, 'lambdas', b.name, 'handler.ts'));
      expect(existsSync(b.entry)).toBe(true);
      expect(existsSync(path.join(b.dir, 'index.js'))).toBe(true);
      expect(existsSync(path.join(b.dir, 'index.js.map'))).toBe(true);
    }
  });

  let loaded: { name: string; code: number | null; out: string; err: string }[];

  it('loads every bundle with only its stack environment and finds the handler function', async () => {
    loaded = await Promise.all(bundles.map(async (b) => ({ name: b.name, ...(await load(b)) })));
    for (const r of loaded.map((l) => ({ ...l, out: l.out.split('\n')[0] }))) {
      // stderr only matters when loading failed (Node prints deprecation warnings there).
      const failure = r.code === 0 ? '' : r.err;
      expect({ name: r.name, code: r.code, exported: r.out, failure }).toEqual({
        name: r.name,
        code: 0,
        exported: 'function',
        failure: '',
      });
    }
  });

  it('loads no AWS SDK client at init in any WebSocket route (lean signed calls, core/clients)', () => {
    // DynamoDB, the management API and SQS are signed HTTP requests without the SDK
    // (core/clients/dynamodb-lean.ts, core/pipeline/signed-post.ts, core/clients/sqs-lean.ts);
    // Secrets Manager loads on ws-command's first Recall call (core/clients/secrets.ts).
    const expected: Record<string, string[]> = {
      'ws-authorizer': [],
      'ws-connect': [],
      'ws-disconnect': [],
      'ws-default': [],
      'ws-subscribe': [],
      'ws-unsubscribe': [],
      'ws-subscribe-job': [],
      'ws-get-state': [],
      'ws-command': [],
    };
    const routes = loaded.filter((l) => l.name.startsWith('ws-'));
    expect(routes.map((l) => l.name).sort()).toEqual(Object.keys(expected).sort());
    for (const l of routes) {
      // Packages besides the clients (@aws-sdk/core, credential providers …) come with any client.
      const clients = (l.out.split('\n')[1] ?? '')
        .split(',')
        .filter((p) => /^@aws-sdk\/(client-|lib-)/.test(p));
      expect({ name: l.name, clients }).toEqual({
        name: l.name,
        clients: [...(expected[l.name] ?? [])].sort(),
      });
    }
  });

  it('bundles in the WebSocket routes no AWS SDK client but the Secrets Manager ws-command imports on first use', () => {
    const expected: Record<string, string[]> = {
      'ws-authorizer': [],
      'ws-connect': [],
      'ws-disconnect': [],
      'ws-default': [],
      'ws-subscribe': [],
      'ws-unsubscribe': [],
      'ws-subscribe-job': [],
      'ws-get-state': [],
      'ws-command': ['@aws-sdk/client-secrets-manager'],
    };
    const routes = bundles.filter((b) => b.name.startsWith('ws-'));
    expect(routes.map((b) => b.name).sort()).toEqual(Object.keys(expected).sort());
    for (const b of routes) {
      const code = readFileSync(path.join(b.dir, 'index.js'), 'utf8');
      // `require("…")` at load, or `import("…")` on first use.
      const sdk = [
        ...new Set([...code.matchAll(/(?:require|import)\("(@aws-sdk\/[^"/]+)[^"]*"\)/g)].map((m) => m[1])),
      ];
      expect({ name: b.name, sdk: sdk.sort() }).toEqual({
        name: b.name,
        sdk: [...(expected[b.name] ?? [])].sort(),
      });
    }
  });

  it('keeps the AWS SDK out of the bundles (the runtime provides it)', () => {
    for (const b of bundles) {
      const code = readFileSync(path.join(b.dir, 'index.js'), 'utf8');
      expect(code).not.toContain('@aws-sdk/client-dynamodb/dist');
    }
  });
});
