/**
 * Ogg Opus (RFC 7845) to 16 kHz mono int16 samples: what Deepgram does with a stream that
 * starts with `OggS` and names no `encoding`. The first packet is OpusHead (mono, mapping family
 * 0: this server decodes mono only), the second OpusTags; every later packet is Opus, decoded by
 * libopus (opusscript) at 16 kHz. The pre-skip is dropped from the start and an end-of-stream
 * page's granule position trims the end, so sample i out is sample i the sender encoded.
 * Chained streams (a new OpusHead after an end-of-stream page, RFC 7845 §3) continue the same
 * audio: the gateway ends its stream at a Finalize so that the encoder's look-ahead (2.5 ms; 6.5 with SILK) is
 * decoded before the Finalize, and starts a new one with the next audio.
 *
 * Anything else (bad pages, a CRC mismatch, a packet libopus rejects) fails with a reason; the
 * session then closes 1008 DATA-0000 as Deepgram does with audio it cannot decode.
 */
import { OpusCodec, OpusCodecError } from '../../core/audio/libopus';
import { OGG_FLAG_BOS, OGG_FLAG_EOS, OggFormatError, OggReader } from '../../core/audio/ogg';

const RATE = 16_000;
const PER_GRANULE = 48_000 / RATE;

export type OpusInputResult = { ok: true; pcm: Int16Array } | { ok: false; reason: string };

export class OggOpusInput {
  private readonly reader = new OggReader();
  private decoder: OpusCodec | undefined;
  private stage: 'head' | 'tags' | 'audio' = 'head';
  /** Decoded samples still to drop at the start (the pre-skip, at 16 kHz). */
  private skip = 0;
  private preSkip = 0;
  /** Samples returned so far. */
  private samplesOut = 0;

  push(bytes: Buffer): OpusInputResult {
    try {
      const chunks: Int16Array[] = [];
      for (const packet of this.reader.push(bytes)) {
        const pcm = this.packet(packet.data, packet.page.granule, packet.page.flags);
        if (pcm) chunks.push(pcm);
      }
      return { ok: true, pcm: join(chunks) };
    } catch (error) {
      this.close();
      const typed =
        error instanceof OggFormatError || error instanceof OpusInputError || error instanceof OpusCodecError;
      if (typed) return { ok: false, reason: error.message };
      throw error;
    }
  }

  /** Frees the decoder's WebAssembly memory; idempotent. */
  close(): void {
    this.decoder?.delete();
    this.decoder = undefined;
  }

  private packet(data: Buffer, granule: bigint, flags: number): Int16Array | undefined {
    if (flags & OGG_FLAG_BOS && this.stage === 'audio') {
      // A chained stream (the reader checked the previous one ended): a new head, a new decoder.
      this.close();
      this.stage = 'head';
      this.samplesOut = 0;
    }
    if (this.stage === 'head') {
      this.head(data);
      this.stage = 'tags';
      return undefined;
    }
    if (this.stage === 'tags') {
      if (data.toString('ascii', 0, 8) !== 'OpusTags')
        throw new OpusInputError('no OpusTags packet after OpusHead');
      this.stage = 'audio';
      return undefined;
    }
    if (!this.decoder) throw new OpusInputError('Ogg Opus stream already ended');
    let pcm = this.decoder.decode(data);
    if (this.skip > 0) {
      const drop = Math.min(this.skip, pcm.length);
      this.skip -= drop;
      pcm = pcm.subarray(drop);
    }
    if (flags & OGG_FLAG_EOS && granule >= 0n) {
      // End trimming: the stream holds (granule - pre-skip) samples at 48 kHz.
      const total = Math.max(0, Math.floor((Number(granule) - this.preSkip) / PER_GRANULE));
      pcm = pcm.subarray(0, Math.max(0, Math.min(pcm.length, total - this.samplesOut)));
    }
    this.samplesOut += pcm.length;
    return pcm;
  }

  private head(data: Buffer): void {
    if (data.length < 19 || data.toString('ascii', 0, 8) !== 'OpusHead')
      throw new OpusInputError('Ogg stream is not Opus (no OpusHead packet)');
    if ((data[8] as number) >> 4 !== 0) throw new OpusInputError(`OpusHead version ${data[8]}`);
    const channels = data[9] as number;
    if (channels !== 1 || data[18] !== 0)
      throw new OpusInputError(`Opus with ${channels} channels (this server decodes mono only)`);
    this.preSkip = data.readUInt16LE(10);
    this.skip = Math.round(this.preSkip / PER_GRANULE);
    this.decoder = new OpusCodec();
  }
}

export class OpusInputError extends Error {
  override readonly name = 'OpusInputError';
}

function join(chunks: Int16Array[]): Int16Array {
  if (chunks.length === 1) return chunks[0] as Int16Array;
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
