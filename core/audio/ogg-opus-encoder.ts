/**
 * 16 kHz S16LE PCM to an Ogg Opus stream (RFC 7845), the way the gateway sends audio to Deepgram
 * with DEEPGRAM_ENCODING=opus: Deepgram detects the container, so the socket names no
 * `encoding` and no `sample_rate` (https://developers.deepgram.com/docs/encoding).
 *
 * libopus 1.4 runs in WebAssembly (core/audio/libopus.ts): nothing native to build, nothing
 * downloaded at run time. The default settings (DEFAULT_OPUS) use CELT alone (restricted low
 * delay): ≈ 40 µs per 20 ms frame where SILK (VoIP) at complexity 0 took ≈ 110–150 µs on the same
 * loaded machine, ≈ 68 µs quiet (bench:encoding; docs/benchmarks.md "Issue #15.5: the Opus
 * encoder's CPU").
 *
 * One encoder is one Ogg stream: the first bytes out carry the OpusHead and OpusTags pages, and
 * a new speech socket (a reconnect) takes a new encoder, so a new stream with its own headers.
 * PCM is cut into 20 ms Opus frames (what Recall sends); a frame's tail that does not fill 20 ms
 * waits for the next chunk. Each `packetsPerPage` packets make a page, returned at once. The
 * default, 2, holds a frame at most 20 ms (10 ms on average) for half the page headers and half
 * the WebSocket messages to Deepgram (3,450 → ≈ 2,780 B/s; docs/benchmarks.md, "Third round");
 * a Finalize or CloseStream ends the stream (`end`) and so sends a half page at once. 1 sends
 * every frame as it comes.
 */
import { OPUS_APPLICATION, type OpusApplication, OpusCodec } from './libopus';
import { OGG_FLAG_BOS, OGG_FLAG_EOS, writeOggPage } from './ogg';
import { SAMPLE_RATE } from './pcm';

/** Opus's granule positions count 48 kHz samples whatever the input rate (RFC 7845 §4). */
const GRANULE_RATE = 48_000;
const GRANULE_PER_SAMPLE = GRANULE_RATE / SAMPLE_RATE;
export const OPUS_FRAME_SAMPLES = (SAMPLE_RATE * 20) / 1000;
const FRAME_BYTES = OPUS_FRAME_SAMPLES * 2;
/**
 * The encoder's look-ahead at 16 kHz (libopus OPUS_GET_LOOKAHEAD: 2.5 ms, plus 4 ms of delay
 * compensation in the VoIP and audio applications = 104 samples; 40 in restricted low delay),
 * written to OpusHead as pre-skip in 48 kHz samples: a decoder drops them, so decoded sample i is
 * input sample i and Deepgram's times match the stream clock.
 */
export function opusPreSkip(application: OpusApplication): number {
  return (application === 'restrictedLowDelay' ? 40 : 104) * GRANULE_PER_SAMPLE;
}

export interface OpusSettings {
  /** Bits a second (libopus OPUS_SET_BITRATE). */
  bitrate: number;
  /** 0 (cheapest) … 10 (libopus's default). */
  complexity: number;
  /** Packets (20 ms each) per Ogg page: 1 sends every frame at once. */
  packetsPerPage?: number;
  /** libopus's application (default `voip`: SILK for speech). */
  application?: OpusApplication;
}

/**
 * What the gateway sends by default: CELT only (restricted low delay), 16 kb/s, complexity 3, a
 * page per two 20 ms packets. About a third of the CPU of SILK at complexity 0 (the earlier default),
 * WER 0.483 against linear16's 0.500 on the local engine (SILK: 0.472); CELT at complexity 0
 * needs 24 kb/s for the same (0.526 at 16 kb/s), complexity 5 costs twice as much for nothing
 * measured. Measured: docs/benchmarks.md "Issue #15.5: the Opus encoder's CPU". Two packets a
 * page: see the file's header.
 */
export const DEFAULT_OPUS: Required<OpusSettings> = {
  bitrate: 16_000,
  complexity: 3,
  packetsPerPage: 2,
  application: 'restrictedLowDelay',
};

/** The pre-skip of the default settings' streams (48 kHz samples). */
export const OPUS_PRE_SKIP = opusPreSkip(DEFAULT_OPUS.application);

const VENDOR = Buffer.from('Parley (libopus 1.4, opusscript)');

function opusHead(preSkip: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'ascii');
  head[8] = 1; // version
  head[9] = 1; // channels
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(SAMPLE_RATE, 12); // the input's rate (informational)
  head.writeInt16LE(0, 16); // output gain
  head[18] = 0; // channel mapping family 0: mono or stereo, no table
  return head;
}

function opusTags(): Buffer {
  const tags = Buffer.alloc(8 + 4 + VENDOR.length + 4);
  tags.write('OpusTags', 0, 'ascii');
  tags.writeUInt32LE(VENDOR.length, 8);
  VENDOR.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + VENDOR.length); // no user comments
  return tags;
}

/** Fails at start-up, not at the first meeting, when the WebAssembly file is not where it loads from. */
export function checkOpusAvailable(): void {
  new OpusCodec().delete();
}

export class OggOpusEncoder {
  private readonly opus: OpusCodec;
  private readonly serial = (Math.random() * 0x1_0000_0000) >>> 0;
  private readonly packetsPerPage: number;
  /** 48 kHz samples a decoder drops at the start (OpusHead). */
  readonly preSkip: number;
  private sequence = 0;
  private headersSent = false;
  /** Packets of the page being filled, copied out of the WebAssembly memory. */
  private pending: Uint8Array[] = [];
  /** The PCM of a frame not yet full (at most 20 ms less a sample). */
  private tail = Buffer.alloc(FRAME_BYTES);
  private tailBytes = 0;
  /** Input samples encoded so far (whole frames). */
  private encodedSamples = 0;
  /** Input samples handed over (what the stream ends with). */
  private inputSamples = 0;
  private ended = false;
  private disposed = false;
  /** Stats for the bench: Ogg bytes out and Opus packet bytes within them. */
  readonly stats = { bytesOut: 0, packetBytes: 0, packets: 0, pages: 0 };

  /** Input samples handed over so far (0: the stream has no audio yet). */
  get samplesIn(): number {
    return this.inputSamples;
  }

  constructor(settings: OpusSettings = DEFAULT_OPUS) {
    const application = settings.application ?? 'voip';
    this.opus = new OpusCodec(OPUS_APPLICATION[application]);
    this.opus.setBitrate(settings.bitrate);
    this.opus.setComplexity(settings.complexity);
    this.packetsPerPage = settings.packetsPerPage ?? 1;
    this.preSkip = this.opus.lookahead() * GRANULE_PER_SAMPLE;
  }

  /**
   * The Ogg bytes for this PCM (S16LE, whole samples): the header pages first time, then every
   * page completed. Empty while a page is still filling.
   */
  encode(pcm: Buffer): Buffer {
    if (this.ended) throw new Error('Ogg Opus stream already ended');
    this.inputSamples += pcm.length >> 1;
    const pages: Buffer[] = this.headers();
    let at = 0;
    if (this.tailBytes > 0) {
      at = Math.min(FRAME_BYTES - this.tailBytes, pcm.length);
      pcm.copy(this.tail, this.tailBytes, 0, at);
      this.tailBytes += at;
      if (this.tailBytes < FRAME_BYTES) return this.out(pages);
      this.encodeFrame(this.tail, pages);
      this.tailBytes = 0;
    }
    for (; at + FRAME_BYTES <= pcm.length; at += FRAME_BYTES)
      this.encodeFrame(pcm.subarray(at, at + FRAME_BYTES), pages);
    this.tailBytes = pcm.copy(this.tail, 0, at);
    return this.out(pages);
  }

  /**
   * The last page (end of stream): the frame in progress and the encoder's look-ahead padded with
   * silence, the granule position trimming the decoded stream to exactly the samples handed over.
   */
  end(): Buffer {
    if (this.ended) return Buffer.alloc(0);
    const pages = this.headers();
    const target = this.inputSamples + this.preSkip / GRANULE_PER_SAMPLE;
    while (this.encodedSamples < target || this.pending.length === 0) {
      this.tail.fill(0, this.tailBytes);
      this.tailBytes = 0;
      this.encodeFrame(this.tail, pages, false);
    }
    const granule = this.preSkip + this.inputSamples * GRANULE_PER_SAMPLE;
    pages.push(this.page(this.pending, granule, OGG_FLAG_EOS));
    this.pending = [];
    this.ended = true;
    return this.out(pages);
  }

  /** Frees the encoder's WebAssembly memory (a socket closed); idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ended = true;
    this.opus.delete();
  }

  private headers(): Buffer[] {
    if (this.headersSent) return [];
    this.headersSent = true;
    return [this.page([opusHead(this.preSkip)], 0, OGG_FLAG_BOS), this.page([opusTags()], 0, 0)];
  }

  private encodeFrame(frame: Buffer, pages: Buffer[], flush = true): void {
    // A view of the WebAssembly memory, valid until the next encode: written to a page at once,
    // or copied while its page fills.
    const packet = this.opus.encodeView(frame, OPUS_FRAME_SAMPLES);
    this.encodedSamples += OPUS_FRAME_SAMPLES;
    this.stats.packets++;
    this.stats.packetBytes += packet.length;
    if (flush && this.pending.length + 1 >= this.packetsPerPage) {
      // Samples decodable from the packets so far, pre-skip included (RFC 7845 §4).
      const packets = this.pending.length === 0 ? [packet] : [...this.pending, packet];
      pages.push(this.page(packets, this.encodedSamples * GRANULE_PER_SAMPLE, 0));
      this.pending = [];
    } else this.pending.push(Buffer.from(packet));
  }

  private page(packets: Uint8Array[], granule: number, flags: number): Buffer {
    this.stats.pages++;
    return writeOggPage({ serial: this.serial, sequence: this.sequence++, granule, flags }, packets);
  }

  private out(pages: Buffer[]): Buffer {
    const bytes = pages.length === 1 ? (pages[0] as Buffer) : Buffer.concat(pages);
    this.stats.bytesOut += bytes.length;
    return bytes;
  }
}
