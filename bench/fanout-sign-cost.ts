/**
 * The fan-out's remaining per-post cost over a bare HTTP POST: SigV4 signing of one
 * PostToConnection, as SignedConnectionPoster signs it (the SDK client's own signer), measured
 * alone in this process (no stack, no sockets). Single-process: runs without the heavy lock.
 *
 *   npx tsx bench/fanout-sign-cost.ts [--posts 20000]
 *   node --cpu-prof … to see where a signature's time goes.
 */
import { managementApi } from '../core/clients/management-api';
import { sha256Hex } from '../core/pipeline/signed-post';
import { numArg } from './lib-bench';

const POSTS = numArg('posts', 20_000);

interface Signer {
  sign(request: unknown): Promise<unknown>;
}

async function main(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDBENCHEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench-secret';
  process.env.AWS_REGION ??= 'us-east-1';
  const endpoint = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod';
  const url = new URL(endpoint);
  const signer = await (managementApi(endpoint).config.signer as unknown as () => Promise<Signer>)();
  const data = Buffer.from(JSON.stringify({ type: 'transcript', text: 'x'.repeat(300) }));
  const hash = sha256Hex(data);
  const request = (i: number) => ({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    path: `/prod/@connections/${encodeURIComponent(`L0SM9cOFvHcCI${i}=`)}`,
    query: {},
    headers: {
      host: url.host,
      'content-type': 'application/octet-stream',
      'content-length': String(data.length),
      'x-amz-content-sha256': hash,
    },
    body: data,
  });
  for (let i = 0; i < 2_000; i++) await signer.sign(request(i)); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < POSTS; i++) await signer.sign(request(i));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const hash0 = process.cpuUsage();
  for (let i = 0; i < POSTS; i++) sha256Hex(data);
  const hashCpu = process.cpuUsage(hash0);
  const per = (c: NodeJS.CpuUsage) => ((c.user + c.system) / 1000 / POSTS).toFixed(4);
  console.log(
    `SigV4 sign of one PostToConnection: ${per(cpu)} ms CPU (${(wall / POSTS).toFixed(4)} ms wall), ${POSTS} posts`,
  );
  console.log(`payload SHA-256 alone (done once per message, not per post): ${per(hashCpu)} ms CPU`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
