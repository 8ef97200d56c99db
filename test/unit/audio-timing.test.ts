import { AudioClock } from '../../core/audio/audio-clock';
import { AUDIO_RING_BLOCK_BYTES, AudioRing } from '../../core/audio/audio-ring';
import { FloorTracker } from '../../core/audio/floor-tracker';
import { BYTES_PER_MS } from '../../core/audio/pcm';

const ms = (n: number) => Buffer.alloc(n * BYTES_PER_MS);

describe('AudioRing', () => {
  it('keeps audio since the last final and releases what a final covers', () => {
    const ring = new AudioRing();
    ring.push(ms(100));
    ring.push(ms(100));
    ring.push(ms(100));
    expect([ring.startMs, ring.endMs]).toEqual([0, 300]);
    ring.releaseUntil(150);
    expect(ring.startMs).toBe(150);
    expect(ring.snapshot().reduce((n, b) => n + b.length, 0)).toBe(150 * BYTES_PER_MS);
  });

  it('drops the oldest audio beyond its bound', () => {
    const ring = new AudioRing(250);
    for (let i = 0; i < 5; i++) ring.push(ms(100));
    expect(ring.endMs).toBe(500);
    expect(ring.endMs - ring.startMs).toBeLessThanOrEqual(300);
  });

  it('gives back exactly the bytes not yet released, across block boundaries and odd chunk sizes', () => {
    // Arrange: a byte stream whose every byte is its position (mod 251), pushed in uneven chunks.
    const ring = new AudioRing();
    const stream = Buffer.alloc(3 * AUDIO_RING_BLOCK_BYTES + 1234);
    for (let i = 0; i < stream.length; i++) stream[i] = i % 251;
    const sizes = [640, 2, 7998, 640, 13_000, 1, 333];
    let at = 0;
    for (let k = 0; at < stream.length; k++) {
      const n = Math.min(sizes[k % sizes.length] as number, stream.length - at);
      ring.push(stream.subarray(at, at + n));
      at += n;
    }
    // Act: release up to a point inside the second block.
    const releasedBytes = AUDIO_RING_BLOCK_BYTES + 1_000;
    ring.releaseUntil(releasedBytes / BYTES_PER_MS);
    // Assess
    expect(Buffer.concat(ring.snapshot()).equals(stream.subarray(releasedBytes))).toBe(true);
    expect(ring.startMs).toBe(releasedBytes / BYTES_PER_MS);
    expect(ring.endMs).toBe(stream.length / BYTES_PER_MS);
  });

  it("does not keep the caller's buffer: changing it after the push changes nothing kept", () => {
    const ring = new AudioRing();
    const frame = Buffer.alloc(640, 7);
    ring.push(frame);
    frame.fill(9);
    expect(Buffer.concat(ring.snapshot()).equals(Buffer.alloc(640, 7))).toBe(true);
  });

  it('hands out snapshots that stay intact after their blocks are released and reused', () => {
    // Arrange: two rings share the spare blocks.
    const a = new AudioRing();
    const b = new AudioRing();
    a.push(Buffer.alloc(2 * AUDIO_RING_BLOCK_BYTES, 1));
    const snapshot = Buffer.concat(a.snapshot());
    // Act: a releases everything; b takes its blocks and overwrites them.
    a.releaseUntil(a.endMs);
    b.push(Buffer.alloc(2 * AUDIO_RING_BLOCK_BYTES, 2));
    // Assess
    expect(snapshot.equals(Buffer.alloc(2 * AUDIO_RING_BLOCK_BYTES, 1))).toBe(true);
    expect(a.snapshot()).toEqual([]);
    expect(Buffer.concat(b.snapshot()).equals(Buffer.alloc(2 * AUDIO_RING_BLOCK_BYTES, 2))).toBe(true);
  });

  it('carries on after releasing everything, with positions that keep counting', () => {
    const ring = new AudioRing();
    ring.push(ms(30));
    ring.releaseUntil(30);
    ring.push(Buffer.alloc(64, 5));
    expect([ring.startMs, ring.endMs]).toEqual([30, 32]);
    expect(Buffer.concat(ring.snapshot()).equals(Buffer.alloc(64, 5))).toBe(true);
  });
});

describe('AudioClock', () => {
  it('maps stream time to meeting time across a pause once the next frame confirms the jump', () => {
    const clock = new AudioClock();
    expect(clock.observe(0, 1_000)).toBe('held');
    expect(clock.pending).toBe(true); // the first frame's time waits for the second
    expect(clock.observe(500, 1_500)).toBe('confirmed');
    expect(clock.pending).toBe(false);
    expect(clock.observe(750, 1_750)).toBe('ok'); // continuous: no new anchor needed
    expect(clock.observe(1_000, 9_000)).toBe('held'); // 7.5 s of paused audio was never sent
    expect(clock.pending).toBe(true);
    expect(clock.observe(1_020, 9_020)).toBe('confirmed');
    expect(clock.pending).toBe(false);
    expect(clock.toMeetingMs(250)).toBe(1_250);
    expect(clock.toMeetingMs(1_200)).toBe(9_200);
  });

  it('never runs meeting time backwards, and rejects the frame that tries', () => {
    const clock = new AudioClock();
    clock.observe(0, 5_000);
    clock.observe(20, 5_020);
    expect(clock.observe(1_000, 2_000)).toBe('rejected');
    expect(clock.toMeetingMs(1_000)).toBe(6_000);
  });

  it('rejects one frame whose timestamp jumps far ahead when the next frame follows the old clock', () => {
    const clock = new AudioClock();
    clock.observe(0, 60_000);
    clock.observe(20, 60_020);
    expect(clock.observe(40, 1e12)).toBe('held'); // 1e9 s: not believed on its own
    expect(clock.observe(60, 60_060)).toBe('rejected');
    expect(clock.observe(80, 60_080)).toBe('ok');
    expect(clock.toMeetingMs(5_000)).toBe(65_000);
  });

  it('does not believe a wild first frame: the clock starts from the first two frames that agree', () => {
    const clock = new AudioClock();
    expect(clock.observe(0, 3.6e8)).toBe('held');
    expect(clock.observe(20, 1_000)).toBe('rejected');
    expect(clock.observe(40, 1_020)).toBe('confirmed');
    expect(clock.toMeetingMs(1_040)).toBe(2_020);
  });

  it('rejects a run of frames that contradict each other and keeps the stream clock', () => {
    const clock = new AudioClock();
    clock.observe(0, 0);
    clock.observe(10, 10);
    expect(clock.observe(20, 9e8)).toBe('held');
    expect(clock.observe(40, 4e8)).toBe('rejected');
    expect(clock.observe(60, 7e8)).toBe('rejected');
    expect(clock.observe(80, 80)).toBe('rejected');
    expect(clock.toMeetingMs(100)).toBe(100);
  });
});

describe('FloorTracker', () => {
  it('attributes an interval to whoever spoke most of it', () => {
    const floor = new FloorTracker();
    floor.join(1, 'Alice');
    floor.join(2, 'Bob');
    floor.speechOn(1, 0);
    floor.speechOff(1, 1_000);
    floor.speechOn(2, 900);
    floor.speechOff(2, 3_000);
    expect(floor.speakerFor(100, 950)).toBe('Alice');
    expect(floor.speakerFor(800, 2_500)).toBe('Bob');
    expect(floor.speakerFor(5_000, 6_000)).toBeUndefined();
  });

  it('treats an open turn as lasting until now and names unknown participants', () => {
    const floor = new FloorTracker();
    floor.speechOn(7, 100);
    expect(floor.speakerFor(200, 400)).toBe('Participant 7');
  });
});

describe('AudioClock at a discontinuity', () => {
  it('ends audio that finishes exactly at a pause before the pause, and starts what follows after it', () => {
    const clock = new AudioClock();
    clock.observe(0, 1_000);
    clock.observe(20, 1_020); // confirmed: the stream began 1 s into the meeting
    // 5 s of audio, then a pause of 8 s in meeting time: the next frame jumps and is confirmed.
    clock.observe(5_000, 14_000);
    clock.observe(5_020, 14_020);
    expect(clock.toMeetingEndMs(5_000)).toBe(6_000);
    expect(clock.toMeetingMs(5_000)).toBe(14_000);
  });
});
