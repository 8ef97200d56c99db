/**
 * libopus 1.4 in WebAssembly, from the `opusscript` package (MIT; libopus BSD): nothing native to
 * build, nothing downloaded at run time; the .wasm file loads from beside the script that runs it
 * (node_modules/opusscript/build, or the bundle's directory: the gateway's Dockerfile copies it).
 *
 * Used through its compiled module, not opusscript's JavaScript class: that class addresses its
 * scratch buffers in the WebAssembly memory at twice their allocated address (a byte pointer used
 * as a 16-bit index), so instances overwrite memory they do not own and, once allocations pass
 * half the initial heap (≈ 79 instances in one process, measured), every call throws "offset is
 * out of bounds". Here each buffer is addressed at its own pointer, through the module's current
 * memory views (they are replaced when the memory grows).
 *
 * The module's handler takes PCM one byte per 16-bit cell and returns it the same way (its C++
 * packs and unpacks the bytes); 16 kHz mono only, which is all Parley sends. Encoding skips both
 * halves of that: the PCM is copied as it is (a memcpy) and the handler is told it has 0 bytes to
 * pack, so libopus reads the S16LE samples where they lie (its packing loop runs `bytes` times and
 * is the only thing that argument drives; opusscript's src/opusscript_encoder.cpp).
 */
import { SAMPLE_RATE } from './pcm';

interface OpusHandler {
  _encode(input: number, bytes: number, output: number, frameSize: number): number;
  _decode(input: number, bytes: number, output: number): number;
  _encoder_ctl(ctl: number, arg: number): number;
}

interface OpusModule {
  OpusScriptHandler: {
    new (sampleRate: number, channels: number, application: number): OpusHandler;
    destroy_handler(handler: OpusHandler): void;
  };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  HEAPU8: Uint8Array;
  HEAPU16: Uint16Array;
  HEAP32: Int32Array;
}

/** libopus's applications (opus_defines.h): the encoder's modes, fixed when it is created. */
export const OPUS_APPLICATION = {
  /** SILK (speech codec) and hybrid modes: best for speech at low bitrates. */
  voip: 2048,
  audio: 2049,
  /** CELT only (no SILK): the least look-ahead (2.5 ms) and, at complexity 0, the least CPU. */
  restrictedLowDelay: 2051,
} as const;
export type OpusApplication = keyof typeof OPUS_APPLICATION;
export const OPUS_APPLICATION_VOIP = OPUS_APPLICATION.voip;
const OPUS_SET_BITRATE = 4002;
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_GET_LOOKAHEAD = 4027;
/** The longest Opus packet (3 × 1276 bytes) and frame (120 ms at 16 kHz: 1,920 samples; 2,880 at 24 kHz). */
const MAX_PACKET_BYTES = 1276 * 3;
const MAX_FRAME_SAMPLES = 2880;
/** Input: a cell per PCM byte, and the handler reads up to twice as many cells while packing. */
const INPUT_BYTES = Math.max(MAX_PACKET_BYTES, MAX_FRAME_SAMPLES * 2 * 2 * 2);
/** Output: a cell per PCM byte (decoding), or the packet (encoding). */
const OUTPUT_BYTES = Math.max(MAX_PACKET_BYTES, MAX_FRAME_SAMPLES * 2 * 2);

const ERRORS: Record<number, string> = {
  [-1]: 'bad argument',
  [-2]: 'buffer too small',
  [-3]: 'internal error',
  [-4]: 'invalid packet',
  [-5]: 'unimplemented',
  [-6]: 'invalid state',
  [-7]: 'memory allocation failed',
};

export class OpusCodecError extends Error {
  override readonly name = 'OpusCodecError';
}

let loaded: OpusModule | undefined;

/** The compiled module, instantiated once per process (synchronously). */
function opusModule(): OpusModule {
  loaded ??= (require('opusscript/build/opusscript_native_wasm.js') as () => OpusModule)();
  return loaded;
}

function check(result: number, what: string): number {
  if (result < 0) throw new OpusCodecError(`libopus ${what}: ${ERRORS[result] ?? `error ${result}`}`);
  return result;
}

/** One libopus encoder and decoder at 16 kHz mono; delete() frees its WebAssembly memory. */
export class OpusCodec {
  private readonly native = opusModule();
  private readonly handler: OpusHandler;
  private readonly input: number;
  private readonly output: number;
  private deleted = false;

  constructor(application: number = OPUS_APPLICATION_VOIP) {
    this.handler = new this.native.OpusScriptHandler(SAMPLE_RATE, 1, application);
    this.input = this.native._malloc(INPUT_BYTES);
    this.output = this.native._malloc(OUTPUT_BYTES);
  }

  setBitrate(bitsPerSecond: number): void {
    check(this.handler._encoder_ctl(OPUS_SET_BITRATE, bitsPerSecond), 'OPUS_SET_BITRATE');
  }

  setComplexity(complexity: number): void {
    check(this.handler._encoder_ctl(OPUS_SET_COMPLEXITY, complexity), 'OPUS_SET_COMPLEXITY');
  }

  /**
   * Samples of look-ahead the encoder adds (at 16 kHz): what an Ogg stream's pre-skip drops
   * (104 in the VoIP and audio applications, 40 in restricted low delay).
   */
  lookahead(): number {
    // A GET request takes a pointer to an opus_int32: a scratch word in the output buffer.
    check(this.handler._encoder_ctl(OPUS_GET_LOOKAHEAD, this.output), 'OPUS_GET_LOOKAHEAD');
    return this.native.HEAP32[this.output >> 2] as number;
  }

  /**
   * One Opus packet of `frameSamples` samples of S16LE PCM (a legal Opus frame size), as a view of
   * the WebAssembly memory that the next call on any codec overwrites: copy it to keep it.
   */
  encodeView(pcm: Uint8Array, frameSamples: number): Uint8Array {
    if (pcm.length !== frameSamples * 2)
      throw new OpusCodecError(`${pcm.length} bytes for ${frameSamples} samples`);
    // The samples as they are; `0` bytes to pack (see the file comment).
    this.native.HEAPU8.set(pcm, this.input);
    const bytes = check(this.handler._encode(this.input, 0, this.output, frameSamples), 'encode');
    return this.native.HEAPU8.subarray(this.output, this.output + bytes);
  }

  /** One Opus packet of `frameSamples` samples of S16LE PCM, in a Buffer of its own. */
  encode(pcm: Uint8Array, frameSamples: number): Buffer {
    return Buffer.from(this.encodeView(pcm, frameSamples));
  }

  /** The samples of one Opus packet. */
  decode(packet: Uint8Array): Int16Array {
    if (packet.length > MAX_PACKET_BYTES) throw new OpusCodecError(`Opus packet of ${packet.length} bytes`);
    this.native.HEAPU8.set(packet, this.input);
    const samples = check(this.handler._decode(this.input, packet.length, this.output), 'decode');
    const cells = this.native.HEAPU16.subarray(this.output >> 1, (this.output >> 1) + samples * 2);
    const pcm = new Int16Array(samples);
    for (let i = 0; i < samples; i++) pcm[i] = ((cells[2 * i + 1] as number) << 8) | (cells[2 * i] as number);
    return pcm;
  }

  /** Frees the codec's WebAssembly memory; idempotent. */
  delete(): void {
    if (this.deleted) return;
    this.deleted = true;
    this.native.OpusScriptHandler.destroy_handler(this.handler);
    this.native._free(this.input);
    this.native._free(this.output);
  }
}
