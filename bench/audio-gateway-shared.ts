/** Names, IPC messages and histogram summaries shared by bench/audio-gateway.ts and its child. */
import type { IntervalHistogram, RecordableHistogram } from 'node:perf_hooks';

export const BENCH_API_KEY = 'bench';

export function benchMeetingId(index: number): string {
  return `bench-${index}`;
}

export function parseBenchMeetingId(meetingId: string): number | undefined {
  const match = /^bench-(\d{1,6})$/.exec(meetingId);
  return match ? Number(match[1]) : undefined;
}

/** The endpoint token of bench meeting `index` (the child stores only its hash, as the real table does). */
export function benchToken(index: number): string {
  return `bench-token-${index}-0123456789abcdef`;
}

export type ParentMessage =
  | { type: 'mark'; streams: number }
  | { type: 'report'; streams: number }
  | { type: 'exit' };

export interface DelaySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface ChildReport {
  type: 'report';
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Event-loop utilisation over the window (0..1). */
  elu: number;
  rssEnd: number;
  rssPeak: number;
  heapPeak: number;
  heapTotalPeak: number;
  /** Memory outside the V8 heap (Buffers' backing stores among it). */
  externalPeak: number;
  /** Garbage collections during the window (PerformanceObserver 'gc'). */
  gc: { minorCount: number; minorMs: number; majorCount: number; majorMs: number; maxPauseMs: number };
  rssAfterGc: number;
  heapAfterGc: number;
  forwardedInWindow: number;
  acceptedInWindow: number;
  /** Arrival (gateway's performance.now() in onFrame) → after sendMedia, via onAudioForwarded. */
  forwardDelayMs: DelaySummary;
  /** How late a 10 ms timer ran (perf_hooks.monitorEventLoopDelay minus the interval): time the loop was blocked. */
  eventLoopDelayMs: DelaySummary;
  stats: Record<string, unknown>;
}

/** Summary in ms of a histogram recorded in ns. */
export function summarize(h: RecordableHistogram | IntervalHistogram): DelaySummary {
  const count = 'count' in h ? Number((h as RecordableHistogram).count) : 0;
  const empty = h.max === 0 || Number.isNaN(h.mean);
  const ms = (ns: number) => (empty ? 0 : ns / 1e6);
  return {
    count,
    p50: ms(h.percentile(50)),
    p90: ms(h.percentile(90)),
    p99: ms(h.percentile(99)),
    p999: ms(h.percentile(99.9)),
    max: ms(h.max),
    mean: ms(h.mean),
  };
}
