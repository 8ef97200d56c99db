/**
 * What the browser-microphone tests share: the fake microphone's WAV (a shared fixture at the
 * sample rate a real microphone gives, so the page's AudioWorklet resamples it), the rig they
 * run on, and the check that a microphone meeting's archive is contiguous in time and in chunk seq.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { s3 } from '../../core/clients/s3';
import { bucketName } from '../../core/config';
import { chunksPrefix, parseChunkKey } from '../../core/recordings/keys';
import { S3RecordingStore } from '../../core/recordings/store';
import { FIXTURE_DIR } from '../../local/stack';
import { fakeMicrophoneArgs } from './browser';
import { startWebRig, stopWebRig, type WebRig } from './web-rig';

/** A shared fixture: a stand-up read by two voices (16 kHz mono). */
export const MICROPHONE_FIXTURE = path.join(FIXTURE_DIR, 'standup-meeting.wav');

/** Writes the fixture as a 48 kHz 16-bit mono WAV into `dir` for Chromium's fake microphone. */
export function fakeMicrophoneWav(dir: string): string {
  const wav = path.join(dir, 'microphone.wav');
  const args = ['-loglevel', 'error', '-i', MICROPHONE_FIXTURE, '-ar', '48000', '-ac', '1'];
  execFileSync('ffmpeg', [...args, '-c:a', 'pcm_s16le', '-y', wav]);
  return wav;
}

export interface MicrophoneRig extends WebRig {
  /** The temporary directory that holds the fake microphone's WAV. */
  dir: string;
  /** The recording archive (the media bucket). */
  store: S3RecordingStore;
}

/** The web rig (speed 1, a 60 s reconnect grace) with Chromium's fake microphone playing the fixture. */
export async function startMicrophoneRig(): Promise<MicrophoneRig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-web-mic-'));
  try {
    const wav = fakeMicrophoneWav(dir);
    const rig = await startWebRig({ speed: 1, reconnectGraceMs: 60_000 }, fakeMicrophoneArgs(wav));
    return { ...rig, dir, store: new S3RecordingStore(s3(), bucketName('media')) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Stops the web rig and removes the microphone's directory (any part may be missing). */
export async function stopMicrophoneRig(rig: Partial<MicrophoneRig>): Promise<void> {
  await stopWebRig(rig);
  if (rig.dir) rmSync(rig.dir, { recursive: true, force: true });
}

/**
 * The archived microphone audio of a meeting, checked contiguous in time (no gap, nothing twice)
 * and in chunk seq (each chunk starts at the seq after the previous one's last); with its last seq.
 */
export async function archivedMicAudio(
  store: S3RecordingStore,
  meetingId: string,
): Promise<{ audio: Buffer; lastSeq: number }> {
  const chunks = (await store.list(chunksPrefix(meetingId)))
    .map((key) => ({ key, chunk: parseChunkKey(meetingId, key) }))
    .filter((c): c is { key: string; chunk: NonNullable<typeof c.chunk> } => c.chunk !== undefined)
    .sort((a, b) => a.chunk.start - b.chunk.start);
  const parts: Buffer[] = [];
  let at = 0;
  let lastSeq = 0;
  for (const { key, chunk } of chunks) {
    expect(chunk.start).toBe(at);
    if (chunk.source.kind !== 'mic') throw new Error(`not a microphone chunk: ${key}`);
    expect(chunk.source.firstSeq).toBe(lastSeq + 1);
    lastSeq = chunk.source.lastSeq;
    at = chunk.end;
    if (!chunk.skip) parts.push(await store.get(key));
  }
  return { audio: Buffer.concat(parts), lastSeq };
}
