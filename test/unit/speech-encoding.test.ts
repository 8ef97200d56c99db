import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_SPEECH_ENCODING,
  decodeMulaw,
  encodeMulaw,
  linearFromMulaw,
  OPUS_WIRE_BYTES_PER_SECOND,
  parseSpeechEncoding,
  wireBytesPerSecond,
} from '../../core/audio/speech-encoding';
import { ConfigError } from '../../core/errors';
import { parseWavHeader } from '../../local/speech-server/audio-input';

/** Every signed 16-bit sample once, as S16LE bytes. */
function everySample(): Buffer {
  const pcm = Buffer.alloc(65_536 * 2);
  for (let i = 0; i < 65_536; i++) pcm.writeInt16LE(i - 32_768, i * 2);
  return pcm;
}

describe('G.711 μ-law for the speech service', () => {
  it('decodes every code as ffmpeg does (pcm_mulaw, the G.711 reference expansion)', () => {
    // Prepare: the 256 codes as an 8 kHz μ-law stream, expanded by ffmpeg.
    const codes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

    // Act
    const ffmpeg = execFileSync(
      'ffmpeg',
      ['-v', 'error', '-f', 'mulaw', '-ar', '8000', '-i', 'pipe:0', '-f', 's16le', 'pipe:1'],
      {
        input: codes,
      },
    );
    const ours = decodeMulaw(codes);

    // Assess
    expect(ffmpeg.length).toBe(512);
    for (let i = 0; i < 256; i++) expect(ours[i]).toBe(ffmpeg.readInt16LE(i * 2));
  });

  it('encodes every 16-bit sample to a code whose value is within its segment step, monotonically', () => {
    // Act
    const codes = encodeMulaw(everySample());

    // Assess: one byte a sample; the code's value is the nearest step below (or at) the sample
    // in magnitude, so the error is below the step of the sample's segment; louder never maps lower.
    expect(codes.length).toBe(65_536);
    const outOfStep: number[] = [];
    const nonMonotonic: number[] = [];
    let previous = -Infinity;
    for (let i = 0; i < 65_536; i++) {
      const sample = i - 32_768;
      const value = linearFromMulaw(codes[i] as number);
      const magnitude = Math.min(Math.abs(sample), 32_635);
      const step = 2 ** (Math.max(0, Math.floor(Math.log2((magnitude + 0x84) >> 7))) + 3);
      if (Math.abs(Math.max(-32_635, Math.min(32_635, sample)) - value) >= step) outOfStep.push(sample);
      if (value < previous) nonMonotonic.push(sample);
      previous = value;
    }
    expect(outOfStep).toEqual([]);
    expect(nonMonotonic).toEqual([]);
    // Anchors from the G.711 reference implementation.
    expect(codes[32_768]).toBe(0xff); // 0
    expect(codes[65_535]).toBe(0x80); // +32767
    expect(codes[0]).toBe(0x00); // -32768
  });

  it('keeps the fixture speech at a signal-to-noise ratio above 35 dB, in half the bytes', () => {
    // Prepare
    const wav = readFileSync(path.join(__dirname, '../../fixtures/meeting-librivox.wav'));
    const header = parseWavHeader(wav);
    if (header.status !== 'ok') throw new Error('fixture is not a PCM WAV file');
    const pcm = wav.subarray(header.dataOffset);

    // Act
    const encoded = encodeMulaw(pcm);
    const decoded = decodeMulaw(encoded);

    // Assess
    expect(encoded.length).toBe(pcm.length / 2);
    let signal = 0;
    let noise = 0;
    for (let i = 0; i < decoded.length; i++) {
      const s = pcm.readInt16LE(i * 2);
      signal += s * s;
      noise += (s - (decoded[i] as number)) ** 2;
    }
    expect(10 * Math.log10(signal / noise)).toBeGreaterThan(35);
  });

  it('encodes whole samples only: a trailing half sample is not sent', () => {
    expect(encodeMulaw(Buffer.from([0, 0, 0x10])).length).toBe(1);
  });

  it('reads DEEPGRAM_ENCODING: the default when unset, each of linear16, mulaw and opus, anything else refused', () => {
    expect(parseSpeechEncoding(undefined)).toBe(DEFAULT_SPEECH_ENCODING);
    expect(parseSpeechEncoding('linear16')).toBe('linear16');
    expect(parseSpeechEncoding('mulaw')).toBe('mulaw');
    expect(parseSpeechEncoding('opus')).toBe('opus');
    expect(() => parseSpeechEncoding('ogg-opus')).toThrow(ConfigError);
    expect(wireBytesPerSecond('linear16')).toBe(32_000);
    expect(wireBytesPerSecond('mulaw')).toBe(16_000);
    expect(wireBytesPerSecond('opus')).toBe(OPUS_WIRE_BYTES_PER_SECOND);
  });
});
