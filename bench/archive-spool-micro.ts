/**
 * The recording archive's own CPU, without the gateway (issue #15.1, docs/benchmarks.md "Fifth
 * round: spool CPU"): N MeetingArchives with staggered cuts fed a 640-byte Recall frame per
 * stream per 20 ms of meeting time, as fast as the process can (one event-loop turn per 20 ms
 * step so that the stores' PUTs and the spool's reads run in between), into a store that reads
 * every spooled body back as the S3 PUT does. Prints process CPU (user + system, all threads)
 * per stream-second of audio. Usage: tsx bench/archive-spool-micro.ts [streams] [seconds] [disk|memory]
 * (pin it: `taskset -c 1`); NO_READ=1 counts a spooled body without reading it back (attribution).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ChunkSpool } from '../core/audio/chunk-spool';
import { MeetingArchive } from '../core/audio/recording-archive';
import { cutPhaseMs } from '../core/audio/recording-archiver';
import { createLogger } from '../core/logger';
import { bodyByteLength, isSpooledBody, type RecordingBody } from '../core/recordings/body';
import { bodyStream } from '../core/recordings/body-stream';
import type { RecordingStore } from '../core/recordings/store';

const streams = Number(process.argv[2] ?? 220);
const seconds = Number(process.argv[3] ?? 60);
const spooled = (process.argv[4] ?? 'disk') === 'disk';
const root = mkdtempSync(path.join(tmpdir(), 'archive-micro-'));
let bytes = 0;
const store = {
  put: async (_key: string, body: RecordingBody) => {
    if (!isSpooledBody(body)) {
      bytes += bodyByteLength(body);
      return;
    }
    if (process.env.NO_READ === '1') {
      bytes += bodyByteLength(body);
      return;
    }
    for await (const piece of bodyStream(body)) bytes += (piece as Buffer).length;
  },
} as unknown as RecordingStore;
const logger = createLogger('archive-micro');
const spool = spooled ? ChunkSpool.open(root) : undefined;
const archives = Array.from({ length: streams }, (_, i) => {
  const meetingId = `m-${i}`;
  return new MeetingArchive({
    meetingId,
    store,
    logger,
    cutPhaseMs: cutPhaseMs(meetingId, 15_000),
    ...(spool ? { spool } : {}),
  });
});
const frame = Buffer.alloc(640, 7);

async function main(): Promise<void> {
  const started = process.cpuUsage();
  const wall = performance.now();
  for (let step = 0; step < seconds * 50; step++) {
    const at = step * 20;
    for (const archive of archives) archive.appendRecall(frame, at);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await Promise.all(archives.map((a) => a.flush()));
  const cpu = process.cpuUsage(started);
  const ms = (cpu.user + cpu.system) / 1000;
  const expected = streams * seconds * 50 * 640;
  console.log(
    `${spooled ? 'disk' : 'memory'} streams=${streams} seconds=${seconds}: CPU ${(ms / (streams * seconds)).toFixed(4)} ms per stream-second (user ${(cpu.user / 1000).toFixed(0)} / sys ${(cpu.system / 1000).toFixed(0)} ms, wall ${(performance.now() - wall).toFixed(0)} ms), bytes ${bytes === expected ? 'all' : `${bytes} of ${expected}`}`,
  );
  rmSync(root, { recursive: true, force: true });
}
void main();
