import { PCM_BLOCK_BYTES, PcmBlocks, spareBlockCount } from '../../core/audio/pcm-blocks';
import { MeetingArchive } from '../../core/audio/recording-archive';
import { createLogger } from '../../core/logger';
import type { RecordingStore } from '../../core/recordings/store';

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
    const store: RecordingStore = {
      put: async (key, body) => {
        stored.set(key, Buffer.from(body));
      },
      get: async () => Buffer.alloc(0),
      list: async () => [],
      head: async () => undefined,
      delete: async () => undefined,
      presignGet: async () => 'http://store.invalid/',
    };
    const archive = new MeetingArchive({
      meetingId: 'm-1',
      store,
      logger: createLogger('test'),
      chunkMs: 1_000,
    });
    const audio = stream(640 * 120); // 2.4 s of 20 ms frames
    const frame = Buffer.alloc(640);
    // Act
    for (let k = 0; k < 120; k++) {
      audio.copy(frame, 0, k * 640, (k + 1) * 640);
      archive.appendRecall(frame, k * 20);
    }
    const spareBefore = spareBlockCount();
    await archive.flush();
    // Assess: three chunks (1 s, 1 s, 0.4 s) that together are the audio, and their blocks came back
    const bodies = [...stored.values()];
    expect(bodies.map((b) => b.length)).toEqual([32_000, 32_000, 12_800]);
    expect(Buffer.concat(bodies).equals(audio)).toBe(true);
    expect(spareBlockCount()).toBeGreaterThan(spareBefore);
  });
});
