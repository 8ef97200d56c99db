/**
 * `npm run bench:jobs [-- --minutes 30]`: a long file (the sample meeting concatenated to N
 * minutes, mp3) through the whole file-job path on the local stack, against the embedded engine
 * alone (PocketSphinx on the same PCM, in this process, no Parley) in the same run.
 * Reports throughput (× real time) of each, Parley's overhead, and ETA accuracy: for every
 * time_estimate from 20 % on, |estimate − actual time left| / actual time left.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { JobsClient } from '../core/jobs/upload-client';
import { Recognizer } from '../local/speech-server';
import { SAMPLE_FIXTURE, startLocalStack } from '../local/stack';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' } } });
  const minutes = Number(values.minutes);
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-bench-jobs-'));
  const list = path.join(dir, 'list.txt');
  const copies = Math.ceil((minutes * 60) / 29.53);
  writeFileSync(list, Array.from({ length: copies }, () => `file '${SAMPLE_FIXTURE.wavPath}'`).join('\n'));
  const mp3 = path.join(dir, `meeting-${minutes}min.mp3`);
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    list,
    '-t',
    String(minutes * 60),
    '-c:a',
    'libmp3lame',
    '-b:a',
    '48k',
    mp3,
  ]);
  const pcm = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', mp3, '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'],
    {
      maxBuffer: 1024 ** 3,
    },
  );
  const audioSeconds = pcm.length / 32_000;

  // Baseline: the engine alone, 250 ms frames, one utterance per endpoint as the server does.
  const recognizer = new Recognizer();
  const t0 = performance.now();
  recognizer.start();
  for (let off = 0; off < pcm.length; off += 8_000)
    recognizer.process(pcm.subarray(off, Math.min(pcm.length, off + 8_000)));
  recognizer.end();
  const engineSeconds = (performance.now() - t0) / 1000;
  recognizer.free();

  // Parley: upload → queue → worker → speech server → pipeline → WebSocket.
  const stack = await startLocalStack({ logLevel: 'ERROR' });
  try {
    const client = new JobsClient({ apiUrl: stack.urls.rest, token: () => stack.issuer.mintToken('bench') });
    const { jobId } = await client.transcribeFile(mp3);
    const socket = new WebSocket(`${stack.urls.ws}?token=${await stack.issuer.mintToken('bench')}`);
    const estimates: { at: number; percent: number; seconds: number }[] = [];
    let percent = 0;
    let transcribingAt = 0;
    const doneAt = await new Promise<number>((resolve) => {
      socket.on('open', () => socket.send(JSON.stringify({ action: 'subscribe_job', jobId })));
      socket.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string; payload?: Record<string, number | string> };
        if (m.type === 'stage_change' && m.payload?.to === 'transcribing') transcribingAt = performance.now();
        if (m.type === 'progress_update') percent = Number(m.payload?.percent);
        if (m.type === 'time_estimate')
          estimates.push({ at: performance.now(), percent, seconds: Number(m.payload?.secondsRemaining) });
        if (m.type === 'complete' || m.type === 'error') resolve(performance.now());
      });
    });
    socket.close();
    const parleySeconds = (doneAt - transcribingAt) / 1000;
    const errors = estimates
      .filter((e) => e.percent >= 20)
      .map((e) => {
        const actual = (doneAt - e.at) / 1000;
        return actual > 0 ? Math.abs(e.seconds - actual) / actual : 0;
      })
      .sort((a, b) => a - b);
    const pct = (q: number) =>
      errors[Math.min(errors.length - 1, Math.floor(q * errors.length))] ?? Number.NaN;
    const result = {
      audioMinutes: Math.round(audioSeconds / 6) / 10,
      engineAloneX: Math.round((audioSeconds / engineSeconds) * 100) / 100,
      parleyX: Math.round((audioSeconds / parleySeconds) * 100) / 100,
      overheadPercent: Math.round((parleySeconds / engineSeconds - 1) * 1000) / 10,
      etaSamplesFrom20Percent: errors.length,
      etaErrorMedianPercent: Math.round(pct(0.5) * 1000) / 10,
      etaErrorP90Percent: Math.round(pct(0.9) * 1000) / 10,
      etaWithin15Percent:
        Math.round((errors.filter((e) => e <= 0.15).length / Math.max(1, errors.length)) * 1000) / 10,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
