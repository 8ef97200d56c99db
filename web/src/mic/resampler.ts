/**
 * Streaming resampler for the microphone: float samples at the AudioContext's rate (48 kHz
 * typically, 44.1 kHz on some devices) in, signed 16-bit samples at 16 kHz out, as the chunk
 * protocol wants (docs/protocol.md). Windowed-sinc interpolation (Hann window) with its cutoff
 * just below the lower Nyquist frequency, so downsampling does not fold 8–24 kHz back into
 * speech. Output sample n is input time n × inRate/outRate exactly (no added delay), so a
 * recording's time stays the capture's time.
 *
 * Pure and dependency-free: the AudioWorklet (capture-worklet.ts) runs it, and unit tests run it
 * in Node.
 */

/** Kernel zero crossings on each side of a tap's centre (quality; cost grows linearly). */
const HALF_ZERO_CROSSINGS = 16;
/** Fractional positions are cached at this resolution (1/1024 of an input sample). */
const PHASES = 1024;

export class Resampler {
  private readonly step: number;
  private readonly cutoff: number;
  /** Kernel half-width, in input samples. */
  private readonly width: number;
  private readonly kernels = new Map<number, Float32Array>();
  /** Input not yet consumed, starting `width` samples before the next output's neighbourhood. */
  private buf: Float32Array;
  private filled: number;
  /** Position of the next output sample in `buf` (input samples). */
  private pos: number;

  constructor(
    readonly inRate: number,
    readonly outRate = 16_000,
  ) {
    if (!(inRate > 0 && outRate > 0)) throw new RangeError('sample rates must be positive');
    this.step = inRate / outRate;
    // Below the output's Nyquist when downsampling (5 % transition band); all-pass when upsampling.
    this.cutoff = Math.min(1, outRate / inRate) * (inRate > outRate ? 0.95 : 1);
    this.width = Math.ceil(HALF_ZERO_CROSSINGS / this.cutoff);
    // Leading zeros: the first output sample is input sample 0, with silence before it.
    this.buf = new Float32Array(this.width * 4 + 4096);
    this.filled = this.width;
    this.pos = this.width;
  }

  /** Resample `input`; returns every output sample that `input` (and what came before) completes. */
  process(input: Float32Array): Int16Array {
    this.append(input);
    const out: number[] = [];
    const w = this.width;
    while (this.pos + w < this.filled) {
      const base = Math.floor(this.pos);
      const kernel = this.kernel(this.pos - base);
      let acc = 0;
      // Taps base-w+1 … base+w; kernel[j] weighs buf[base - w + 1 + j].
      const first = base - w + 1;
      for (let j = 0; j < kernel.length; j++) acc += (this.buf[first + j] as number) * (kernel[j] as number);
      out.push(acc);
      this.pos += this.step;
    }
    this.compact();
    return toInt16(out);
  }

  /** Resample what is left (the last `width` input samples) as if silence followed. */
  flush(): Int16Array {
    return this.process(new Float32Array(this.width + 1));
  }

  private append(input: Float32Array): void {
    if (this.filled + input.length > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.filled + input.length));
      bigger.set(this.buf.subarray(0, this.filled));
      this.buf = bigger;
    }
    this.buf.set(input, this.filled);
    this.filled += input.length;
  }

  /** Drop input no future output needs (everything before the next output's first tap). */
  private compact(): void {
    const drop = Math.floor(this.pos) - this.width + 1;
    if (drop <= 0) return;
    this.buf.copyWithin(0, drop, this.filled);
    this.filled -= drop;
    this.pos -= drop;
  }

  /** Normalized windowed-sinc taps for an output at fractional offset `frac` past a sample. */
  private kernel(frac: number): Float32Array {
    const phase = Math.round(frac * PHASES);
    const cached = this.kernels.get(phase);
    if (cached) return cached;
    const f = phase / PHASES;
    const w = this.width;
    const taps = new Float32Array(2 * w);
    let sum = 0;
    for (let j = 0; j < taps.length; j++) {
      // Distance from the output position to tap j (sample base - w + 1 + j).
      const x = j - w + 1 - f;
      const window = Math.abs(x) >= w ? 0 : 0.5 + 0.5 * Math.cos((Math.PI * x) / w);
      const arg = Math.PI * this.cutoff * x;
      const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
      taps[j] = sinc * window;
      sum += taps[j] as number;
    }
    // Unity gain at DC, whatever the phase.
    for (let j = 0; j < taps.length; j++) taps[j] = (taps[j] as number) / sum;
    this.kernels.set(phase, taps);
    return taps;
  }
}

/** Float samples (−1…1, clipped) to signed 16-bit. */
export function toInt16(samples: ArrayLike<number>): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] as number));
    out[i] = Math.round(s < 0 ? s * 32768 : s * 32767);
  }
  return out;
}
