/**
 * How the gateway and the file worker encode audio for the speech service (Deepgram's live
 * `encoding` parameter). Parley's audio is 16 kHz S16LE PCM everywhere (core/audio/pcm.ts);
 * only the bytes on the wire to Deepgram change:
 *
 * - `linear16`: the PCM as it is, 32,000 B a second.
 * - `mulaw`: ITU-T G.711 μ-law, 8 bits a sample at the same 16 kHz, 16,000 B a second (half
 *   the internet egress). Encoded with a 64 K-entry table (one lookup a sample); the recording
 *   and every ring keep the original PCM. WER and CPU against linear16: docs/benchmarks.md
 *   ("Audio to Deepgram: encoding"), bench/audio-encoding.ts.
 * - `opus`: Opus in Ogg (core/audio/ogg-opus-encoder.ts), sent with no `encoding` and no
 *   `sample_rate` (Deepgram detects the container). Stateful: each speech socket gets its own
 *   encoder and Ogg stream (deepgram-connector.ts), so it is not a per-chunk function here.
 */
import { ConfigError } from '../errors';
import { SAMPLE_RATE } from './pcm';

export const SPEECH_ENCODINGS = ['linear16', 'mulaw', 'opus'] as const;
export type SpeechEncoding = (typeof SPEECH_ENCODINGS)[number];

/**
 * The default on AWS and locally: Ogg Opus, about a ninth of the PCM's bytes (≈ $0.009 a
 * meeting-hour less egress) with no WER loss on the local engine (0.483 against linear16's 0.500
 * with the current settings, every setting at or above 16 kb/s CELT with complexity ≥ 2 within the
 * engine's own spread), for ≈ 2 ms more gateway CPU per stream-second (core/audio/capacity.ts:
 * a task holds a third of the meetings it would with PCM). μ-law is opt-in: half the egress but
 * +0.030 WER, and the transcript is the product (docs/benchmarks.md, "Audio to Deepgram:
 * encoding" and "Issue #15.5: the Opus encoder's CPU").
 */
export const DEFAULT_SPEECH_ENCODING: SpeechEncoding = 'opus';

/**
 * Ogg Opus bytes a second with the gateway's settings (DEFAULT_OPUS: CELT only, 16 kb/s,
 * complexity 3, a page per two 20 ms packets), measured over the four fixtures (200 s) by `npm run
 * bench:encoding` (its 40 ms pages column): 2,776 B/s, of which ≈ 725 are Ogg page headers (29
 * bytes a page, 25 pages a second) and the rest Opus packets (CELT's VBR spends the whole 16 kb/s,
 * silence or not). A page per packet sent 3,453 B/s; SILK's, 3,159.
 */
export const OPUS_WIRE_BYTES_PER_SECOND = 2_780;

/** Bytes a second on the wire to the speech service for 16 kHz mono audio. */
export function wireBytesPerSecond(encoding: SpeechEncoding): number {
  if (encoding === 'opus') return OPUS_WIRE_BYTES_PER_SECOND;
  return encoding === 'mulaw' ? SAMPLE_RATE : SAMPLE_RATE * 2;
}

export function parseSpeechEncoding(value: string | undefined, name = 'DEEPGRAM_ENCODING'): SpeechEncoding {
  if (value === undefined || value === '') return DEFAULT_SPEECH_ENCODING;
  if ((SPEECH_ENCODINGS as readonly string[]).includes(value)) return value as SpeechEncoding;
  throw new ConfigError(`${name} must be one of ${SPEECH_ENCODINGS.join(', ')}, got "${value}"`);
}

const BIAS = 0x84;
const CLIP = 32_635;

/** G.711 μ-law of one signed 16-bit sample (the reference algorithm; tables are built from it). */
export function mulawFromLinear(sample: number): number {
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** The signed 16-bit sample a μ-law byte stands for. */
export function linearFromMulaw(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

let encodeTable: Uint8Array | undefined;
let decodeTable: Int16Array | undefined;

/** μ-law byte for each 16-bit little-endian sample read as `lo | hi << 8` (64 KB, built once). */
function mulawTable(): Uint8Array {
  if (!encodeTable) {
    encodeTable = new Uint8Array(65_536);
    for (let u = 0; u < 65_536; u++) encodeTable[u] = mulawFromLinear(u >= 0x8000 ? u - 0x10000 : u);
  }
  return encodeTable;
}

function linearTable(): Int16Array {
  if (!decodeTable) {
    decodeTable = new Int16Array(256);
    for (let b = 0; b < 256; b++) decodeTable[b] = linearFromMulaw(b);
  }
  return decodeTable;
}

/**
 * μ-law bytes of S16LE PCM: one byte per whole sample. A trailing odd byte (half a sample) is
 * not encoded; callers send whole samples (every PCM chunk in Parley is).
 */
export function encodeMulaw(pcm: Uint8Array): Buffer {
  const table = mulawTable();
  const n = pcm.length >> 1;
  const out = Buffer.allocUnsafe(n);
  for (let i = 0, j = 0; i < n; i++, j += 2)
    out[i] = table[(pcm[j] as number) | ((pcm[j + 1] as number) << 8)] as number;
  return out;
}

/** 16-bit samples of μ-law bytes (what Deepgram, and the local speech server, decode). */
export function decodeMulaw(bytes: Uint8Array): Int16Array {
  const table = linearTable();
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i] as number] as number;
  return out;
}

/** The bytes to send to the speech service for a PCM chunk (the stateless encodings). */
export function encodeForSpeech(pcm: Buffer, encoding: 'linear16' | 'mulaw'): Buffer {
  return encoding === 'mulaw' ? encodeMulaw(pcm) : pcm;
}
