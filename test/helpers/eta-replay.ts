/**
 * Replays a recorded file job's progress (bench:jobs `--trace`) through an ETA estimator, as the
 * worker's progress ticks would have called it, and scores every estimate against the time the
 * job actually took to complete — the bench's measure (docs/benchmarks.md, File jobs).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ProgressTrace {
  name: string;
  audioSecondsTotal: number;
  /** ms from the trace's origin (its first transcribing progress) to the job's `complete`. */
  doneAtMs: number;
  /** [ms from the origin, audio seconds the engine has got through] at each progress tick. */
  progress: [number, number][];
}

export interface Estimator {
  estimate(at: number, audioMs: number, totalMs: number): { seconds: number } | undefined;
}

export interface Scored {
  atMs: number;
  fraction: number;
  estimate: number;
  actual: number;
  /** (estimate − actual) / actual: positive = too long. */
  error: number;
}

export const TRACE_DIR = path.join(__dirname, '..', 'unit', 'eta-traces');

/** Every recorded trace: the job runs as they are, the engine's own (CPU time) as progress ticks. */
export function loadTraces(): ProgressTrace[] {
  return readdirSync(TRACE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const raw = JSON.parse(readFileSync(path.join(TRACE_DIR, f), 'utf8'));
      const name = f.replace(/\.json$/, '');
      return raw.kind === 'engine-cpu' ? engineTrace(name, raw) : { name, ...raw };
    });
}

/** What the worker's last steps cost after the last audio (0.3 s in the recorded job runs). */
const TAIL_MS = 300;

/**
 * The engine alone on CPU time (what an idle core shows as wall time, `bench:engine --trace`):
 * its results as the worker's progress ticks (every 500 ms) would have seen them.
 */
function engineTrace(
  name: string,
  raw: { audioSecondsTotal: number; results: [number, number][] },
): ProgressTrace {
  const endMs = (raw.results.at(-1) as [number, number])[0];
  const progress: [number, number][] = [];
  let i = 0;
  let audioMs = 0;
  for (let at = 0; at < endMs; at += 500) {
    while (i < raw.results.length && (raw.results[i] as [number, number])[0] <= at) {
      audioMs = Math.max(audioMs, (raw.results[i] as [number, number])[1]);
      i++;
    }
    progress.push([at, audioMs / 1000]);
  }
  progress.push([endMs, raw.audioSecondsTotal]);
  return { name, audioSecondsTotal: raw.audioSecondsTotal, doneAtMs: endMs + TAIL_MS, progress };
}

/**
 * Every estimate the estimator gives from `fromFraction` of the audio on (the "from
 * 20 % onward"), with the actual time left from that tick to completion.
 */
export function replay(
  trace: ProgressTrace,
  make: (startAt: number, startAudioMs: number) => Estimator,
  fromFraction = 0.2,
): Scored[] {
  const totalMs = trace.audioSecondsTotal * 1000;
  // The worker starts its estimator at the engine's first result.
  const start = trace.progress.find(([, audio]) => audio > 0) ?? trace.progress[0];
  if (!start) return [];
  const estimator = make(start[0], start[1] * 1000);
  const scored: Scored[] = [];
  for (const [at, audio] of trace.progress) {
    if (at <= start[0]) continue;
    const e = estimator.estimate(at, audio * 1000, totalMs);
    const fraction = audio / trace.audioSecondsTotal;
    const actual = (trace.doneAtMs - at) / 1000;
    if (!e || fraction < fromFraction || actual <= 0) continue;
    scored.push({ atMs: at, fraction, estimate: e.seconds, actual, error: (e.seconds - actual) / actual });
  }
  return scored;
}

/**
 * The same job on an engine that changes speed: from the moment it reaches `atFraction` of the
 * audio, its wall time runs `factor` times faster (2 = the engine doubles its speed).
 */
export function withSpeedChange(trace: ProgressTrace, atFraction: number, factor: number): ProgressTrace {
  const change = trace.progress.find(([, audio]) => audio >= atFraction * trace.audioSecondsTotal);
  if (!change) throw new Error(`the trace never reaches ${atFraction}`);
  const t0 = change[0];
  const warp = (t: number) => (t <= t0 ? t : t0 + (t - t0) / factor);
  return {
    name: `${trace.name}, speed ×${factor} from ${Math.round(atFraction * 100)} %`,
    audioSecondsTotal: trace.audioSecondsTotal,
    doneAtMs: warp(trace.doneAtMs),
    progress: trace.progress.map(([t, audio]) => [warp(t), audio]),
  };
}

export function shareWithin(scored: Scored[], bound: number): number {
  return scored.filter((s) => Math.abs(s.error) <= bound).length / Math.max(1, scored.length);
}

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
