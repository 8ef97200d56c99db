/**
 * Lambda bundle size and cold module-initialisation time.
 *
 *   npx tsx bench/lambda-bundles.ts [--runs 5] [--json] [--compare <git-ref>]
 *
 * `--compare main` also bundles and times every connection-path handler (and the fan-out) as it is at that ref
 * (its lambdas/ and core/ extracted with `git archive` into a scratch folder inside the repo,
 * so the same node_modules resolve), interleaved run by run with the current ones, so the
 * before/after figures come from the same run on the same (loaded) machine.
 *
 * Bundles every lambdas/<name>/handler.ts exactly as lib/constructs/parley-function.ts does
 * (esbuild, minified, cjs, node22, source maps, @aws-sdk/* external), plus an empty handler as
 * the baseline, then times `require(bundle)` in a fresh Node process per run with
 * process.hrtime — the @aws-sdk/* modules load from node_modules at that point, as Lambda
 * loads the SDK it ships. Reports the median of the runs. Targets for the connection path
 * (the ws-* functions, issue #15.4): bundle ≤ 150 KB and init ≤ 50 ms over the empty handler.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { BUCKETS, QUEUES, TABLES } from '../core/resources';
import { esbuildOptions, LAMBDA_NODE_OPTIONS, REPO_ROOT } from '../lib/constructs/parley-function';

const MAX_BYTES = 150 * 1024;
/** Over the empty-handler baseline of the same run. */
const MAX_INIT_OVER_BASELINE_MS = 50;

interface Row {
  name: string;
  bytes: number;
  initMs: number;
  /** CPU time (user + system) of the same `require`: far less sensitive to a loaded machine. */
  cpuMs: number;
  runs: number[];
  connectionPath: boolean;
  /** The same handler at the `--compare` ref, when it exists there. */
  before?: { bytes: number; initMs: number; cpuMs: number; runs: number[] };
}

function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (i >= 0 && (value === undefined || value.startsWith('--'))) throw new Error(`${name} needs a value`);
  return value;
}

/** Extracts lambdas/ and core/ of `ref` into a scratch folder inside the repo; returns it. */
function extractRef(ref: string): string {
  const dir = mkdtempSync(path.join(REPO_ROOT, '.bench-ref-'));
  const tar = execFileSync('git', ['archive', '--format=tar', ref, 'lambdas', 'core'], {
    cwd: REPO_ROOT,
    maxBuffer: 256 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  return dir;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Every setting any handler reads at module load, with plausible values (what the stack sets). */
function dummyEnvironment(): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'parley-bench',
    NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
    POWERTOOLS_METRICS_NAMESPACE: 'Parley',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    LOG_LEVEL: 'ERROR',
    WS_MANAGEMENT_ENDPOINT: 'https://abc123.execute-api.us-east-1.amazonaws.com/dev',
    OIDC_ISSUER: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench',
    OIDC_AUDIENCE: 'bench-client',
    RECALL_BASE_URL: 'https://us-east-1.recall.ai',
    RECALL_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:recall-AbCdEf',
    OPENAI_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-AbCdEf',
    RECALL_WEBHOOK_SECRET_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf',
    AUDIO_GATEWAY_URL: 'wss://audio.example.com',
  };
  // Every queue (the fan-out's shard queue too), so every handler loads.
  for (const [key, def] of Object.entries(QUEUES)) {
    env[def.envVar] = `https://sqs.us-east-1.amazonaws.com/123456789012/bench-${key}.fifo`;
    env[def.dlq.envVar] = `https://sqs.us-east-1.amazonaws.com/123456789012/bench-${key}-dlq.fifo`;
  }
  for (const def of Object.values(TABLES)) env[def.envVar] = `bench-${def.localName}`;
  for (const def of Object.values(BUCKETS)) env[def.envVar] = `bench-${def.localName}`;
  return env;
}

/** Milliseconds `require(file)` takes in a fresh process; throws if loading fails. */
function timeRequire(file: string, env: Record<string, string>): { wall: number; cpu: number } {
  const script = [
    'const cpu0 = process.cpuUsage();',
    'const start = process.hrtime.bigint();',
    `const m = require(${JSON.stringify(file)});`,
    'const ms = Number(process.hrtime.bigint() - start) / 1e6;',
    'const cpu = process.cpuUsage(cpu0);',
    "if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(2); }",
    "process.stdout.write(ms + ' ' + (cpu.user + cpu.system) / 1000);",
  ].join('\n');
  const result = spawnSync(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH ?? '', NODE_PATH: path.join(REPO_ROOT, 'node_modules'), ...env },
    cwd: tmpdir(),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`${file} failed to load (${result.status}): ${result.stderr}`);
  const [wall, cpu] = result.stdout.split(' ').map(Number);
  return { wall: wall as number, cpu: cpu as number };
}

async function bundle(entry: string, outdir: string, name: string): Promise<string> {
  const outfile = path.join(outdir, name, 'index.js');
  await build(esbuildOptions(entry, outfile));
  return outfile;
}

function machine(): string {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux
  }
  return `${cpus().length} vCPU (nproc), ${model}, Node ${process.version}, ${process.platform}/${process.arch}`;
}

async function main(): Promise<void> {
  const runs = arg('--runs', 5);
  const compare = stringArg('--compare');
  const outdir = mkdtempSync(path.join(tmpdir(), 'parley-bench-'));
  const refDir = compare ? extractRef(compare) : undefined;
  const env = dummyEnvironment();
  try {
    const baselineEntry = path.join(outdir, 'baseline.ts');
    writeFileSync(baselineEntry, 'export async function handler(): Promise<void> {}\n');
    const names = readdirSync(path.join(REPO_ROOT, 'lambdas'))
      .filter((d) => {
        try {
          return statSync(path.join(REPO_ROOT, 'lambdas', d, 'handler.ts')).isFile();
        } catch {
          return false;
        }
      })
      .sort();
    const entries: [string, string][] = [
      ['(baseline: empty handler)', baselineEntry],
      ...names.map((n): [string, string] => [n, path.join(REPO_ROOT, 'lambdas', n, 'handler.ts')]),
    ];

    const rows: Row[] = [];
    for (const [name, entry] of entries) {
      const file = await bundle(entry, outdir, name.startsWith('(') ? 'baseline' : name);
      const connectionPath = name.startsWith('ws-');
      // The fan-out too: its cold start (briefing engine built on first use) is compared as well.
      const compared = connectionPath || name === 'fanout';
      const refEntry = refDir && compared ? path.join(refDir, 'lambdas', name, 'handler.ts') : '';
      const refFile =
        refEntry && statSync(refEntry, { throwIfNoEntry: false })?.isFile()
          ? await bundle(refEntry, outdir, `${name}@ref`)
          : undefined;
      const times: number[] = [];
      const refTimes: number[] = [];
      const cpu: number[] = [];
      const refCpu: number[] = [];
      for (let i = 0; i < runs; i++) {
        // Interleaved, so a burst of load on the machine hits both alike.
        const now = timeRequire(file, env);
        times.push(now.wall);
        cpu.push(now.cpu);
        if (refFile) {
          const ref = timeRequire(refFile, env);
          refTimes.push(ref.wall);
          refCpu.push(ref.cpu);
        }
      }
      rows.push({
        name,
        bytes: statSync(file).size,
        initMs: median(times),
        cpuMs: median(cpu),
        runs: times,
        connectionPath,
        ...(refFile
          ? {
              before: {
                bytes: statSync(refFile).size,
                initMs: median(refTimes),
                cpuMs: median(refCpu),
                runs: refTimes,
              },
            }
          : {}),
      });
    }

    if (process.argv.includes('--json')) {
      console.log(JSON.stringify({ machine: machine(), runs, compare, rows }, null, 2));
      return;
    }
    const baseline = rows[0]?.initMs ?? 0;
    const cpuBaseline = rows[0]?.cpuMs ?? 0;
    const lines = [
      `Machine: ${machine()}`,
      `Command: npx tsx bench/lambda-bundles.ts (median of ${runs} fresh processes per bundle; NODE_OPTIONS=${LAMBDA_NODE_OPTIONS})`,
      ...(compare ? [`Compared with: ${compare} (connection-path functions; "before" = at ${compare})`] : []),
      '',
      '| function | bundle (KB) | init median (ms) | over baseline (ms) | init CPU (ms) | CPU over baseline (ms) | target (≤ 150 KB, ≤ 50 ms over baseline) |',
      '|---|---:|---:|---:|---:|---:|---|',
      ...rows.map((r) => {
        const verdict = r.connectionPath
          ? r.bytes <= MAX_BYTES && r.initMs - baseline <= MAX_INIT_OVER_BASELINE_MS
            ? 'met'
            : `MISSED (${[r.bytes > MAX_BYTES ? 'size' : '', r.initMs - baseline > MAX_INIT_OVER_BASELINE_MS ? 'init' : ''].filter(Boolean).join(', ')})`
          : '—';
        return `| ${r.name} | ${(r.bytes / 1024).toFixed(1)} | ${r.initMs.toFixed(1)} | ${(r.initMs - baseline).toFixed(1)} | ${r.cpuMs.toFixed(1)} | ${(r.cpuMs - cpuBaseline).toFixed(1)} | ${verdict} |`;
      }),
    ];
    const compared = rows.filter((r) => r.before);
    if (compared.length > 0) {
      lines.push(
        '',
        `| function | bundle before → after (KB) | init before → after (ms) | over baseline before → after (ms) | CPU over baseline before → after (ms) |`,
        '|---|---:|---:|---:|---:|',
        ...compared.map((r) => {
          const b = r.before as NonNullable<Row['before']>;
          return `| ${r.name} | ${(b.bytes / 1024).toFixed(1)} → ${(r.bytes / 1024).toFixed(1)} | ${b.initMs.toFixed(1)} → ${r.initMs.toFixed(1)} | ${(b.initMs - baseline).toFixed(1)} → ${(r.initMs - baseline).toFixed(1)} | ${(b.cpuMs - cpuBaseline).toFixed(1)} → ${(r.cpuMs - cpuBaseline).toFixed(1)} |`;
        }),
      );
    }
    console.log(lines.join('\n'));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
    if (refDir) rmSync(refDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
