/**
 * What the bot says in the call (Output Audio), heard by the meeting: the MP3 decoded to 16 kHz
 * mono S16LE with ffmpeg and mixed into the meeting's audio from the moment it is played, while
 * the bot, as a participant of its own, is announced speaking (speech_on / speech_off), so the
 * gateway attributes the transcript of the spoken answer to the bot.
 */
import { spawn } from 'node:child_process';
import { RECALL_PCM_BYTES_PER_SECOND } from '../../core/recall/realtime-schema';

/** Longest Output Audio decoded: ~2 minutes of speech. */
const MAX_PCM_BYTES = 2 * 60 * RECALL_PCM_BYTES_PER_SECOND;
const DECODE_TIMEOUT_MS = 15_000;

/** 16 kHz mono S16LE samples of an MP3, decoded by ffmpeg. */
export function decodeMp3(mp3: Buffer, ffmpegPath = 'ffmpeg'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      ffmpegPath,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'mp3',
        '-i',
        'pipe:0',
        '-f',
        's16le',
        '-ac',
        '1',
        '-ar',
        '16000',
        'pipe:1',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), DECODE_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      if (size >= MAX_PCM_BYTES) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 1_000) stderr += chunk.toString('utf8');
    });
    child.stdin.on('error', () => {});
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ffmpeg to decode Output Audio: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(
          new Error(
            `ffmpeg could not decode Output Audio (${signal ?? `exit ${code}`}): ${stderr.trim().slice(0, 200)}`,
          ),
        );
        return;
      }
      const pcm = Buffer.concat(chunks).subarray(0, MAX_PCM_BYTES);
      resolve(pcm.subarray(0, pcm.length & ~1));
    });
    child.stdin.end(mp3);
  });
}

interface Clip {
  startMs: number;
  pcm: Buffer;
}

/** Clips placed on the meeting clock, added sample by sample to the frames they overlap. */
export class OutputAudioMixer {
  private clips: Clip[] = [];

  /** Places `pcm` at meeting time `startMs`; returns when it ends (meeting ms). */
  add(startMs: number, pcm: Buffer): number {
    this.clips.push({ startMs, pcm });
    return startMs + (pcm.length / RECALL_PCM_BYTES_PER_SECOND) * 1000;
  }

  /** The frame at meeting time `t` with every overlapping clip added (a copy), or the frame itself. */
  mix(t: number, frame: Buffer): Buffer {
    if (this.clips.length === 0) return frame;
    const bytesPerMs = RECALL_PCM_BYTES_PER_SECOND / 1000;
    let out: Buffer | undefined;
    for (const clip of this.clips) {
      // Byte offset of the frame's first sample inside the clip (even: whole samples).
      const offset = Math.round((t - clip.startMs) * bytesPerMs) & ~1;
      if (offset >= clip.pcm.length || offset + frame.length <= 0) continue;
      out ??= Buffer.from(frame);
      for (let i = Math.max(0, -offset); i + 1 < out.length && offset + i + 1 < clip.pcm.length; i += 2) {
        const sum = out.readInt16LE(i) + clip.pcm.readInt16LE(offset + i);
        out.writeInt16LE(Math.max(-32768, Math.min(32767, sum)), i);
      }
    }
    // Clips that ended before this frame are done.
    this.clips = this.clips.filter((c) => (t - c.startMs) * bytesPerMs < c.pcm.length);
    return out ?? frame;
  }
}
