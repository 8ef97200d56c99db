/** Helpers for file-job tests: media made from the fixtures with ffmpeg, and a job watcher over the WebSocket API. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServerMessage } from '../../core/realtime/protocol';
import { type LocalStack, SAMPLE_FIXTURE } from '../../local/stack';
import { RecordingClient, waitFor } from './live';

export const MEDIA_DIR = mkdtempSync(path.join(tmpdir(), 'parley-jobs-test-'));

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The sample meeting (29.5 s) encoded as `ext` (mp3, m4a, flac, ogg, opus, webm, wav). */
export function sampleAs(ext: string, source = SAMPLE_FIXTURE.wavPath): string {
  const out = path.join(MEDIA_DIR, `sample.${ext}`);
  const codec: Record<string, string[]> = {
    mp3: ['-c:a', 'libmp3lame', '-b:a', '64k'],
    m4a: ['-c:a', 'aac', '-b:a', '64k', '-movflags', '+faststart'],
    flac: ['-c:a', 'flac'],
    ogg: ['-c:a', 'libvorbis'],
    opus: ['-c:a', 'libopus', '-b:a', '32k'],
    webm: ['-c:a', 'libopus', '-b:a', '32k'],
    wav: ['-c:a', 'pcm_s16le', '-ar', '44100', '-ac', '2'],
  };
  ffmpeg(['-i', source, ...(codec[ext] ?? []), out]);
  return out;
}

/** A small mp4 video (test pattern) whose audio track is the sample meeting. */
export function sampleVideo(): string {
  const out = path.join(MEDIA_DIR, 'sample.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=160x120:rate=10',
    '-i',
    SAMPLE_FIXTURE.wavPath,
    '-map',
    '0:v',
    '-map',
    '1:a',
    '-shortest',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-movflags',
    '+faststart',
    out,
  ]);
  return out;
}

/** `times` copies of the sample meeting back to back, as mp3. */
export function concatenated(times: number): string {
  const list = path.join(MEDIA_DIR, `list-${times}.txt`);
  writeFileSync(list, Array.from({ length: times }, () => `file '${SAMPLE_FIXTURE.wavPath}'`).join('\n'));
  const out = path.join(MEDIA_DIR, `sample-x${times}.mp3`);
  ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c:a', 'libmp3lame', '-b:a', '48k', out]);
  return out;
}

/** `times` copies of the sample meeting back to back, as 48 kHz stereo wav (large: ~5.7 MB a copy). */
export function concatenatedWav(times: number): string {
  const list = path.join(MEDIA_DIR, `list-${times}.txt`);
  writeFileSync(list, Array.from({ length: times }, () => `file '${SAMPLE_FIXTURE.wavPath}'`).join('\n'));
  const out = path.join(MEDIA_DIR, `sample-x${times}.wav`);
  ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c:a', 'pcm_s16le', '-ar', '48000', '-ac', '2', out]);
  return out;
}

/** The sample as m4a (moov first), cut at `fraction` of its bytes: decoding fails midway. */
export function truncated(fraction: number): string {
  const full = sampleAs('m4a');
  const out = path.join(MEDIA_DIR, 'truncated.m4a');
  const bytes = require('node:fs').readFileSync(full) as Buffer;
  writeFileSync(out, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return out;
}

/** `seconds` of digital silence as wav. */
export function silence(seconds: number): string {
  const out = path.join(MEDIA_DIR, 'silence.wav');
  ffmpeg(['-f', 'lavfi', '-i', `anullsrc=r=16000:cl=mono`, '-t', String(seconds), out]);
  return out;
}

type JobPush =
  | Extract<ServerMessage, { type: 'progress_update' | 'stage_change' | 'time_estimate' | 'complete' }>
  | Extract<ServerMessage, { type: 'error'; jobId: string }>;

/** A WebSocket client following one job (subscribe_job) and its transcript (subscribe to the meeting = jobId). */
export class JobWatcher {
  readonly recorder: RecordingClient;
  readonly events: JobPush[] = [];

  constructor(
    stack: LocalStack,
    user: string,
    readonly jobId: string,
  ) {
    this.recorder = new RecordingClient(stack, user, jobId);
    this.recorder.client.on('message', (m) => {
      if ('jobId' in m && m.jobId === jobId && m.type !== 'state' && m.type !== 'job_subscribed') {
        this.events.push(m as JobPush);
      }
    });
  }

  async open(): Promise<void> {
    await this.recorder.opened();
    this.recorder.client.send({ action: 'subscribe_job', jobId: this.jobId });
    await waitFor('job_subscribed', () =>
      this.recorder.messages.some((m) => m.type === 'job_subscribed' && m.jobId === this.jobId),
    );
  }

  of(type: JobPush['type']): { type: string; jobId: string; payload: Record<string, unknown> }[] {
    return this.events.filter((e) => e.type === type) as {
      type: string;
      jobId: string;
      payload: Record<string, unknown>;
    }[];
  }

  get stages(): string[] {
    return this.of('stage_change').map((e) => String(e.payload.to));
  }

  ended(timeoutMs = 240_000): Promise<JobPush> {
    return waitFor(
      `job ${this.jobId} to end`,
      () =>
        this.events.find(
          (e) =>
            e.type === 'complete' ||
            e.type === 'error' ||
            (e.type === 'stage_change' &&
              (e as { payload: Record<string, unknown> }).payload.to === 'cancelled'),
        ),
      timeoutMs,
    );
  }

  close(): void {
    this.recorder.close();
  }
}

/**
 * The four shared fixtures (fixtures/*.wav, 3.3 min) back to back until `minutes` long, as an
 * mp3 at 48 kb/s, with the reference text of what it says.
 */
export function fixturesConcatenated(minutes: number): { file: string; reference: string } {
  const dir = path.join(__dirname, '..', '..', 'fixtures');
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.wav'))
    .sort();
  const list: string[] = [];
  const texts: string[] = [];
  let ms = 0;
  for (let i = 0; ms < minutes * 60_000; i++) {
    const name = names[i % names.length] as string;
    const script = JSON.parse(readFileSync(path.join(dir, name.replace(/\.wav$/, '.json')), 'utf8')) as {
      durationMs: number;
      segments: { text: string; endMs: number }[];
    };
    list.push(`file '${path.join(dir, name)}'`);
    // The last copy is cut at `minutes`: only the lines it still holds are expected.
    texts.push(...script.segments.filter((s) => ms + s.endMs <= minutes * 60_000).map((s) => s.text));
    ms += script.durationMs;
  }
  const listFile = path.join(MEDIA_DIR, `fixtures-${minutes}min.txt`);
  writeFileSync(listFile, list.join('\n'));
  const out = path.join(MEDIA_DIR, `fixtures-${minutes}min.mp3`);
  ffmpeg([
    '-f',
    'concat',
    '-safe',
    '0',
    '-i',
    listFile,
    '-t',
    String(minutes * 60),
    '-c:a',
    'libmp3lame',
    '-b:a',
    '48k',
    out,
  ]);
  return { file: out, reference: texts.join(' ') };
}
