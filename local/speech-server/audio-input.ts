/**
 * Turns the binary frames of one stream into 16 kHz mono int16 samples. Raw `linear16` frames
 * may split a sample across frames; raw `mulaw` frames are G.711 μ-law, a byte a sample,
 * decoded as Deepgram decodes them; without `encoding`, Deepgram detects a container from the
 * first bytes, and this server understands two: a WAV header (PCM, 16 kHz, mono, 16-bit), as
 * `arecord`/browsers produce, and Ogg Opus (`OggS`, ogg-opus-input.ts), as the gateway sends with
 * DEEPGRAM_ENCODING=opus.
 */
import { decodeMulaw } from '../../core/audio/speech-encoding';
import type { ListenParams } from './listen-params';
import { OggOpusInput } from './ogg-opus-input';

export type AudioInputResult = { ok: true; pcm: Int16Array } | { ok: false; reason: string };

const MAX_HEADER_BYTES = 64 * 1024;
const EMPTY = new Int16Array(0);

export class AudioInput {
  private carry: Buffer = Buffer.alloc(0);
  private needsHeader: boolean;
  private readonly mulaw: boolean;
  /** Set once the container's first bytes say Ogg. */
  private ogg: OggOpusInput | undefined;
  private failed: string | undefined;

  constructor(params: ListenParams) {
    this.failed = params.unsupportedAudio;
    this.needsHeader = params.encoding === undefined;
    this.mulaw = params.encoding === 'mulaw';
  }

  push(frame: Buffer): AudioInputResult {
    if (this.failed) return { ok: false, reason: this.failed };
    if (this.mulaw) return { ok: true, pcm: decodeMulaw(frame) };
    if (this.ogg) return this.fromOgg(frame);
    let bytes = this.carry.length > 0 ? Buffer.concat([this.carry, frame]) : frame;
    if (this.needsHeader && bytes.length >= 4 && bytes.toString('ascii', 0, 4) === 'OggS') {
      this.needsHeader = false;
      this.carry = Buffer.alloc(0);
      this.ogg = new OggOpusInput();
      return this.fromOgg(bytes);
    }
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

  /** Frees what decoding holds (the Opus decoder's WebAssembly memory); the session has ended. */
  close(): void {
    this.ogg?.close();
  }

  private fromOgg(bytes: Buffer): AudioInputResult {
    const result = (this.ogg as OggOpusInput).push(bytes);
    if (!result.ok) this.failed = result.reason;
    return result;
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
    return {
      status: 'invalid',
      reason: 'audio is neither a WAV nor an Ogg container, nor a declared raw encoding',
    };
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
