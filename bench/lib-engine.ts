/**
 * The embedded engine (PocketSphinx behind the speech server's StreamDecoder) run in this
 * thread on a whole PCM buffer, as the speech server's worker runs it: for benches that weigh
 * decoder options (bench/engine-options.ts) or audio encodings (bench/audio-encoding.ts) by WER.
 */
import { Recognizer } from '../local/speech-server';
import { StreamDecoder } from '../local/speech-server/stream-decoder';

/** The speech server's stream settings for Parley's requests (endpointing=300, an interim a second). */
export const STREAM_SETTINGS = { endpointingMs: 300, interimIntervalMs: 1_000, maxUtteranceMs: 15_000 };
const FRAME_BYTES = 8_000; // 250 ms, as the worker sends

export function threadCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export interface Decoded {
  /** The finals' words, joined. */
  text: string;
  cpu: number;
  wall: number;
  /** CPU seconds to load the model (not in `cpu`). */
  loadCpu: number;
}

/** Decodes 16 kHz S16LE `pcm`; `onResult` sees each interim and final (decoding CPU ms, audio ms). */
export function decodePcm(
  pcm: Buffer,
  extraArgs: Record<string, string> = {},
  onResult?: (cpuMs: number, processedMs: number) => void,
): Decoded {
  const load0 = threadCpuSeconds();
  const recognizer = new Recognizer({
    vadPostSpeechFrames: Math.round(STREAM_SETTINGS.endpointingMs / 10),
    extraArgs,
  });
  const loadCpu = threadCpuSeconds() - load0;
  const decoder = new StreamDecoder(recognizer, STREAM_SETTINGS);
  const t0 = performance.now();
  const cpu0 = threadCpuSeconds();
  const words: string[] = [];
  for (let off = 0; off < pcm.length; off += FRAME_BYTES) {
    const frame = pcm.subarray(off, Math.min(pcm.length, off + FRAME_BYTES));
    const samples = new Int16Array(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.length));
    for (const e of decoder.push(samples)) {
      if (e.type === 'final') words.push(...e.words.map((w) => w.word));
      if (e.type === 'final' || e.type === 'interim')
        onResult?.((threadCpuSeconds() - cpu0) * 1000, e.processedMs);
    }
  }
  const last = decoder.flush('close');
  if (last.type === 'final') words.push(...last.words.map((w) => w.word));
  const cpu = threadCpuSeconds() - cpu0;
  const wall = (performance.now() - t0) / 1000;
  recognizer.free();
  return { text: words.join(' '), cpu, wall, loadCpu };
}
