/**
 * The fan-out poster's own CPU per post against a bare HTTP POST's, without the stack: the
 * poster of the fan-out Lambda (core/pipeline/signed-post.ts, signed, concurrency 50 as
 * ConnectionFanout runs it) and the bare node:http POST loop of bench/fanout.ts's floor, each
 * posting one body to 1,000 connection paths of a trivial HTTP server in a child process (so
 * only the client's side is measured), interleaved in rounds so both share the machine's load.
 * Single-process client: runs without the heavy lock.
 *
 *   npx tsx bench/fanout-post-cost.ts [--posts 1000] [--rounds 30]
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { SignedConnectionPoster } from '../core/pipeline/signed-post';
import { markdownTable, numArg } from './lib-bench';

const POSTS = numArg('posts', 1000);
const ROUNDS = numArg('rounds', 30);
const CONCURRENCY = 50;

/** The management API's stand-in: answers every request 200, empty, on kept-alive sockets. */
const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end()); });
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

async function loop(ids: readonly string[], post: (id: string) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < ids.length) await post(ids[next++] as string);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const quantile = (sorted: number[], q: number) => sorted[Math.floor(q * (sorted.length - 1))] as number;

async function main(): Promise<void> {
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDBENCHEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench-secret';
  process.env.AWS_REGION ??= 'us-east-1';
  const server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => server.once('message', (m) => resolve(m as number)));
  const endpoint = `http://127.0.0.1:${port}/local`;
  const ids = Array.from({ length: POSTS }, (_, i) => `L0SM9cOFvHcC${i}=`);
  const data = Buffer.from(
    JSON.stringify({
      type: 'transcript',
      meetingId: 'm_bench',
      transcript: { seq: 1, text: 'x'.repeat(250) },
    }),
  );
  // bench/fanout.ts's floor, as it posts.
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const bare = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const url = new URL(`${endpoint}/@connections/${encodeURIComponent(id)}`);
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': data.length },
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  const poster = new SignedConnectionPoster(endpoint);
  const hash = poster.hash(data);
  const signed = (id: string) => poster.post(id, data, hash);
  const paths = [
    ['floor: bare node:http POST (bench/fanout.ts)', bare],
    ['SignedConnectionPoster (the fan-out Lambda)', signed],
  ] as const;
  const cpu: number[][] = paths.map(() => []);
  for (let round = 0; round < ROUNDS + 2; round++) {
    for (const [i, [, post]] of paths.entries()) {
      const before = process.cpuUsage();
      await loop(ids, post);
      const used = process.cpuUsage(before);
      if (round >= 2) cpu[i]?.push((used.user + used.system) / 1000 / POSTS); // 2 warm-up rounds
    }
  }
  const floor = [...(cpu[0] as number[])].sort((a, b) => a - b);
  const rows = paths.map(([name], i) => {
    const sorted = [...(cpu[i] as number[])].sort((a, b) => a - b);
    return [
      name,
      quantile(sorted, 0.25).toFixed(4),
      quantile(sorted, 0.5).toFixed(4),
      (quantile(sorted, 0.5) / quantile(floor, 0.5)).toFixed(2),
    ];
  });
  console.log(`# Client CPU per post, ${POSTS} posts × ${ROUNDS} rounds, concurrency ${CONCURRENCY}`);
  console.log('');
  console.log(markdownTable(['poster', 'CPU ms/post p25', 'median', '× floor (median)'], rows));
  server.kill();
  agent.destroy();
  poster.destroy();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
