/**
 * The fan-out's per-post signing cost: SigV4 signature of one PostToConnection with the SDK
 * client's own signer (what SignedConnectionPoster used before) and with the lean signer it uses
 * now (core/clients/sigv4.ts: the day's signing key cached), measured alone in this process, the
 * two interleaved in rounds so both share the machine's load (no stack, no sockets).
 * Single-process: runs without the heavy lock.
 *
 *   npx tsx bench/fanout-sign-cost.ts [--posts 20000] [--rounds 5]
 *   node --cpu-prof … to see where a signature's time goes.
 */
import { awsCredentials } from '../core/clients/aws-credentials';
import { managementApi } from '../core/clients/management-api';
import { SigV4Signer, sha256Hex } from '../core/clients/sigv4';
import { numArg } from './lib-bench';

const POSTS = numArg('posts', 20_000);
const ROUNDS = numArg('rounds', 5);

interface Signer {
  sign(request: unknown): Promise<unknown>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDBENCHEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench-secret';
  process.env.AWS_SESSION_TOKEN ??= 'bench-session-token';
  process.env.AWS_REGION ??= 'us-east-1';
  const endpoint = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod';
  const url = new URL(endpoint);
  const sdk = await (managementApi(endpoint).config.signer as unknown as () => Promise<Signer>)();
  const lean = new SigV4Signer('execute-api', process.env.AWS_REGION, awsCredentials());
  const data = Buffer.from(JSON.stringify({ type: 'transcript', text: 'x'.repeat(300) }));
  const hash = sha256Hex(data);
  const path = (i: number) => `/prod/@connections/${encodeURIComponent(`L0SM9cOFvHcCI${i}=`)}`;
  const headers = {
    host: url.host,
    'content-type': 'application/octet-stream',
    'content-length': String(data.length),
    'x-amz-content-sha256': hash,
  };
  const signSdk = (i: number) =>
    sdk.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      path: path(i),
      query: {},
      headers: { ...headers },
      body: data,
    });
  // As SignedConnectionPoster.call does it, per post.
  const signLean = (i: number) => lean.sign({ method: 'POST', path: path(i), headers, payloadHash: hash });

  const measure = async (sign: (i: number) => Promise<unknown>) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < POSTS; i++) await sign(i);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { cpu: (cpu.user + cpu.system) / 1000 / POSTS, wall: wall / POSTS };
  };
  for (let i = 0; i < 2_000; i++) {
    await signSdk(i); // warm-up
    await signLean(i);
  }
  const sdkRuns: { cpu: number; wall: number }[] = [];
  const leanRuns: { cpu: number; wall: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    sdkRuns.push(await measure(signSdk));
    leanRuns.push(await measure(signLean));
  }
  const hash0 = process.cpuUsage();
  for (let i = 0; i < POSTS; i++) sha256Hex(data);
  const hashCpu = process.cpuUsage(hash0);
  const fmt = (runs: { cpu: number; wall: number }[]) =>
    `${median(runs.map((r) => r.cpu)).toFixed(4)} ms CPU (${median(runs.map((r) => r.wall)).toFixed(4)} ms wall)`;
  console.log(
    `SigV4 sign of one PostToConnection, median of ${ROUNDS} rounds × ${POSTS} posts, interleaved:`,
  );
  console.log(`  SDK client's signer: ${fmt(sdkRuns)}`);
  console.log(`  lean signer (core/clients/sigv4.ts): ${fmt(leanRuns)}`);
  const saved = median(sdkRuns.map((r) => r.cpu)) - median(leanRuns.map((r) => r.cpu));
  console.log(
    `  saved per post: ${saved.toFixed(4)} ms CPU = ${(saved * 1000).toFixed(0)} ms per 1,000-subscriber fan-out`,
  );
  console.log(
    `payload SHA-256 alone (done once per message, not per post): ${((hashCpu.user + hashCpu.system) / 1000 / POSTS).toFixed(4)} ms CPU`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
