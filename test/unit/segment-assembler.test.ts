import { AudioClock } from '../../core/audio/audio-clock';
import { FloorTracker } from '../../core/audio/floor-tracker';
import { SegmentAssembler } from '../../core/audio/segment-assembler';
import type { SttResult } from '../../core/audio/stt-stream';
import type { Segment } from '../../core/pipeline/events';

function result(text: string, startMs: number, endMs: number, isFinal: boolean, speaker?: number): SttResult {
  const words = text
    ? text.split(' ').map((word, i, all) => {
        const step = (endMs - startMs) / all.length;
        return {
          word,
          startMs: startMs + i * step,
          endMs: startMs + (i + 1) * step,
          confidence: 0.9,
          speaker,
        };
      })
    : [];
  return { isFinal, speechFinal: isFinal, fromFinalize: false, text, confidence: 0.9, startMs, endMs, words };
}

function setup() {
  let counter = 10;
  const emitted: Segment[] = [];
  const released: number[] = [];
  const clock = new AudioClock();
  // The stream started 2 s into the meeting: a second frame confirms the first one's time.
  clock.observe(0, 2_000);
  clock.observe(20, 2_020);
  const floor = new FloorTracker();
  floor.join(1, 'Alice');
  floor.speechOn(1, 2_000);
  floor.speechOff(1, 4_000);
  const assembler = new SegmentAssembler({
    meetingId: 'm1',
    nextSeq: async () => ++counter,
    clock,
    floor,
    emit: (s) => emitted.push(s),
    onFinal: (ms) => released.push(ms),
  });
  return { assembler, emitted, released };
}

describe('SegmentAssembler', () => {
  it('gives interims the seq their final takes, with growing revisions', async () => {
    const { assembler, emitted, released } = setup();
    assembler.push(result('hello', 0, 500, false));
    assembler.push(result('hello there', 0, 900, false));
    assembler.push(result('hello there friend', 0, 1_200, true));
    assembler.push(result('next', 1_300, 1_600, false));
    await assembler.drain();
    expect(emitted.map((s) => [s.seq, s.revision, s.isFinal])).toEqual([
      [11, 0, false],
      [11, 1, false],
      [11, 2, true],
      [12, 0, false],
    ]);
    expect(released).toEqual([1_200]);
  });

  it('places segments in meeting time and names the floor holder', async () => {
    const { assembler, emitted } = setup();
    assembler.push(result('one two', 100, 1_100, true));
    await assembler.drain();
    expect(emitted[0]).toMatchObject({ startMs: 2_100, endMs: 3_100, speaker: 'Alice', id: 'm1:11' });
  });

  it('falls back to the diarization label when nobody holds the floor', async () => {
    const { assembler, emitted } = setup();
    assembler.push(result('later words', 5_000, 6_000, true, 1));
    await assembler.drain();
    expect(emitted[0]?.speaker).toBe('Speaker 2');
  });

  it('spends no seq on empty results but still releases their audio', async () => {
    const { assembler, emitted, released } = setup();
    assembler.push(result('', 0, 800, true));
    assembler.push(result('words', 900, 1_200, true));
    await assembler.drain();
    expect(emitted.map((s) => s.seq)).toEqual([11]);
    expect(released).toEqual([800, 1_200]);
  });
});
