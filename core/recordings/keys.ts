/**
 * Where a meeting's recording lives in the media bucket (under the `recordings/` lifecycle
 * prefix of core/resources.ts), and how archive chunk keys encode what they hold.
 *
 * Chunk keys are deterministic: they name the span of meeting time (in samples at 16 kHz from
 * the meeting's start) and the source, so a chunk written twice (a retry, or a replaced
 * container re-archiving the same audio) lands on the same key, and overlapping chunks of
 * different keys are resolved by position when the recording is assembled.
 *
 *   recordings/{meetingId}/chunks/{start:012}-{end:012}.recall.pcm
 *   recordings/{meetingId}/chunks/{start:012}-{end:012}.mic-{session}-{firstSeq}-{lastSeq}.pcm
 *   recordings/{meetingId}/chunks/{start:012}-{end:012}.mic-{session}-{firstSeq}-{lastSeq}.skip   (paused: no audio)
 *   recordings/{meetingId}/recording.webm   (or .wav): the assembled, playable file
 */

export const RECORDINGS_PREFIX = 'recordings/';

export const RECORDING_FORMATS = {
  /** Opus in WebM at 24 kb/s mono (ffmpeg): ~10.9 MB per hour; Chrome, Edge, Firefox, Safari 15+. */
  webm: { extension: 'webm', contentType: 'audio/webm' },
  /** 16 kHz mono 16-bit WAV (pure JS, lossless): 115.2 MB per hour. Tests and ffmpeg-less hosts. */
  wav: { extension: 'wav', contentType: 'audio/wav' },
} as const;
export type RecordingFormat = keyof typeof RECORDING_FORMATS;

export type ChunkSource =
  | { kind: 'recall' }
  | { kind: 'mic'; session: string; firstSeq: number; lastSeq: number };

export interface ChunkKey {
  meetingId: string;
  /** First sample (meeting time at 16 kHz). */
  start: number;
  /** One past the last sample. */
  end: number;
  source: ChunkSource;
  /** `skip`: a paused span of a microphone stream, acknowledged but holding no audio. */
  skip: boolean;
}

export function meetingPrefix(meetingId: string): string {
  return `${RECORDINGS_PREFIX}${meetingId}/`;
}

export function chunksPrefix(meetingId: string): string {
  return `${meetingPrefix(meetingId)}chunks/`;
}

export function recordingKey(meetingId: string, format: RecordingFormat): string {
  return `${meetingPrefix(meetingId)}recording.${RECORDING_FORMATS[format].extension}`;
}

const pad = (n: number) => String(n).padStart(12, '0');

export function chunkKey(chunk: ChunkKey): string {
  const source =
    chunk.source.kind === 'recall'
      ? 'recall'
      : `mic-${chunk.source.session}-${chunk.source.firstSeq}-${chunk.source.lastSeq}`;
  return `${chunksPrefix(chunk.meetingId)}${pad(chunk.start)}-${pad(chunk.end)}.${source}.${chunk.skip ? 'skip' : 'pcm'}`;
}

const CHUNK_NAME = /^(\d{12})-(\d{12})\.(recall|mic-([0-9a-f]{32})-(\d+)-(\d+))\.(pcm|skip)$/;

/** Parses a key written by `chunkKey`; undefined for anything else under the prefix. */
export function parseChunkKey(meetingId: string, key: string): ChunkKey | undefined {
  const prefix = chunksPrefix(meetingId);
  if (!key.startsWith(prefix)) return undefined;
  const m = CHUNK_NAME.exec(key.slice(prefix.length));
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end <= start) return undefined;
  const source: ChunkSource =
    m[3] === 'recall'
      ? { kind: 'recall' }
      : { kind: 'mic', session: m[4] as string, firstSeq: Number(m[5]), lastSeq: Number(m[6]) };
  return { meetingId, start, end, source, skip: m[7] === 'skip' };
}
