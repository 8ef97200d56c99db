/**
 * The little Parley needs to know about MP3: Recall's Output Audio endpoint and
 * `automatic_audio_output` take base64 MP3 (https://docs.recall.ai/docs/output-audio-in-meetings).
 */

/**
 * True when `bytes` starts like an MP3 file: an ID3v2 tag, or an MPEG audio frame header
 * (11-bit frame sync, no reserved version/layer/bitrate/sample-rate values). A cheap sniff, not
 * a decoder: it catches WAV, PCM or text sent by mistake.
 */
export function looksLikeMp3(bytes: Uint8Array): boolean {
  if (bytes.length >= 10 && bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) {
    // "ID3", major version 2–4, flags, then a 28-bit syncsafe size (high bit of each byte clear).
    const major = bytes[3]!;
    const syncsafe = [bytes[6]!, bytes[7]!, bytes[8]!, bytes[9]!].every((b) => b < 0x80);
    return major >= 2 && major <= 4 && syncsafe;
  }
  if (bytes.length < 4) return false;
  const [b0, b1, b2] = [bytes[0]!, bytes[1]!, bytes[2]!];
  if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0) return false;
  const version = (b1 >> 3) & 0b11; // 01 is reserved
  const layer = (b1 >> 1) & 0b11; // 00 is reserved
  const bitrate = b2 >> 4; // 1111 is invalid
  const sampleRate = (b2 >> 2) & 0b11; // 11 is reserved
  return version !== 0b01 && layer !== 0b00 && bitrate !== 0b1111 && sampleRate !== 0b11;
}

/**
 * A valid MP3 of silence, about `durationMs` long: MPEG-1 Layer III, 32 kHz, mono, 32 kbit/s,
 * 144-byte frames of 1,152 samples (36 ms) with zeroed side information, which every decoder
 * plays as silence. Used where Recall requires an MP3 but Parley has nothing to say yet
 * (`automatic_audio_output` must be set for Output Audio to work later).
 */
export function silentMp3(durationMs = 500): Buffer {
  const FRAME_BYTES = 144;
  const FRAME_MS = (1152 / 32_000) * 1000;
  const frames = Math.max(1, Math.ceil(durationMs / FRAME_MS));
  const out = Buffer.alloc(frames * FRAME_BYTES);
  for (let i = 0; i < frames; i++) {
    // sync + MPEG-1 + Layer III + no CRC | 32 kbit/s + 32 kHz | mono, original
    out.set([0xff, 0xfb, 0x18, 0xc4], i * FRAME_BYTES);
  }
  return out;
}
