import {
  giveBlock,
  PCM_BLOCK_BYTES,
  PcmBlocks,
  PEAK_WINDOW_MS,
  spareBlockCount,
  takeBlock,
} from '../../core/audio/pcm-blocks';
import { MeetingArchive } from '../../core/audio/recording-archive';
import { cutPhaseMs } from '../../core/audio/recording-archiver';
import { createLogger } from '../../core/logger';
import type { RecordingBody } from '../../core/recordings/body';
import type { RecordingStore } from '../../core/recordings/store';

/** The bytes of a store body, copied (what a store would have written). */
function bytesOf(body: RecordingBody): Buffer {
  return Buffer.concat(body instanceof Uint8Array ? [body] : (body as readonly Uint8Array[]));
}

/** A store whose `put` is given: the rest answers as an empty bucket. */
function storeWith(put: RecordingStore['put']): RecordingStore {
  return {
    put,
    get: async () => Buffer.alloc(0),
    list: async () => [],
    head: async () => undefined,
    delete: async () => undefined,
    presignGet: async () => 'http://store.invalid/',
  };
}

/** 20 ms frames of `audio` appended to `archive` at their meeting time, through one reused frame buffer. */
function appendFrames(archive: MeetingArchive, audio: Buffer): void {
  const frame = Buffer.alloc(640);
  for (let k = 0; k * 640 < audio.length; k++) {
    audio.copy(frame, 0, k * 640, (k + 1) * 640);
    archive.appendRecall(frame, k * 20);
  }
}

/** A byte stream whose every byte is its position (mod 251): misplaced bytes show. */
function stream(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) out[i] = i % 251;
  return out;
}

describe('PcmBlocks', () => {
  it('gives back every appended byte in order, across block boundaries and odd chunk sizes', () => {
    // Arrange
    const audio = stream(3 * PCM_BLOCK_BYTES + 1_234);
    const blocks = new PcmBlocks();
    // Act: uneven chunks, some larger than a block
    for (let at = 0, n = 1; at < audio.length; at += n, n = (n * 7 + 13) % 9_000 || 1) {
      blocks.append(audio.subarray(at, Math.min(audio.length, at + n)));
    }
    // Assess
    expect(blocks.byteLength).toBe(audio.length);
    expect(blocks.concat().equals(audio)).toBe(true);
  });

  it('keeps a copy: the caller may overwrite its buffer once appended', () => {
    const frame = Buffer.alloc(640, 7);
    const blocks = new PcmBlocks();
    blocks.append(frame);
    frame.fill(9);
    blocks.append(frame);
    expect(blocks.concat().equals(Buffer.concat([Buffer.alloc(640, 7), Buffer.alloc(640, 9)]))).toBe(true);
  });

  it('recycles released blocks, and a reused block carries none of its old bytes into the new audio', () => {
    const first = new PcmBlocks();
    first.append(Buffer.alloc(2 * PCM_BLOCK_BYTES, 1));
    const spareBefore = spareBlockCount();
    first.release();
    expect(spareBlockCount()).toBe(spareBefore + 2);
    expect(first.byteLength).toBe(0);
    const second = new PcmBlocks();
    second.append(Buffer.alloc(100, 2));
    expect(spareBlockCount()).toBe(spareBefore + 1);
    expect(second.concat().equals(Buffer.alloc(100, 2))).toBe(true);
  });
});

describe('MeetingArchive with Recall frames', () => {
  it('stores the audio of every frame even when the frame buffers are reused, and recycles the chunk storage', async () => {
    // Arrange: a store that keeps what it is given; one 640-byte frame buffer reused for every frame
    const stored = new Map<string, Buffer>();
    const store = storeWith(async (key, body) => {
      stored.set(key, bytesOf(body));
    });
    const archive = new MeetingArchive({
      meetingId: 'm-1',
      store,
      logger: createLogger('test'),
      chunkMs: 1_000,
    });
    const audio = stream(640 * 120); // 2.4 s of 20 ms frames
    // Act
    appendFrames(archive, audio);
    const spareBefore = spareBlockCount();
    await archive.flush();
    // Assess: three chunks (1 s, 1 s, 0.4 s) that together are the audio, and their blocks came back
    const bodies = [...stored.values()];
    expect(bodies.map((b) => b.length)).toEqual([32_000, 32_000, 12_800]);
    expect(Buffer.concat(bodies).equals(audio)).toBe(true);
    expect(spareBlockCount()).toBeGreaterThan(spareBefore);
  });
});

describe('MeetingArchive chunk writes', () => {
  it('puts a chunk as its pooled blocks (no copy) and gives the blocks back only once the put has finished', async () => {
    // Arrange: a put that keeps the parts it was given and finishes when the test says so
    const given: Buffer[][] = [];
    let finishPut: () => void = () => undefined;
    let putStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      putStarted = resolve;
    });
    const store = storeWith((_key, body) => {
      given.push([...(body as Buffer[])]);
      putStarted();
      return new Promise<void>((resolve) => {
        finishPut = resolve;
      });
    });
    const archive = new MeetingArchive({
      meetingId: 'm-2',
      store,
      logger: createLogger('test'),
      chunkMs: 1_000,
    });
    const audio = stream(640 * 50); // exactly 1 s: one chunk of 32,000 bytes
    appendFrames(archive, audio);
    const spareBefore = spareBlockCount();
    // Act: the chunk is cut and its put starts, but has not finished
    const flushed = archive.flush();
    await started;
    // Assess: the body is the four 8,000-byte blocks themselves, still out of the pool
    const parts = given[0] as Buffer[];
    expect(Array.isArray(given[0])).toBe(true);
    expect(parts.map((p) => p.length)).toEqual([8_000, 8_000, 8_000, 8_000]);
    expect(parts.every((p) => p.buffer.byteLength === PCM_BLOCK_BYTES)).toBe(true);
    expect(Buffer.concat(parts).equals(audio)).toBe(true);
    expect(spareBlockCount()).toBe(spareBefore);
    // Act: the put finishes
    finishPut();
    await flushed;
    // Assess: the same blocks are back in the pool, for the next audio
    expect(spareBlockCount()).toBe(spareBefore + 4);
    const reused = takeBlock();
    expect(parts.some((p) => p.buffer === reused.buffer)).toBe(true);
    expect(archive.stats).toMatchObject({ chunks: 1, bytes: 32_000, puts: 1 });
  });

  it('retries a failed put with the same bytes, keeping the blocks out of the pool until it succeeds', async () => {
    // Arrange: the first attempt fails after reading the whole body; the second stores it
    const attempts: { bytes: Buffer; spare: number }[] = [];
    const stored: Buffer[] = [];
    const store = storeWith(async (_key, body) => {
      attempts.push({ bytes: bytesOf(body), spare: spareBlockCount() });
      if (attempts.length === 1) throw new Error('connection reset');
      stored.push(bytesOf(body));
    });
    const archive = new MeetingArchive({
      meetingId: 'm-3',
      store,
      logger: createLogger('test'),
      chunkMs: 1_000,
      putAttempts: 3,
    });
    const audio = stream(640 * 70); // 1.4 s: a full chunk and a 0.4 s one
    appendFrames(archive, audio);
    const spareBefore = spareBlockCount();
    // Act
    await archive.flush();
    // Assess: both attempts at the first chunk read the same bytes, with its blocks not yet given back
    expect(attempts).toHaveLength(3);
    expect(attempts[0]?.bytes.equals(audio.subarray(0, 32_000))).toBe(true);
    expect(attempts[1]?.bytes.equals(audio.subarray(0, 32_000))).toBe(true);
    expect(attempts[1]?.spare).toBe(spareBefore);
    expect(Buffer.concat(stored).equals(audio)).toBe(true);
    expect(archive.stats).toMatchObject({ chunks: 2, failedPuts: 1, bytes: audio.length });
    expect(spareBlockCount()).toBe(spareBefore + 4 + 2);
  });

  it('gives the blocks back when a put fails for good', async () => {
    const failures: unknown[] = [];
    const store = storeWith(async () => {
      throw new Error('S3 down');
    });
    const archive = new MeetingArchive({
      meetingId: 'm-4',
      store,
      logger: createLogger('test'),
      chunkMs: 1_000,
      putAttempts: 1,
      onFailed: (error) => failures.push(error),
    });
    appendFrames(archive, stream(640 * 50));
    const spareBefore = spareBlockCount();
    await archive.flush();
    expect(failures).toHaveLength(1);
    expect(spareBlockCount()).toBe(spareBefore + 4);
  });
});

describe('staggered chunk cuts', () => {
  /** The [start, end) ms of every chunk `archive` writes for `ms` of 20 ms frames from meeting time `from`. */
  async function chunksOf(cutPhase: number | undefined, from: number, ms: number): Promise<number[][]> {
    const spans: number[][] = [];
    const archive = new MeetingArchive({
      meetingId: 'm-5',
      store: storeWith(async () => undefined),
      logger: createLogger('test'),
      chunkMs: 1_000,
      ...(cutPhase === undefined ? {} : { cutPhaseMs: cutPhase }),
      onDurable: (c) => spans.push([c.start / 16, c.end / 16]),
    });
    for (let t = from; t < from + ms; t += 20) archive.appendRecall(Buffer.alloc(640), t);
    await archive.flush();
    return spans;
  }

  it('cuts Recall chunks on the meeting-time grid of the phase, the same wherever the archive started', async () => {
    expect(await chunksOf(undefined, 100, 2_500)).toEqual([
      [100, 1_100],
      [1_100, 2_100],
      [2_100, 2_600],
    ]);
    expect(await chunksOf(300, 100, 2_500)).toEqual([
      [100, 300],
      [300, 1_300],
      [1_300, 2_300],
      [2_300, 2_600],
    ]);
    // A task re-archiving from a later point writes the same keys from its first grid line on.
    expect(await chunksOf(300, 740, 1_860)).toEqual([
      [740, 1_300],
      [1_300, 2_300],
      [2_300, 2_600],
    ]);
  });

  it('gives meetings started together phases spread over the chunk length, each the same on every task', () => {
    const phases = Array.from({ length: 300 }, (_, i) => cutPhaseMs(`meeting-${i}`, 15_000));
    expect(phases.every((p) => Number.isInteger(p) && p >= 0 && p < 15_000)).toBe(true);
    expect(cutPhaseMs('meeting-7', 15_000)).toBe(phases[7]);
    // Every second of the 15 s chunk holds some cuts, and none holds more than 3× its share.
    const perSecond = new Array<number>(15).fill(0);
    for (const p of phases) perSecond[Math.floor(p / 1_000)] = (perSecond[Math.floor(p / 1_000)] ?? 0) + 1;
    expect(Math.min(...perSecond)).toBeGreaterThan(0);
    expect(Math.max(...perSecond)).toBeLessThanOrEqual(60);
  });
});

describe('the spare block pool', () => {
  afterEach(() => jest.useRealTimers());

  it('keeps every block of a burst released at once (up to the recent peak in use) and lets them go once the peak has passed', () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    // Arrange: 3,000 blocks in use at once (a task's chunks all cut in the same second), far over the 1,024 floor
    const taken = Array.from({ length: 3_000 }, () => takeBlock());
    const spareBefore = spareBlockCount();
    // Act: all given back at once
    for (const block of taken) giveBlock(block);
    // Assess: all kept, and taken again without allocating: the same buffers come back
    expect(spareBlockCount()).toBe(spareBefore + 3_000);
    const again = Array.from({ length: 3_000 }, () => takeBlock());
    const ids = new Set(taken.map((b) => b.buffer));
    expect(again.every((b) => ids.has(b.buffer))).toBe(true);
    for (const block of again) giveBlock(block);
    // Act: quiet windows later (at least two, whatever the fake clock started from), a little audio
    jest.advanceTimersByTime(4 * PEAK_WINDOW_MS);
    const one = takeBlock();
    giveBlock(one);
    // Assess: back to the floor
    expect(spareBlockCount()).toBe(1_024);
  });
});
