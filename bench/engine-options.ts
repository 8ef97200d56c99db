/**
 * `npm run bench:engine [-- --presets default,fast --sources mp3]`: how fast the embedded engine
 * (PocketSphinx behind the speech server's StreamDecoder, with a file job's stream settings)
 * decodes the shared fixtures under different decoder options, and what each costs in WER
 * against the fixtures' scripts (core/wer.ts).
 *
 * Each preset decodes every fixture (fixtures/*.wav, 3.3 min in all) as a file job gets it: an
 * mp3 at 48 kb/s decoded back to 16 kHz PCM by ffmpeg. The default preset also decodes the wav
 * itself: the gap between its wav and mp3 WER is the engine's own variation on the same speech
 * (an encoding the listener would not notice), the yardstick a faster preset is held to.
 *
 * CPU seconds (this thread: the decoder runs here, synchronously) are the figure a shared
 * machine does not distort; wall seconds are shown beside them. Model load is counted apart.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { wordErrorRate } from '../core/wer';
import { THROUGHPUT_DECODER_ARGS } from '../local/speech-server';
import { machineFacts } from './lib-bench';
import { decodePcm as decode } from './lib-engine';

const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures');

/** Decoder options tried (`-name value`, PocketSphinx 5prealpha; defaults in its `ps_args()`). */
const PRESETS: Record<string, Record<string, string>> = {
  default: {},
  /** What the speech server gives file jobs' streams. */
  throughput: { ...THROUGHPUT_DECODER_ARGS },
  ds2: { '-ds': '2' },
  topn2: { '-topn': '2' },
  maxhmmpf3000: { '-maxhmmpf': '3000' },
  maxhmmpf5000: { '-maxhmmpf': '5000' },
  maxhmmpf10000: { '-maxhmmpf': '10000' },
  'maxhmmpf3000-maxwpf10': { '-maxhmmpf': '3000', '-maxwpf': '10' },
  'maxhmmpf5000-maxwpf10': { '-maxhmmpf': '5000', '-maxwpf': '10' },
  'maxhmmpf2000-maxwpf10': { '-maxhmmpf': '2000', '-maxwpf': '10' },
  'maxhmmpf3000-maxwpf5': { '-maxhmmpf': '3000', '-maxwpf': '5' },
  'maxhmmpf3000-maxwpf10-topn2': { '-maxhmmpf': '3000', '-maxwpf': '10', '-topn': '2' },
  maxwpf10: { '-maxwpf': '10' },
  'beams-narrow': { '-beam': '1e-40', '-wbeam': '1e-24', '-pbeam': '1e-40', '-lpbeam': '1e-32' },
  pl_window10: { '-pl_window': '10' },
  'bestpath-no': { '-bestpath': 'no' },
  fast: { '-ds': '2', '-topn': '2', '-maxhmmpf': '3000', '-maxwpf': '10' },
  'fast-pl': { '-ds': '2', '-topn': '2', '-maxhmmpf': '3000', '-maxwpf': '10', '-pl_window': '10' },
};

interface Fixture {
  name: string;
  reference: string;
  pcm: Record<'wav' | 'mp3', Buffer>;
  seconds: number;
}

function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.wav'))
    .map((wav) => {
      const name = wav.replace(/\.wav$/, '');
      const script = JSON.parse(readFileSync(path.join(FIXTURE_DIR, `${name}.json`), 'utf8')) as {
        segments: { text: string }[];
      };
      const file = path.join(FIXTURE_DIR, wav);
      const toPcm = (input: string[]) =>
        execFileSync(
          'ffmpeg',
          ['-v', 'error', ...input, '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'],
          {
            maxBuffer: 256 * 1024 ** 2,
          },
        );
      const mp3 = execFileSync(
        'ffmpeg',
        ['-v', 'error', '-i', file, '-c:a', 'libmp3lame', '-b:a', '48k', '-f', 'mp3', 'pipe:1'],
        {
          maxBuffer: 256 * 1024 ** 2,
        },
      );
      const wavPcm = toPcm(['-i', file]);
      const mp3Pcm = execFileSync(
        'ffmpeg',
        ['-v', 'error', '-f', 'mp3', '-i', 'pipe:0', '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'],
        {
          input: mp3,
          maxBuffer: 256 * 1024 ** 2,
        },
      );
      return {
        name,
        reference: script.segments.map((s) => s.text).join(' '),
        pcm: { wav: wavPcm, mp3: mp3Pcm },
        seconds: wavPcm.length / 32_000,
      };
    });
}

function main(): void {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const presets = (arg('presets') ?? Object.keys(PRESETS).join(',')).split(',');
  for (const p of presets)
    if (!PRESETS[p]) throw new TypeError(`unknown preset "${p}" (${Object.keys(PRESETS).join(', ')})`);
  const fixtures = loadFixtures();
  const traceFile = arg('trace');
  if (traceFile) {
    recordTrace(traceFile, presets[0] as string, fixtures, Number(arg('minutes') ?? 5));
    return;
  }
  const audioSeconds = fixtures.reduce((s, f) => s + f.seconds, 0);
  process.stderr.write(`${fixtures.length} fixtures, ${audioSeconds.toFixed(0)} s of audio\n`);
  const rows: Record<string, unknown>[] = [];
  const runs: [string, 'wav' | 'mp3'][] = [];
  for (const p of presets) {
    if (p === 'default') runs.push([p, 'wav']);
    runs.push([p, 'mp3']);
  }
  for (const [preset, source] of runs) {
    let cpu = 0;
    let wall = 0;
    let loadCpu = 0;
    let errors = 0;
    let refWords = 0;
    const perFixture: Record<string, number> = {};
    for (const f of fixtures) {
      const r = decode(f.pcm[source], PRESETS[preset] as Record<string, string>);
      const w = wordErrorRate(f.reference, r.text);
      cpu += r.cpu;
      wall += r.wall;
      loadCpu += r.loadCpu;
      errors += w.errors;
      refWords += w.referenceWords;
      perFixture[f.name] = Math.round(w.wer * 1000) / 1000;
    }
    const row = {
      preset,
      source,
      args: PRESETS[preset],
      wer: Math.round((errors / refWords) * 1000) / 1000,
      perFixture,
      cpuSeconds: Math.round(cpu * 10) / 10,
      wallSeconds: Math.round(wall * 10) / 10,
      xRealtimeCpu: Math.round((audioSeconds / cpu) * 100) / 100,
      modelLoadCpuSeconds: Math.round((loadCpu / fixtures.length) * 100) / 100,
    };
    process.stderr.write(`${JSON.stringify(row)}\n`);
    rows.push(row);
  }
  process.stdout.write(
    `${JSON.stringify({ machine: machineFacts(), audioSeconds: Math.round(audioSeconds), rows }, null, 2)}\n`,
  );
}

/**
 * `--trace FILE [--minutes 5]`: the engine's own speed trace on the fixtures back to back (as an
 * mp3 gives them), on CPU time: when each result (interim or final) came and how far into the
 * audio it reached. CPU time is what an idle core would show as wall time: a trace without the
 * shared machine's load, for test/unit/eta.test.ts.
 */
function recordTrace(file: string, preset: string, fixtures: Fixture[], minutes: number): void {
  const parts: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; bytes < minutes * 60 * 32_000; i++) {
    const pcm = (fixtures[i % fixtures.length] as Fixture).pcm.mp3;
    parts.push(pcm);
    bytes += pcm.length;
  }
  const pcm = Buffer.concat(parts).subarray(0, minutes * 60 * 32_000);
  const results: [number, number][] = [];
  const r = decode(pcm, PRESETS[preset] as Record<string, string>, (cpuMs, processedMs) =>
    results.push([Math.round(cpuMs), Math.round(processedMs)]),
  );
  const trace = {
    kind: 'engine-cpu',
    preset,
    recorded: new Date().toISOString(),
    fixtures: fixtures.map((f) => f.name),
    audioSecondsTotal: pcm.length / 32_000,
    cpuSeconds: Math.round(r.cpu * 10) / 10,
    // [CPU ms since the first sample, audio ms the result reached]
    results,
  };
  writeFileSync(file, `${JSON.stringify(trace)}\n`);
  process.stderr.write(`trace: ${results.length} results, ${trace.cpuSeconds} CPU s\n`);
}

main();
