/**
 * The per-hop timing a transcript event carries (docs/protocol.md "Latency"): the audio
 * gateway stamps audio end, speech result and publish; the fan-out stamps when it took the
 * event from the queue and when it posted it. Clients add their own receive time.
 */
import type { Segment, SegmentTiming } from './events';

/** The segment as handed to the publisher now. */
export function published(segment: Segment, now: number = Date.now()): Segment {
  return { ...segment, timing: { ...segment.timing, publishedAt: now } };
}

/** The segment as the fan-out posts it: taken from the queue at `fanoutAt`, sent now. */
export function sent(segment: Segment, fanoutAt: number, now: number = Date.now()): Segment {
  return { ...segment, timing: { ...segment.timing, fanoutAt, sentAt: Math.max(fanoutAt, now) } };
}

/** Milliseconds spent in each hop; a hop whose two ends are not both known is absent. */
export interface Hops {
  /** Audio end → speech result: the speech engine (and the audio's way to it). */
  speechMs?: number;
  /** Speech result → published: the gateway (seq, speaker). */
  gatewayMs?: number;
  /** Published → taken by the fan-out: SQS FIFO and the event source. */
  queueMs?: number;
  /** Taken → posted: storing the final, reading subscribers, alerts. */
  fanoutMs?: number;
  /** Audio end → posted. */
  totalMs?: number;
  /** Posted → received by this client (only with a receive time; clocks may differ). */
  deliveryMs?: number;
}

const HOPS: readonly [keyof Hops, keyof SegmentTiming | 'receivedAt', keyof SegmentTiming | 'receivedAt'][] =
  [
    ['speechMs', 'audioEndAt', 'resultAt'],
    ['gatewayMs', 'resultAt', 'publishedAt'],
    ['queueMs', 'publishedAt', 'fanoutAt'],
    ['fanoutMs', 'fanoutAt', 'sentAt'],
    ['totalMs', 'audioEndAt', 'sentAt'],
    ['deliveryMs', 'sentAt', 'receivedAt'],
  ];

export function hops(timing: SegmentTiming | undefined, receivedAt?: number): Hops {
  const at: Partial<Record<keyof SegmentTiming | 'receivedAt', number>> = { ...timing, receivedAt };
  const out: Hops = {};
  for (const [hop, from, to] of HOPS) {
    const a = at[from];
    const b = at[to];
    if (a !== undefined && b !== undefined) out[hop] = b - a;
  }
  return out;
}
