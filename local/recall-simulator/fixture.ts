/**
 * The recorded meeting a simulated bot streams: a 16 kHz mono S16LE WAV and a floor script
 * (who holds the floor when). Loaded once per simulator and validated with clear messages.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { RECALL_AUDIO_FORMAT, RECALL_PCM_BYTES_PER_SECOND } from '../../core/recall/realtime-schema';

export interface FixturePaths {
  wavPath: string;
  scriptPath: string;
}

export interface FixtureParticipant {
  id: number;
  name: string;
  isHost: boolean;
}

export interface FixtureSegment {
  participantId: number;
  startMs: number;
  endMs: number;
}

export interface MeetingFixture {
  /** Raw 16 kHz mono S16LE samples (the WAV's data chunk). */
  pcm: Buffer;
  durationMs: number;
  /** In order of first appearance in the script; the first one is the host. */
  participants: FixtureParticipant[];
  /** Sorted by start, non-overlapping. */
  segments: FixtureSegment[];
}

const scriptSchema = z.looseObject({
  segments: z
    .array(
      z.looseObject({
        speaker: z.string().min(1),
        participantId: z.number().int().positive(),
        startMs: z.number().nonnegative(),
        endMs: z.number().nonnegative(),
      }),
    )
    .min(1),
});

/** Extracts the PCM data chunk of a WAV file, checking it is 16 kHz mono 16-bit PCM. */
export function parseWav(bytes: Buffer, name = 'WAV file'): Buffer {
  if (
    bytes.length < 12 ||
    bytes.toString('ascii', 0, 4) !== 'RIFF' ||
    bytes.toString('ascii', 8, 12) !== 'WAVE'
  ) {
    throw new TypeError(`${name} is not a RIFF/WAVE file`);
  }
  let format: { audioFormat: number; channels: number; sampleRate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ' && size >= 16 && body + 16 <= bytes.length) {
      format = {
        audioFormat: bytes.readUInt16LE(body),
        channels: bytes.readUInt16LE(body + 2),
        sampleRate: bytes.readUInt32LE(body + 4),
        bits: bytes.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!format) throw new TypeError(`${name}: data chunk before fmt chunk`);
      if (
        format.audioFormat !== 1 ||
        format.channels !== RECALL_AUDIO_FORMAT.channels ||
        format.sampleRate !== RECALL_AUDIO_FORMAT.sampleRate ||
        format.bits !== RECALL_AUDIO_FORMAT.bitsPerSample
      ) {
        throw new TypeError(
          `${name} must be 16 kHz mono 16-bit PCM, got format ${format.audioFormat}, ${format.channels} channel(s), ${format.sampleRate} Hz, ${format.bits}-bit`,
        );
      }
      const end = Math.min(bytes.length, body + size);
      const length = (end - body) & ~1;
      return bytes.subarray(body, body + length);
    }
    offset = body + size + (size % 2);
  }
  throw new TypeError(`${name} has no data chunk`);
}

export function parseFloorScript(
  json: unknown,
  durationMs: number,
  name = 'floor script',
): {
  participants: FixtureParticipant[];
  segments: FixtureSegment[];
} {
  const parsed = scriptSchema.safeParse(json);
  if (!parsed.success) {
    throw new TypeError(`${name} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  const participants: FixtureParticipant[] = [];
  const segments: FixtureSegment[] = [];
  for (const segment of [...parsed.data.segments].sort((a, b) => a.startMs - b.startMs)) {
    if (segment.endMs <= segment.startMs) {
      throw new TypeError(`${name}: a segment of ${segment.speaker} ends before it starts`);
    }
    const previous = segments.at(-1);
    if (previous && segment.startMs < previous.endMs) {
      throw new TypeError(`${name}: segments overlap at ${segment.startMs} ms`);
    }
    const known = participants.find((p) => p.id === segment.participantId);
    if (known && known.name !== segment.speaker) {
      throw new TypeError(`${name}: participant ${segment.participantId} has two names`);
    }
    if (!known) {
      participants.push({
        id: segment.participantId,
        name: segment.speaker,
        isHost: participants.length === 0,
      });
    }
    segments.push({
      participantId: segment.participantId,
      startMs: segment.startMs,
      endMs: Math.min(segment.endMs, durationMs),
    });
  }
  return { participants, segments };
}

export async function loadMeetingFixture(paths: FixturePaths): Promise<MeetingFixture> {
  const [wav, script] = await Promise.all([readFile(paths.wavPath), readFile(paths.scriptPath, 'utf8')]);
  const pcm = parseWav(wav, paths.wavPath);
  const durationMs = (pcm.length / RECALL_PCM_BYTES_PER_SECOND) * 1000;
  let json: unknown;
  try {
    json = JSON.parse(script);
  } catch {
    throw new TypeError(`${paths.scriptPath} is not JSON`);
  }
  return { pcm, durationMs, ...parseFloorScript(json, durationMs, paths.scriptPath) };
}
