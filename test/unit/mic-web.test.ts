/**
 * The web app's microphone and player parts that run without a browser: the AudioWorklet's
 * resampler (48 / 44.1 kHz float → 16 kHz s16) and the player's "line being spoken" lookup.
 */
import type { Line } from '../../web/src/meeting-store';
import { Resampler, toInt16 } from '../../web/src/mic/resampler';
import { lineAt } from '../../web/src/playback';

function tone(rate: number, hz: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

/** Resamples `input` in blocks of `block` samples (an AudioWorklet's render quantum is 128). */
function run(resampler: Resampler, input: Float32Array, block = 128): Int16Array {
  const parts: Int16Array[] = [];
  for (let i = 0; i < input.length; i += block) parts.push(resampler.process(input.subarray(i, i + block)));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** RMS of the samples in the middle of `pcm` (away from the start's edge), 0…1. */
function rms(pcm: Int16Array): number {
  const middle = pcm.subarray(Math.floor(pcm.length / 4), Math.floor((3 * pcm.length) / 4));
  let sum = 0;
  for (const s of middle) sum += (s / 32768) ** 2;
  return Math.sqrt(sum / middle.length);
}

describe('the microphone resampler', () => {
  it('turns 48 kHz into 16 kHz: a third of the samples, speech-band tones at their level and pitch', () => {
    const out = run(new Resampler(48_000), tone(48_000, 1_000, 1));
    // Output n is input time 3n: what is complete is emitted, the kernel's last half-width waits.
    expect(out.length).toBeGreaterThan(16_000 - 40);
    expect(out.length).toBeLessThanOrEqual(16_000);
    expect(rms(out)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    // 1 kHz at 16 kHz: one period per 16 samples, so a positive-going zero crossing per 16.
    let crossings = 0;
    for (let i = 1; i < out.length; i++)
      if ((out[i - 1] as number) < 0 && (out[i] as number) >= 0) crossings++;
    expect(Math.abs(crossings - out.length / 16)).toBeLessThanOrEqual(2);
  });

  it('removes what 16 kHz cannot hold (a 10 kHz tone) instead of folding it into speech', () => {
    const out = run(new Resampler(48_000), tone(48_000, 10_000, 1));
    expect(rms(out)).toBeLessThan((0.5 / Math.SQRT2) * 0.03); // > 30 dB down
  });

  it('gives the same samples whatever the block sizes it is fed in', () => {
    const input = tone(44_100, 440, 0.5);
    const whole = new Resampler(44_100).process(input);
    const blocks = run(new Resampler(44_100), input, 37);
    expect(Array.from(blocks)).toEqual(Array.from(whole.subarray(0, blocks.length)));
    expect(Math.abs(blocks.length - (input.length * 16_000) / 44_100)).toBeLessThan(60);
  });

  it('passes 16 kHz through unchanged, and flush emits the tail', () => {
    const input = tone(16_000, 300, 0.25);
    const r = new Resampler(16_000);
    const out = [...run(r, input), ...r.flush()];
    expect(out.slice(0, input.length)).toEqual(Array.from(toInt16(input)));
  });

  it('clips out-of-range floats to the 16-bit range', () => {
    expect(Array.from(toInt16([2, -2, 1, -1, 0]))).toEqual([32767, -32768, 32767, -32768, 0]);
  });
});

describe('the line being spoken during playback', () => {
  const line = (seq: number, startMs: number): Line => ({
    seq,
    startMs,
    speaker: 'A',
    text: `line ${seq}`,
    final: true,
    keywords: [],
  });
  const blocks = [
    [line(1, 0), line(2, 4_000), line(3, 9_000)],
    [line(4, 15_000), line(5, 21_000)],
  ];

  it('is the last line that started at or before the position, across blocks', () => {
    expect(lineAt(blocks, 0)).toBe(1);
    expect(lineAt(blocks, 3_999)).toBe(1);
    expect(lineAt(blocks, 4_000)).toBe(2);
    expect(lineAt(blocks, 14_999)).toBe(3);
    expect(lineAt(blocks, 15_000)).toBe(4);
    expect(lineAt(blocks, 600_000)).toBe(5);
  });

  it('is none before the first line or in an empty transcript', () => {
    expect(lineAt([[line(1, 2_000)]], 1_000)).toBeUndefined();
    expect(lineAt([], 1_000)).toBeUndefined();
  });
});
