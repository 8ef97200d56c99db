/**
 * `npm run bench:encoding [-- --fixtures meeting-librivox,standup-meeting|all]
 *  [--opus 16:0,16:0:rld,24:0:rld] [--ffmpeg-opus 16]`:
 * what the audio encoding to Deepgram costs in accuracy and CPU, and saves in bytes.
 *
 * Accuracy: each fixture (fixtures/*.wav with its script) goes through the local engine with
 * the live settings (bench/lib-engine.ts) as
 * - `linear16`: the PCM as the gateway has it (the baseline, same run);
 * - `mulaw`: the gateway's encoder (core/audio/speech-encoding.ts) in 20 ms chunks, decoded by the
 *   speech server's own input stage (local/speech-server/audio-input.ts, `encoding=mulaw`);
 * - `opus K kb/s cC APP` (`--opus K:C[:voip|rld|audio]`): the gateway's Ogg Opus encoder
 *   (core/audio/ogg-opus-encoder.ts, opusscript) at K kb/s, complexity C, libopus application APP
 *   (voip: SILK; rld = restricted low delay: CELT only), a page per 20 ms packet, fed 20 ms chunks, decoded by the speech
 *   server's input stage (no `encoding`: it sniffs `OggS`, as Deepgram detects the container);
 * - `ffmpeg-opus N` (offline comparison, only with --ffmpeg-opus): ffmpeg's native libopus.
 * WER is against the fixture's script (core/wer.ts). The engine's own spread between two
 * encodings a listener would not tell apart (bench:engine: wav vs mp3, 0.015 overall and up to
 * 0.07 on one fixture) is the yardstick.
 *
 * Bytes: what goes on the wire, Ogg pages included (and their share); also the same stream with
 * a page per 2, 3 and 5 packets (40, 60, 100 ms), the overhead a page per packet costs.
 *
 * CPU: each encoder per stream-second (20 ms chunks, as sendMedia gets them), this thread's CPU
 * time, best of 5 passes; for Opus also µs per 20 ms frame. Against the gateway's measured CPU per
 * stream-second (docs/benchmarks.md "Audio gateway ingest": 1.05 ms relay floor).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { OggOpusEncoder, type OpusSettings } from '../core/audio/ogg-opus-encoder';
import { encodeMulaw, wireBytesPerSecond } from '../core/audio/speech-encoding';
import { wordErrorRate } from '../core/wer';
import { AudioInput, parseWavHeader } from '../local/speech-server/audio-input';
import { parseListenParams } from '../local/speech-server/listen-params';
import { machineFacts } from './lib-bench';
import { decodePcm, threadCpuSeconds } from './lib-engine';

const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures');
const CHUNK_BYTES = 640; // 20 ms of PCM: one Recall frame
const RELAY_FLOOR_MS_PER_STREAM_SECOND = 1.05;

interface Fixture {
  name: string;
  reference: string;
  pcm: Buffer;
  seconds: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function loadFixtures(names: string): Fixture[] {
  const all = readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.wav'))
    .map((f) => f.replace(/\.wav$/, ''));
  const wanted = names === 'all' ? all : names.split(',');
  return wanted.map((name) => {
    if (!all.includes(name)) throw new TypeError(`no fixture "${name}" (${all.join(', ')})`);
    const wav = readFileSync(path.join(FIXTURE_DIR, `${name}.wav`));
    const header = parseWavHeader(wav);
    if (header.status !== 'ok') throw new TypeError(`${name}.wav is not 16 kHz mono PCM`);
    const script = JSON.parse(readFileSync(path.join(FIXTURE_DIR, `${name}.json`), 'utf8')) as {
      segments: { text: string }[];
    };
    const pcm = wav.subarray(header.dataOffset);
    return {
      name,
      reference: script.segments.map((s) => s.text).join(' '),
      pcm,
      seconds: pcm.length / 32_000,
    };
  });
}

/** The samples the local speech server decodes from what the gateway sends in `encoding`. */
function throughSpeechServerInput(
  pcm: Buffer,
  encoding: 'linear16' | 'mulaw' | OpusSettings,
): { pcm: Buffer; wireBytes: number; pageBytes?: number } {
  const opus = typeof encoding === 'object' ? new OggOpusEncoder(encoding) : undefined;
  const query: Record<string, string> = opus ? {} : { encoding: encoding as string, sample_rate: '16000' };
  const parsed = parseListenParams(new URLSearchParams(query));
  if (!parsed.ok) throw new Error(parsed.message);
  const input = new AudioInput(parsed.params);
  const out: Buffer[] = [];
  let wireBytes = 0;
  const take = (wire: Buffer) => {
    wireBytes += wire.length;
    const r = input.push(wire);
    if (!r.ok) throw new Error(r.reason);
    out.push(Buffer.from(r.pcm.buffer, r.pcm.byteOffset, r.pcm.byteLength));
  };
  for (let off = 0; off < pcm.length; off += CHUNK_BYTES) {
    const chunk = pcm.subarray(off, off + CHUNK_BYTES);
    take(opus ? opus.encode(chunk) : encoding === 'mulaw' ? encodeMulaw(chunk) : chunk);
  }
  if (opus) take(opus.end());
  input.close();
  opus?.dispose();
  return {
    pcm: Buffer.concat(out),
    wireBytes,
    ...(opus ? { pageBytes: wireBytes - opus.stats.packetBytes } : {}),
  };
}

/** Ogg bytes of the same stream with `packetsPerPage` packets a page (the page overhead's cost). */
function oggBytes(pcm: Buffer, settings: OpusSettings): number {
  const encoder = new OggOpusEncoder(settings);
  let bytes = 0;
  for (let off = 0; off < pcm.length; off += CHUNK_BYTES)
    bytes += encoder.encode(pcm.subarray(off, off + CHUNK_BYTES)).length;
  bytes += encoder.end().length;
  encoder.dispose();
  return bytes;
}

/** libopus at `kbps` through ffmpeg: the Ogg bytes, the PCM decoded back, the encoder's user CPU. */
function throughOpus(pcm: Buffer, kbps: number): { pcm: Buffer; wireBytes: number; encodeCpu: number } {
  const raw = ['-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0'];
  const encodeArgs = ['-c:a', 'libopus', '-b:a', `${kbps}k`, '-application', 'voip', '-f', 'ogg'];
  const ogg = execFileSync('ffmpeg', ['-v', 'error', ...raw, ...encodeArgs, 'pipe:1'], {
    input: pcm,
    maxBuffer: 256 * 1024 ** 2,
  });
  // libopus's share: the same ffmpeg run minus one that only copies the PCM (start-up, demuxing).
  const encodeCpu = Math.max(
    0,
    ffmpegCpuSeconds(pcm, [...raw, ...encodeArgs]) -
      ffmpegCpuSeconds(pcm, [...raw, '-c:a', 'pcm_s16le', '-f', 's16le']),
  );
  const back = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-f', 'ogg', '-i', 'pipe:0', '-ar', '16000', '-ac', '1', '-f', 's16le', 'pipe:1'],
    { input: ogg, maxBuffer: 256 * 1024 ** 2 },
  );
  return { pcm: back, wireBytes: ogg.length, encodeCpu };
}

/** ffmpeg's own user+system time for a run writing nowhere (its `-benchmark` line on stderr). */
function ffmpegCpuSeconds(pcm: Buffer, args: string[]): number {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostats', '-benchmark', ...args, '-f', 'null', '-'], {
    input: pcm,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 ** 2,
  });
  const m = /utime=([\d.]+)s stime=([\d.]+)s/.exec(`${r.stdout}${r.stderr}`);
  if (!m) throw new Error(`ffmpeg -benchmark printed no times: ${r.stderr}`);
  return Number(m[1]) + Number(m[2]);
}

/**
 * CPU ms per stream-second of an encoder on `pcm` in 20 ms chunks, best of `rounds` (each
 * `repeats` passes): `start` makes a fresh encoding function for a pass (a new Opus stream).
 */
function encoderCpuMsPerStreamSecond(
  pcm: Buffer,
  start: () => { encode: (chunk: Buffer) => Buffer; done: () => void },
  repeats: number,
  rounds = 5,
): number {
  const chunks: Buffer[] = [];
  for (let off = 0; off + CHUNK_BYTES <= pcm.length; off += CHUNK_BYTES)
    chunks.push(pcm.subarray(off, off + CHUNK_BYTES));
  const seconds = (chunks.length * CHUNK_BYTES) / 32_000;
  let sink = 0;
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const cpu0 = threadCpuSeconds();
    for (let repeat = 0; repeat < repeats; repeat++) {
      const encoder = start();
      for (const c of chunks) sink += encoder.encode(c).length;
      encoder.done();
    }
    best = Math.min(best, ((threadCpuSeconds() - cpu0) * 1000) / (seconds * repeats));
  }
  if (sink < 0) process.stderr.write('');
  return best;
}

function mulawCpuMsPerStreamSecond(pcm: Buffer): number {
  encodeMulaw(pcm.subarray(0, 2)); // builds the table
  return encoderCpuMsPerStreamSecond(pcm, () => ({ encode: encodeMulaw, done: () => undefined }), 20);
}

function opusCpuMsPerStreamSecond(pcm: Buffer, settings: OpusSettings): number {
  return encoderCpuMsPerStreamSecond(
    pcm,
    () => {
      const encoder = new OggOpusEncoder(settings);
      return { encode: (c) => encoder.encode(c), done: () => encoder.dispose() };
    },
    1,
  );
}

interface Row {
  encoding: string;
  bytesPerSecond: number;
  /** Ogg page headers' share of bytesPerSecond (Opus). */
  oggOverheadBytesPerSecond?: number;
  /** The same stream with a page per 2, 3 and 5 packets (40, 60, 100 ms) instead of per packet. */
  bytesPerSecondPagePer?: Record<'40ms' | '60ms' | '100ms', number>;
  encodeMicrosPerFrame?: number;
  wer: number;
  deltaWer: number;
  perFixture: Record<string, number>;
  encodeCpuMsPerStreamSecond: number | null;
  engineCpuSeconds: number;
}

function main(): void {
  const fixtures = loadFixtures(arg('fixtures') ?? 'meeting-librivox,standup-meeting');
  const opusSettings: OpusSettings[] = (arg('opus') ?? '16:0,16:0:rld,24:0:rld,16:5,24:5')
    .split(',')
    .filter(Boolean)
    .map((s) => {
      const [kbps, complexity, app] = s.split(':');
      const application =
        app === undefined || app === 'voip' ? 'voip' : app === 'rld' ? 'restrictedLowDelay' : app;
      if (application !== 'voip' && application !== 'restrictedLowDelay' && application !== 'audio')
        throw new TypeError(`--opus: unknown application "${app}" (voip, audio, rld)`);
      return {
        bitrate: Number(kbps) * 1000,
        complexity: Number(complexity ?? 0),
        packetsPerPage: 1,
        application,
      };
    });
  const opusRates = (arg('ffmpeg-opus') ?? '').split(',').filter(Boolean).map(Number);
  const audioSeconds = fixtures.reduce((s, f) => s + f.seconds, 0);
  const machine = machineFacts();
  process.stderr.write(
    `${fixtures.length} fixtures, ${audioSeconds.toFixed(1)} s of audio; ${JSON.stringify(machine)}\n`,
  );

  const all = Buffer.concat(fixtures.map((f) => f.pcm));
  const variants: {
    name: string;
    opus?: OpusSettings;
    prepare: (pcm: Buffer) => { pcm: Buffer; wireBytes: number; encodeCpu?: number; pageBytes?: number };
  }[] = [
    { name: 'linear16', prepare: (pcm) => throughSpeechServerInput(pcm, 'linear16') },
    { name: 'mulaw', prepare: (pcm) => throughSpeechServerInput(pcm, 'mulaw') },
    ...opusSettings.map((opus) => ({
      name: `opus ${opus.bitrate / 1000} kb/s c${opus.complexity} ${opus.application}`,
      opus,
      prepare: (pcm: Buffer) => throughSpeechServerInput(pcm, opus),
    })),
    ...opusRates.map((kbps) => ({
      name: `ffmpeg-opus-${kbps}k (offline)`,
      prepare: (pcm: Buffer) => throughOpus(pcm, kbps),
    })),
  ];
  const rows: Row[] = [];
  for (const v of variants) {
    let errors = 0;
    let words = 0;
    let wire = 0;
    let encodeCpu = 0;
    let pageBytes = 0;
    let engineCpu = 0;
    const perFixture: Record<string, number> = {};
    for (const f of fixtures) {
      const p = v.prepare(f.pcm);
      const decoded = decodePcm(p.pcm);
      const w = wordErrorRate(f.reference, decoded.text);
      errors += w.errors;
      words += w.referenceWords;
      wire += p.wireBytes;
      encodeCpu += p.encodeCpu ?? 0;
      pageBytes += p.pageBytes ?? 0;
      engineCpu += decoded.cpu;
      perFixture[f.name] = round(w.wer, 3);
    }
    const encodeMs =
      v.name === 'mulaw'
        ? mulawCpuMsPerStreamSecond(all)
        : v.opus
          ? opusCpuMsPerStreamSecond(all, v.opus)
          : v.name.startsWith('ffmpeg-opus')
            ? (encodeCpu * 1000) / audioSeconds
            : null;
    const row: Row = {
      encoding: v.name,
      bytesPerSecond: Math.round(wire / audioSeconds),
      ...(v.opus
        ? {
            oggOverheadBytesPerSecond: Math.round(pageBytes / audioSeconds),
            bytesPerSecondPagePer: {
              '40ms': Math.round(oggBytes(all, { ...v.opus, packetsPerPage: 2 }) / audioSeconds),
              '60ms': Math.round(oggBytes(all, { ...v.opus, packetsPerPage: 3 }) / audioSeconds),
              '100ms': Math.round(oggBytes(all, { ...v.opus, packetsPerPage: 5 }) / audioSeconds),
            },
            encodeMicrosPerFrame: round(((encodeMs ?? 0) * 1000) / 50, 1),
          }
        : {}),
      wer: round(errors / words, 3),
      deltaWer: 0,
      perFixture,
      encodeCpuMsPerStreamSecond: encodeMs === null ? null : round(encodeMs, 4),
      engineCpuSeconds: round(engineCpu, 1),
    };
    process.stderr.write(`${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  const base = rows[0] as Row;
  for (const r of rows) r.deltaWer = round(r.wer - base.wer, 3);
  const mulaw = rows.find((r) => r.encoding === 'mulaw') as Row;
  process.stdout.write(
    `${JSON.stringify({ machine, audioSeconds: round(audioSeconds, 1), rows }, null, 2)}\n`,
  );
  const cpuShare = ((mulaw.encodeCpuMsPerStreamSecond ?? 0) / RELAY_FLOOR_MS_PER_STREAM_SECOND) * 100;
  process.stdout.write(
    `VERDICT mulaw: ${mulaw.bytesPerSecond} B/s vs ${base.bytesPerSecond} (${((1 - mulaw.bytesPerSecond / base.bytesPerSecond) * 100).toFixed(0)} % fewer; ` +
      `configured figure ${wireBytesPerSecond('mulaw')}), WER ${mulaw.wer} vs ${base.wer} (Δ ${mulaw.deltaWer >= 0 ? '+' : ''}${mulaw.deltaWer}; ` +
      `engine's own spread between encodings: 0.015 overall, ≤ 0.07 a fixture), encoder ${mulaw.encodeCpuMsPerStreamSecond} ms CPU per stream-second ` +
      `(${cpuShare.toFixed(1)} % of the gateway's 1.05 ms relay floor)\n`,
  );
  for (const r of rows.filter((row) => row.encodeMicrosPerFrame !== undefined)) {
    process.stdout.write(
      `VERDICT ${r.encoding}: ${r.bytesPerSecond} B/s (${r.oggOverheadBytesPerSecond} of it Ogg pages; a page per 40 / 60 / 100 ms: ${r.bytesPerSecondPagePer?.['40ms']} / ${r.bytesPerSecondPagePer?.['60ms']} / ${r.bytesPerSecondPagePer?.['100ms']}) ` +
        `vs ${base.bytesPerSecond}, WER ${r.wer} vs ${base.wer} (Δ ${r.deltaWer >= 0 ? '+' : ''}${r.deltaWer}; ${r.deltaWer <= 0.01 ? 'no worse than' : 'WORSE than'} linear16 + 0.01), ` +
        `encoder ${r.encodeCpuMsPerStreamSecond} ms CPU per stream-second = ${r.encodeMicrosPerFrame} µs per 20 ms frame ` +
        `(${(((r.encodeCpuMsPerStreamSecond ?? 0) / RELAY_FLOOR_MS_PER_STREAM_SECOND) * 100).toFixed(0)} % of the relay floor)\n`,
    );
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

main();
