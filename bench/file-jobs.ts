/**
 * `npm run bench:jobs [-- --minutes 30]`: a long file (the sample meeting concatenated to N
 * minutes, mp3 48 kb/s, made with ffmpeg) through the whole file-job path on the local stack,
 * against the embedded engine alone on the same PCM in the same run.
 *
 * Engine alone: PocketSphinx behind the speech server's own StreamDecoder with the settings a
 * file job's stream gets (endpointing 300 ms, interim results every second, utterances cut at
 * 15 s, the throughput decoder options): its model loaded (the server loads it for each stream
 * too), then fed 250 ms frames as fast as it decodes, in this process, with no Parley around it. It runs before and after the
 * Parley run (the machine is shared; its load drifts) and the mean is the baseline. Wall time
 * and CPU time are both reported: CPU time is what a loaded machine does not distort.
 *
 * Parley: upload → S3 event → jobs queue → file worker (ffmpeg → STT stream → speech server →
 * segment assembler → SQS → fan-out → DynamoDB + WebSocket). Its time runs from the job's
 * `transcribing` stage to `complete` (the worker's own timestamps, so delivery latency does not
 * count), plus, separately, the time before it (download + probe).
 *
 * ETA accuracy: for every `time_estimate` from 20 % on, |estimate − actual time left| / actual
 * time left, the actual time left being `complete`'s timestamp minus the estimate's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { JobsClient } from '../core/jobs/upload-client';
import { Recognizer, THROUGHPUT_DECODER_ARGS } from '../local/speech-server';
import { StreamDecoder } from '../local/speech-server/stream-decoder';
import { SAMPLE_FIXTURE, startLocalStack } from '../local/stack';
import { machineFacts, numArg } from './lib-bench';

/** The speech server's settings for a file job's stream (server.ts DEFAULTS, the connector's query). */
const STREAM_SETTINGS = { endpointingMs: 300, interimIntervalMs: 1_000, maxUtteranceMs: 15_000 };
const FRAME_BYTES = 8_000; // 250 ms of 16 kHz mono S16LE, as the worker sends

/** CPU seconds this process (all its threads) and its waited-for children (ffmpeg) have used. */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    // /proc/self/stat fields 16 and 17: cutime, cstime in clock ticks (100 Hz on Linux).
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    // not Linux: children not counted
  }
  return (own.user + own.system) / 1e6 + children;
}

function engineAlone(pcm: Buffer): { seconds: number; cpuSeconds: number; finals: number; words: number } {
  // The model load counts: the speech server loads it for every stream too.
  const t0 = performance.now();
  const cpu0 = cpuSeconds();
  // The decoder options the speech server gives a file job's stream (tagged `job-…`).
  const recognizer = new Recognizer({
    vadPostSpeechFrames: Math.round(STREAM_SETTINGS.endpointingMs / 10),
    extraArgs: { ...THROUGHPUT_DECODER_ARGS },
  });
  const decoder = new StreamDecoder(recognizer, STREAM_SETTINGS);
  let finals = 0;
  let words = 0;
  for (let off = 0; off < pcm.length; off += FRAME_BYTES) {
    const frame = pcm.subarray(off, Math.min(pcm.length, off + FRAME_BYTES));
    const samples = new Int16Array(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.length));
    for (const e of decoder.push(samples)) {
      if (e.type === 'final' && e.words.length > 0) {
        finals++;
        words += e.words.length;
      }
    }
  }
  const last = decoder.flush('close');
  if (last.type === 'final' && last.words.length > 0) {
    finals++;
    words += last.words.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  recognizer.free();
  return { seconds, cpuSeconds: cpu, finals, words };
}

/** `--name value`: a string argument. */
function textArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface JobPush {
  type: string;
  jobId?: string;
  payload?: Record<string, number | string>;
}

async function main(): Promise<void> {
  const minutes = numArg('minutes', 30);
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-bench-jobs-'));
  const list = path.join(dir, 'list.txt');
  const copies = Math.ceil((minutes * 60) / 29.53);
  writeFileSync(list, Array.from({ length: copies }, () => `file '${SAMPLE_FIXTURE.wavPath}'`).join('\n'));
  const mp3 = path.join(dir, `meeting-${minutes}min.mp3`);
  const ffmpeg = ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-t', String(minutes * 60)];
  execFileSync('ffmpeg', [...ffmpeg, '-c:a', 'libmp3lame', '-b:a', '48k', mp3]);
  const pcm = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', mp3, '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'],
    { maxBuffer: 1024 ** 3 },
  );
  const audioSeconds = pcm.length / 32_000;
  process.stderr.write(`audio: ${(audioSeconds / 60).toFixed(1)} min; engine alone (before)…\n`);
  // `--no-baseline`: the Parley run only (e.g. to record an ETA trace); no overhead figures.
  const noBaseline = process.argv.includes('--no-baseline');
  const skipped = { seconds: Number.NaN, cpuSeconds: Number.NaN, finals: 0, words: 0 };
  const before = noBaseline ? skipped : engineAlone(pcm);
  process.stderr.write(`engine alone: ${before.seconds.toFixed(1)} s; Parley…\n`);

  const stack = await startLocalStack({ logLevel: 'ERROR' });
  let parley: {
    transcribingSeconds: number;
    beforeTranscribingSeconds: number;
    segments: number;
    estimates: { at: number; percent: number; seconds: number; confidence: number }[];
    progress: [number, number, number][];
    doneAt: number;
    cpuSeconds: number;
    idleCpuSeconds: number;
  };
  try {
    // What the idle stack itself burns (pollers), to set apart from the job's own CPU.
    const idleCpu0 = cpuSeconds();
    const idleT0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const idleRate = (cpuSeconds() - idleCpu0) / ((performance.now() - idleT0) / 1000);
    const client = new JobsClient({ apiUrl: stack.urls.rest, token: () => stack.issuer.mintToken('bench') });
    const uploaded = Date.now();
    const jobCpu0 = cpuSeconds();
    const { jobId } = await client.transcribeFile(mp3);
    const socket = new WebSocket(`${stack.urls.ws}?token=${await stack.issuer.mintToken('bench')}`);
    const estimates: { at: number; percent: number; seconds: number; confidence: number }[] = [];
    /** [timestamp ms, audio seconds processed, percent] of every progress_update while transcribing. */
    const progress: [number, number, number][] = [];
    let percent = 0;
    let transcribingAt = 0;
    let decodingAt = 0;
    const end = await new Promise<JobPush>((resolve) => {
      socket.on('open', () => socket.send(JSON.stringify({ action: 'subscribe_job', jobId })));
      socket.on('message', (data) => {
        const m = JSON.parse(String(data)) as JobPush;
        const at = Date.parse(String(m.payload?.timestamp ?? ''));
        if (m.type === 'stage_change' && m.payload?.to === 'decoding') decodingAt = at;
        if (m.type === 'stage_change' && m.payload?.to === 'transcribing') transcribingAt = at;
        if (m.type === 'progress_update') {
          percent = Number(m.payload?.percent);
          if (m.payload?.stage === 'transcribing')
            progress.push([at, Number(m.payload?.audioSecondsProcessed), percent]);
        }
        if (m.type === 'time_estimate')
          estimates.push({
            at,
            percent,
            seconds: Number(m.payload?.secondsRemaining),
            confidence: Number(m.payload?.confidence),
          });
        if (m.type === 'complete' || (m.type === 'error' && m.jobId === jobId)) resolve(m);
      });
    });
    socket.close();
    if (end.type !== 'complete') throw new Error(`the job failed: ${JSON.stringify(end)}`);
    const doneAt = Date.parse(String(end.payload?.timestamp));
    const jobCpu = cpuSeconds() - jobCpu0;
    parley = {
      cpuSeconds: jobCpu,
      idleCpuSeconds: idleRate * ((Date.now() - uploaded) / 1000),
      transcribingSeconds: (doneAt - transcribingAt) / 1000,
      beforeTranscribingSeconds: (transcribingAt - (decodingAt || uploaded)) / 1000,
      segments: Number(end.payload?.segments),
      estimates,
      progress,
      doneAt,
    };
  } finally {
    await stack.stop();
  }
  process.stderr.write(`Parley: ${parley.transcribingSeconds.toFixed(1)} s; engine alone (after)…\n`);
  const after = noBaseline ? skipped : engineAlone(pcm);
  rmSync(dir, { recursive: true, force: true });

  const engineSeconds = (before.seconds + after.seconds) / 2;
  const errors = parley.estimates
    .filter((e) => e.percent >= 20 && parley.doneAt - e.at > 0)
    .map((e) => {
      const actual = (parley.doneAt - e.at) / 1000;
      return { percent: e.percent, error: (e.seconds - actual) / actual, actual, estimate: e.seconds };
    });
  const abs = errors.map((e) => Math.abs(e.error)).sort((a, b) => a - b);
  const pct = (q: number) => abs[Math.min(abs.length - 1, Math.floor(q * abs.length))] ?? Number.NaN;
  const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;
  const worst = errors.reduce<(typeof errors)[number] | undefined>(
    (w, e) => (!w || Math.abs(e.error) > Math.abs(w.error) ? e : w),
    undefined,
  );
  const result = {
    machine: machineFacts(),
    audioMinutes: round(audioSeconds / 60),
    engineAloneSeconds: { before: round(before.seconds), after: round(after.seconds) },
    engineAloneX: round(audioSeconds / engineSeconds, 2),
    engineAloneFinals: before.finals,
    parleyTranscribingSeconds: round(parley.transcribingSeconds),
    parleyDownloadAndProbeSeconds: round(parley.beforeTranscribingSeconds),
    parleyX: round(audioSeconds / parley.transcribingSeconds, 2),
    parleySegments: parley.segments,
    overheadPercent: round((parley.transcribingSeconds / engineSeconds - 1) * 100),
    // CPU (robust to a shared machine's load): the engine alone vs. the whole job in this process
    // (every thread of the stack, the speech server's decoder and ffmpeg), less the idle stack.
    engineAloneCpuSeconds: round((before.cpuSeconds + after.cpuSeconds) / 2),
    parleyJobCpuSeconds: round(parley.cpuSeconds),
    idleStackCpuSecondsSameSpan: round(parley.idleCpuSeconds),
    cpuOverheadPercent: round(
      ((parley.cpuSeconds - parley.idleCpuSeconds) / ((before.cpuSeconds + after.cpuSeconds) / 2) - 1) * 100,
    ),
    etaSamplesFrom20Percent: errors.length,
    etaErrorMedianPercent: round(pct(0.5) * 100),
    etaErrorP90Percent: round(pct(0.9) * 100),
    etaErrorMaxPercent: round((abs.at(-1) ?? Number.NaN) * 100),
    etaWorst: worst && {
      atPercent: worst.percent,
      estimateSeconds: round(worst.estimate),
      actualSeconds: round(worst.actual),
    },
    etaWithin15Percent: round((abs.filter((e) => e <= 0.15).length / Math.max(1, abs.length)) * 100),
    // ETA error by decile of progress (signed mean, %: positive = too pessimistic).
    etaBiasByDecile: Object.fromEntries(
      [2, 3, 4, 5, 6, 7, 8, 9].map((d) => {
        const inDecile = errors.filter((e) => Math.floor(e.percent / 10) === d);
        const mean = inDecile.reduce((s, e) => s + e.error, 0) / Math.max(1, inDecile.length);
        return [`${d * 10}%`, inDecile.length > 0 ? round(mean * 100) : null];
      }),
    ),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  // `--trace FILE`: the job's progress as the worker reported it, for replaying ETA estimators
  // offline (test/unit/eta.test.ts keeps such traces).
  const traceFile = textArg('trace');
  if (traceFile) {
    const t0 = parley.progress[0]?.[0] ?? parley.doneAt;
    const trace = {
      recorded: new Date().toISOString(),
      audioSecondsTotal: round(audioSeconds, 3),
      machineLoad: loadavg().map((l) => round(l, 2)),
      doneAtMs: parley.doneAt - t0,
      // [ms since the first transcribing progress_update, audio seconds processed]
      progress: parley.progress.map(([at, audio]) => [at - t0, audio]),
      // [ms since the same origin, seconds remaining, confidence] as the worker estimated
      estimates: parley.estimates.map((e) => [e.at - t0, e.seconds, e.confidence]),
    };
    writeFileSync(traceFile, `${JSON.stringify(trace)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
