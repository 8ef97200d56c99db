/**
 * Local mode only: recordings a simulated meeting can play. A meeting URL of
 * `local://recordings/<name>` makes the Recall simulator's bot stream the file `<name>` from one
 * of the recording folders (the repo's fixtures/, `.data/recordings/`, and any folder given with
 * `npm start -- --recordings DIR`).
 *
 * A 16 kHz mono 16-bit WAV is read as it is; anything else (other WAVs, mp3, m4a, flac, ogg,
 * webm, mp4 …) is decoded with Debian's ffmpeg. A floor script beside the file (`<stem>.json`,
 * the fixtures' shape) names who speaks when; without one, the file is one speaker throughout.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { RECALL_PCM_BYTES_PER_SECOND } from '../core/recall/realtime-schema';
import { type MeetingFixture, parseFloorScript, parseWav } from './recall-simulator/fixture';

export const RECORDING_URL_PREFIX = 'local://recordings/';

/** File types listed and played; all but 16 kHz mono WAV need ffmpeg. */
export const RECORDING_EXTENSIONS = [
  '.wav',
  '.mp3',
  '.m4a',
  '.aac',
  '.flac',
  '.ogg',
  '.opus',
  '.webm',
  '.mp4',
  '.mov',
  '.mkv',
] as const;

/** The longest recording a simulated meeting plays: 4 hours of 16 kHz mono PCM (~460 MB). */
export const MAX_RECORDING_SECONDS = 4 * 3600;
const MAX_PCM_BYTES = MAX_RECORDING_SECONDS * RECALL_PCM_BYTES_PER_SECOND;
const SOLE_SPEAKER = { id: 1, name: 'Speaker', isHost: true } as const;

/** A recording that cannot be played, with a message for the person who asked for it. */
export class RecordingError extends Error {
  constructor(
    readonly code: 'RECORDING_NOT_FOUND' | 'RECORDING_INVALID' | 'FFMPEG_MISSING',
    message: string,
  ) {
    super(message);
    this.name = 'RecordingError';
  }
}

/** `local://recordings/<name>` → `<name>`; undefined for any other meeting URL. */
export function recordingName(meetingUrl: string): string | undefined {
  if (!meetingUrl.startsWith(RECORDING_URL_PREFIX)) return undefined;
  const raw = meetingUrl.slice(RECORDING_URL_PREFIX.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function recordingUrl(name: string): string {
  return `${RECORDING_URL_PREFIX}${encodeURIComponent(name)}`;
}

function isPlayable(fileName: string): boolean {
  return (RECORDING_EXTENSIONS as readonly string[]).includes(path.extname(fileName).toLowerCase());
}

/** The playable files in `dirs` (not recursive), by name; a name in an earlier folder wins. */
export async function listRecordings(dirs: readonly string[]): Promise<string[]> {
  const names = new Set<string>();
  for (const dir of dirs) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const name of entries) {
      if (!isPlayable(name) || names.has(name)) continue;
      // Follows symlinks (`npm run sample -- FILE` links files in); skips folders and broken links.
      const info = await stat(path.join(dir, name)).catch(() => undefined);
      if (info?.isFile()) names.add(name);
    }
  }
  return [...names].sort((a, b) => a.localeCompare(b));
}

/** Finds `name` in `dirs`. Only bare file names are accepted: no folders, no `..`. */
export async function findRecording(dirs: readonly string[], name: string): Promise<string> {
  if (name === '' || name !== path.basename(name) || name === '.' || name === '..' || name.includes('\\')) {
    throw new RecordingError(
      'RECORDING_INVALID',
      `"${name}" is not a recording name (a file name, no folders)`,
    );
  }
  if (!isPlayable(name)) {
    throw new RecordingError(
      'RECORDING_INVALID',
      `"${name}" is not a playable recording (one of ${RECORDING_EXTENSIONS.join(', ')})`,
    );
  }
  for (const dir of dirs) {
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile()) return file;
  }
  throw new RecordingError('RECORDING_NOT_FOUND', `No recording named "${name}" in ${dirs.join(', ')}`);
}

/** Loads recording `name` as a meeting fixture: 16 kHz mono PCM plus who speaks when. */
export async function loadRecording(dirs: readonly string[], name: string): Promise<MeetingFixture> {
  const file = await findRecording(dirs, name);
  const pcm = await readPcm(file);
  if (pcm.length === 0) throw new RecordingError('RECORDING_INVALID', `${name} holds no audio`);
  const durationMs = (pcm.length / RECALL_PCM_BYTES_PER_SECOND) * 1000;
  const scriptPath = path.join(path.dirname(file), `${path.parse(name).name}.json`);
  const script = await readFile(scriptPath, 'utf8').catch(() => undefined);
  if (script === undefined) {
    return {
      pcm,
      durationMs,
      participants: [{ ...SOLE_SPEAKER }],
      segments: [{ participantId: SOLE_SPEAKER.id, startMs: 0, endMs: durationMs }],
    };
  }
  try {
    return { pcm, durationMs, ...parseFloorScript(JSON.parse(script), durationMs, scriptPath) };
  } catch (error) {
    throw new RecordingError('RECORDING_INVALID', `${scriptPath}: ${(error as Error).message}`);
  }
}

async function readPcm(file: string): Promise<Buffer> {
  if (path.extname(file).toLowerCase() === '.wav') {
    const bytes = await readFile(file);
    try {
      return Buffer.from(parseWav(bytes, path.basename(file)));
    } catch {
      // Another sample rate, stereo, float…: ffmpeg converts it.
    }
  }
  return decodeWithFfmpeg(file);
}

/** Decodes any audio (or a video's audio track) to 16 kHz mono S16LE with ffmpeg. */
export function decodeWithFfmpeg(file: string, ffmpeg = 'ffmpeg'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      ffmpeg,
      [
        '-nostdin',
        '-v',
        'error',
        '-i',
        file,
        '-vn',
        '-f',
        's16le',
        '-acodec',
        'pcm_s16le',
        '-ac',
        '1',
        '-ar',
        '16000',
        'pipe:1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLong = false;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PCM_BYTES) {
        tooLong = true;
        child.kill('SIGKILL');
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2000) stderr += chunk.toString('utf8');
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new RecordingError(
              'FFMPEG_MISSING',
              `Playing ${path.basename(file)} needs ffmpeg (apt-get install ffmpeg, or run scripts/bootstrap.sh)`,
            )
          : error,
      );
    });
    child.on('close', (code) => {
      const name = path.basename(file);
      if (tooLong) {
        reject(
          new RecordingError(
            'RECORDING_INVALID',
            `${name} is longer than ${MAX_RECORDING_SECONDS / 3600} hours`,
          ),
        );
      } else if (code !== 0) {
        const detail = stderr.trim().split('\n').at(-1) ?? `exit code ${code}`;
        reject(new RecordingError('RECORDING_INVALID', `${name} could not be decoded: ${detail}`));
      } else {
        const pcm = Buffer.concat(chunks);
        resolve(pcm.subarray(0, pcm.length & ~1));
      }
    });
  });
}
