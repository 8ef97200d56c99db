import { AudioArrivals } from '../../core/audio/audio-arrivals';
import type { Segment } from '../../core/pipeline/events';
import { hops, published, sent } from '../../core/pipeline/segment-timing';

const segment: Segment = {
  id: 'm:1',
  seq: 1,
  revision: 0,
  text: 'hello',
  speaker: 'Ana',
  confidence: 1,
  startMs: 0,
  endMs: 500,
  timestamp: new Date(0).toISOString(),
  isFinal: true,
  timing: { audioEndAt: 1_000, resultAt: 1_300 },
};

describe('per-hop timing', () => {
  it('dates the end of a line’s audio by the arrival of the frame that carried it', () => {
    const arrivals = new AudioArrivals();
    arrivals.mark(100, 5_000);
    arrivals.mark(200, 5_100);
    arrivals.mark(300, 5_200);
    expect(arrivals.arrivalOf(150)).toBe(5_100);
    expect(arrivals.arrivalOf(200)).toBe(5_100);
    expect(arrivals.arrivalOf(301)).toBeUndefined(); // not arrived yet
  });

  it('forgets the audio a final covered, and never holds more than its bound', () => {
    const arrivals = new AudioArrivals();
    for (let i = 1; i <= 100_000; i++) arrivals.mark(i * 20, i);
    expect(arrivals.size).toBeLessThanOrEqual(45_000);
    arrivals.prune(1_999_000);
    expect(arrivals.arrivalOf(1_999_000)).toBe(99_950);
    expect(arrivals.size).toBe(51);
  });

  it('answers from marks that wrapped around its storage and survived it growing', () => {
    const arrivals = new AudioArrivals();
    // Finals every 150 frames keep ~150 marks: the storage wraps many times without growing.
    for (let i = 1; i <= 3_000; i++) {
      arrivals.mark(i * 20, 1_000_000 + i);
      if (i % 150 === 0) arrivals.prune((i - 100) * 20);
    }
    expect(arrivals.size).toBe(101);
    expect(arrivals.arrivalOf(2_900 * 20 + 5)).toBe(1_002_901);
    expect(arrivals.arrivalOf(100)).toBe(1_002_900); // pruned: the oldest kept mark answers
    // A long utterance without a final: the storage grows while wrapped, order kept.
    for (let i = 3_001; i <= 4_000; i++) arrivals.mark(i * 20, 1_000_000 + i);
    expect(arrivals.size).toBe(1_101);
    for (const i of [2_900, 2_901, 3_255, 3_256, 3_999, 4_000]) {
      expect(arrivals.arrivalOf(i * 20)).toBe(1_000_000 + i);
      expect(arrivals.arrivalOf(i * 20 - 10)).toBe(1_000_000 + i);
    }
    expect(arrivals.arrivalOf(4_000 * 20 + 1)).toBeUndefined();
  });

  it('stamps publish, take and send in order and reports each hop', () => {
    const out = sent(published(segment, 1_302), 1_340, 1_350);
    expect(out.timing).toEqual({
      audioEndAt: 1_000,
      resultAt: 1_300,
      publishedAt: 1_302,
      fanoutAt: 1_340,
      sentAt: 1_350,
    });
    expect(hops(out.timing, 1_355)).toEqual({
      speechMs: 300,
      gatewayMs: 2,
      queueMs: 38,
      fanoutMs: 10,
      totalMs: 350,
      deliveryMs: 5,
    });
  });

  it('leaves out a hop whose ends are not both known', () => {
    expect(hops({ resultAt: 10, publishedAt: 12 })).toEqual({ gatewayMs: 2 });
  });
});
