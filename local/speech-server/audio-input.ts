/**
 * Turns the binary frames of one stream into 16 kHz mono int16 samples. Raw `linear16` frames
 * may split a sample across frames; raw `mulaw` frames are G.711 μ-law, a byte a sample,
 * decoded as Deepgram decodes them; without `encoding`, Deepgram expects a container, and this
 * server understands a WAV header (PCM, 16 kHz, mono, 16-bit), as `arecord`/browsers produce.
 */
import { decodeMulaw } from '../../core/audio/speech-encoding';
import type { ListenParams } from './listen-params';

export type AudioInputResult = { ok: true; pcm: Int16Array } | { ok: false; reason: string };

const MAX_HEADER_BYTES = 64 * 1024;
const EMPTY = new Int16Array(0);

export class AudioInput {
  private carry: Buffer = Buffer.alloc(0);
  private needsHeader: boolean;
  private readonly mulaw: boolean;
  private failed: string | undefined;

  constructor(params: ListenParams) {
    this.failed = params.unsupportedAudio;
    this.needsHeader = params.encoding === undefined;
    this.mulaw = params.encoding === 'mulaw';
  }

  push(frame: Buffer): AudioInputResult {
    if (this.failed) return { ok: false, reason: this.failed };
    if (this.mulaw) return { ok: true, pcm: decodeMulaw(frame) };
    let bytes = this.carry.length > 0 ? Buffer.concat([this.carry, frame]) : frame;
    if (this.needsHeader) {
      const header = parseWavHeader(bytes);
      if (header.status === 'incomplete') {
        if (bytes.length > MAX_HEADER_BYTES) return this.fail('no WAV data chunk in the first 64 KiB');
        this.carry = Buffer.from(bytes);
        return { ok: true, pcm: EMPTY };
      }
      if (header.status === 'invalid') return this.fail(header.reason);
      this.needsHeader = false;
      bytes = bytes.subarray(header.dataOffset);
    }
    const usable = bytes.length - (bytes.length % 2);
    this.carry = Buffer.from(bytes.subarray(usable));
    const pcm = new Int16Array(usable / 2);
    for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2);
    return { ok: true, pcm };
  }

  private fail(reason: string): AudioInputResult {
    this.failed = reason;
    return { ok: false, reason };
  }
}

type WavHeader =
  | { status: 'ok'; dataOffset: number }
  | { status: 'incomplete' }
  | { status: 'invalid'; reason: string };

export function parseWavHeader(bytes: Buffer): WavHeader {
  if (bytes.length < 12) return { status: 'incomplete' };
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    return { status: 'invalid', reason: 'audio is neither a WAV container nor a declared raw encoding' };
  }
  let offset = 12;
  let formatOk = false;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      if (offset + 8 + 16 > bytes.length) return { status: 'incomplete' };
      const format = bytes.readUInt16LE(offset + 8);
      const channels = bytes.readUInt16LE(offset + 10);
      const rate = bytes.readUInt32LE(offset + 12);
      const bits = bytes.readUInt16LE(offset + 22);
      if (format !== 1 || channels !== 1 || rate !== 16_000 || bits !== 16) {
        return {
          status: 'invalid',
          reason: `WAV format ${format}, ${channels} ch, ${rate} Hz, ${bits} bit (this server decodes PCM 16 kHz mono 16-bit)`,
        };
      }
      formatOk = true;
    } else if (id === 'data') {
      if (!formatOk) return { status: 'invalid', reason: 'WAV data chunk before its fmt chunk' };
      return { status: 'ok', dataOffset: offset + 8 };
    }
    offset += 8 + size + (size % 2);
  }
  return { status: 'incomplete' };
}
