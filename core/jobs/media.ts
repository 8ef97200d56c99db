/**
 * Probing and decoding uploaded media with Debian's ffmpeg/ffprobe (child processes, never a
 * shell): what the file holds, and its audio as 16 kHz mono S16LE PCM (the format the STT
 * stream takes), optionally from an offset (a resumed job).
 */
import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { JOB_LIMITS, type JobErrorCode } from './model';

/** A typed job failure: the job ends `failed` with this code (no retry helps). */
export class JobFailure extends Error {
  constructor(
    readonly code: JobErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}

export interface MediaInfo {
  formatName: string;
  durationSeconds: number;
  hasVideo: boolean;
  audioCodec: string;
}

export const PCM_SAMPLE_RATE = 16_000;
/** Bytes per ms of 16 kHz mono S16LE. */
export const PCM_BYTES_PER_MS = (PCM_SAMPLE_RATE * 2) / 1000;

export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
}
export const DEFAULT_MEDIA_TOOLS: MediaTools = { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' };

interface ProbeJson {
  format?: { format_name?: string; duration?: string };
  streams?: { codec_type?: string; codec_name?: string; duration?: string }[];
}

/** What the file is. Not media → UNSUPPORTED_MEDIA; no audio → NO_AUDIO_TRACK; too long → MEDIA_TOO_LONG. */
export async function probeMedia(path: string, tools: MediaTools = DEFAULT_MEDIA_TOOLS): Promise<MediaInfo> {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      tools.ffprobe,
      ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', path],
      { maxBuffer: 4 * 1024 * 1024, timeout: 120_000 },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  }).catch(() => {
    throw new JobFailure('UNSUPPORTED_MEDIA', 'The file is not audio or video Parley can read');
  });
  let parsed: ProbeJson;
  try {
    parsed = JSON.parse(out) as ProbeJson;
  } catch {
    throw new JobFailure('UNSUPPORTED_MEDIA', 'The file is not audio or video Parley can read');
  }
  const streams = parsed.streams ?? [];
  const audio = streams.find((s) => s.codec_type === 'audio');
  const formatName = parsed.format?.format_name ?? '';
  // ffprobe "reads" some text and image files (tty, image2): only real media formats count.
  if (/^(tty|image2|png_pipe|jpeg_pipe|svg_pipe|gif|webp_pipe)/.test(formatName)) {
    throw new JobFailure('UNSUPPORTED_MEDIA', 'The file is not audio or video Parley can read');
  }
  if (!audio) {
    throw new JobFailure(
      streams.length > 0 ? 'NO_AUDIO_TRACK' : 'UNSUPPORTED_MEDIA',
      streams.length > 0 ? 'The file has no audio track' : 'The file is not audio or video Parley can read',
    );
  }
  const duration = Number(parsed.format?.duration ?? audio.duration ?? Number.NaN);
  if (duration > JOB_LIMITS.maxDurationSeconds) {
    throw new JobFailure(
      'MEDIA_TOO_LONG',
      `The recording is ${Math.round(duration / 60)} min long; Parley accepts up to ${JOB_LIMITS.maxDurationSeconds / 60} min`,
    );
  }
  return {
    formatName,
    durationSeconds: Number.isFinite(duration) ? duration : 0,
    hasVideo: streams.some((s) => s.codec_type === 'video'),
    audioCodec: audio.codec_name ?? 'unknown',
  };
}

/** Seconds of audio a full decode yields (for files whose container does not say). */
export async function measureDuration(
  path: string,
  tools: MediaTools = DEFAULT_MEDIA_TOOLS,
): Promise<number> {
  const decoder = startDecoder(path, 0, tools);
  let bytes = 0;
  decoder.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  await decoder.done;
  return bytes / PCM_BYTES_PER_MS / 1000;
}

export interface Decoder {
  stdout: Readable;
  /** Resolves when ffmpeg exits: its exit code and what it reported on stderr (bounded). */
  done: Promise<{ code: number | null; errors: string }>;
  kill(): void;
}

/** ffmpeg decoding the first audio track from `startMs` to 16 kHz mono S16LE on stdout. */
export function startDecoder(
  path: string,
  startMs: number,
  tools: MediaTools = DEFAULT_MEDIA_TOOLS,
): Decoder {
  const args = ['-nostdin', '-hide_banner', '-v', 'error'];
  // Input seeking: fast, and exact for audio (ffmpeg decodes from the previous packet and trims).
  if (startMs > 0) args.push('-ss', (startMs / 1000).toFixed(3));
  args.push('-i', path, '-map', '0:a:0', '-vn', '-ac', '1', '-ar', String(PCM_SAMPLE_RATE));
  args.push('-f', 's16le', '-acodec', 'pcm_s16le', 'pipe:1');
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(tools.ffmpeg, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (errors.length < 4_000) errors += chunk.toString('utf8');
  });
  const done = new Promise<{ code: number | null; errors: string }>((resolve) => {
    child.once('error', (error) => resolve({ code: -1, errors: String(error) }));
    child.once('close', (code) => resolve({ code, errors: errors.trim() }));
  });
  return {
    stdout: child.stdout,
    done,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
