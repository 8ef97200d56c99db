/**
 * The microphone's AudioWorklet processor: takes the capture (mono, or the mean of its
 * channels) at the AudioContext's rate, resamples it to 16 kHz signed 16-bit (resampler.ts) and
 * posts it to the page every 100 ms as a transferred `ArrayBuffer` of s16le samples. Vite
 * builds it as a separate file (`?worker&url`), loaded with `audioWorklet.addModule` from the
 * app's own origin (CSP `script-src 'self'`).
 *
 * Messages from the page: `{ type: 'flush' }` posts what is left (the resampler's tail too),
 * then `{ type: 'flushed' }`; `{ type: 'stop' }` stops posting.
 */
import { Resampler } from './resampler';

// The AudioWorkletGlobalScope is not in TypeScript's DOM library.
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, ctor: new () => AudioWorkletProcessor): void;

/** Samples per message at 16 kHz (100 ms). */
const POST_SAMPLES = 1_600;

class MicCaptureProcessor extends AudioWorkletProcessor {
  private readonly resampler = new Resampler(sampleRate, 16_000);
  private pending = new Int16Array(POST_SAMPLES * 2);
  private count = 0;
  private stopped = false;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<{ type: string }>) => {
      if (event.data.type === 'flush') {
        this.add(this.resampler.flush());
        this.post();
        this.port.postMessage({ type: 'flushed' });
      } else if (event.data.type === 'stop') {
        this.stopped = true;
      }
    };
  }

  process(inputs: Float32Array[][]): boolean {
    if (this.stopped) return false;
    const channels = inputs[0] ?? [];
    const first = channels[0];
    if (!first) return true;
    let mono = first;
    if (channels.length > 1) {
      mono = new Float32Array(first.length);
      for (const channel of channels)
        for (let i = 0; i < mono.length; i++)
          mono[i] = (mono[i] as number) + (channel[i] ?? 0) / channels.length;
    }
    this.add(this.resampler.process(mono));
    if (this.count >= POST_SAMPLES) this.post();
    return true;
  }

  private add(samples: Int16Array): void {
    if (this.count + samples.length > this.pending.length) {
      const bigger = new Int16Array((this.count + samples.length) * 2);
      bigger.set(this.pending.subarray(0, this.count));
      this.pending = bigger;
    }
    this.pending.set(samples, this.count);
    this.count += samples.length;
  }

  private post(): void {
    if (this.count === 0) return;
    // s16le, whatever the platform's byte order (the chunk protocol's format).
    const out = new ArrayBuffer(this.count * 2);
    const view = new DataView(out);
    for (let i = 0; i < this.count; i++) view.setInt16(i * 2, this.pending[i] as number, true);
    this.count = 0;
    this.port.postMessage({ type: 'pcm', pcm: out }, [out]);
  }
}

registerProcessor('parley-mic-capture', MicCaptureProcessor);
