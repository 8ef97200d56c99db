/**
 * The recording archive with its open chunks spooled to local disk (core/audio/chunk-spool.ts,
 * spooled-chunk.ts), against s3rver over a real socket: what is PUT from the spool is the audio
 * that came in, byte for byte, and assembles into the same recording; the spool file lives until
 * its PUT has settled; each block is written as it fills; a refused PUT is retried from the same
 * file; a full, unusable or too slow spool, or a write that fails, degrades to chunks held in
 * memory with a typed error while the live audio goes on; a drain
 * flushes the open chunk; a restart removes what a dead process left.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { ChunkSpool, type SpoolError, type SpoolFiles, WriteBudget } from '../../core/audio/chunk-spool';
import { PCM_BLOCK_BYTES } from '../../core/audio/pcm-blocks';
import { MeetingArchive, type MeetingArchiveOptions } from '../../core/audio/recording-archive';
import { RecordingArchiver } from '../../core/audio/recording-archiver';
import { WRITE_BLOCKS } from '../../core/audio/spooled-chunk';
import { s3 } from '../../core/clients/s3';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { assembleRecording } from '../../core/recordings/assemble';
import { isSpooledBody, type RecordingBody } from '../../core/recordings/body';
import { loadRecordingConfig } from '../../core/recordings/config';
import { chunksPrefix, recordingKey } from '../../core/recordings/keys';
import { type RecordingStore, S3RecordingStore } from '../../core/recordings/store';
import { parseWav } from '../../local/recall-simulator/fixture';
import { SAMPLE_FIXTURE } from '../../local/stack';
import { useEmulators } from '../helpers/emulators';
import { waitFor } from '../helpers/live';

const logger = createLogger('test');
const PCM = parseWav(readFileSync(SAMPLE_FIXTURE.wavPath));
const emulators = useEmulators({ logger });
let client: S3Client;
let store: S3RecordingStore;

beforeAll(() => {
  client = s3();
  store = new S3RecordingStore(client, emulators().env.MEDIA_BUCKET as string);
});

function freshRoot(): string {
  return mkdtempSync(path.join(tmpdir(), 'parley-spool-test-'));
}

/** `store`, noting each PUT's body kind and, for a spooled body, whether its file exists during the PUT. */
function watched(inner: RecordingStore = store) {
  const puts: { key: string; spooled: boolean; fileDuringPut: boolean; file?: string }[] = [];
  const wrapped: RecordingStore = Object.assign(Object.create(inner) as RecordingStore, {
    put: (key: string, body: RecordingBody, type: string) => {
      const spooled = isSpooledBody(body);
      puts.push({
        key,
        spooled,
        fileDuringPut: spooled && existsSync(body.file),
        ...(spooled ? { file: body.file } : {}),
      });
      return inner.put(key, body, type);
    },
  });
  return { puts, store: wrapped };
}

/**
 * 20 ms Recall frames of the fixture's [fromMs, untilMs) at their meeting time, all at once (the
 * spool writes synchronously, so each block is in its file when the append that filled it returns).
 */
function appendFixture(archive: MeetingArchive, fromMs: number, untilMs: number): void {
  for (let t = fromMs; t < untilMs; t += 20) archive.appendRecall(PCM.subarray(t * 32, (t + 20) * 32), t);
}

async function storedAudio(meetingId: string): Promise<Buffer> {
  const keys = (await store.list(chunksPrefix(meetingId))).sort();
  return Buffer.concat(await Promise.all(keys.map((k) => store.get(k))));
}

function archiveWith(options: Partial<MeetingArchiveOptions> & { meetingId: string }): MeetingArchive {
  return new MeetingArchive({ store, logger, chunkMs: 2_000, ...options });
}

describe('a meeting archive spooled to disk', () => {
  it('PUTs each chunk from its spool file, byte for byte, assembles the same recording as in memory, and deletes the file', async () => {
    // Arrange: one archive spooled, one held in memory, the same 3.5 s of audio
    const spool = ChunkSpool.open(freshRoot());
    const { puts, store: spied } = watched();
    const spooled = archiveWith({ meetingId: 'spooled', store: spied, spool });
    const inMemory = archiveWith({ meetingId: 'in-memory' });
    // Act: 3.5 s in chunks of 2 s (2 s and 1.5 s)
    appendFixture(spooled, 2_000, 5_500);
    appendFixture(inMemory, 2_000, 5_500);
    await Promise.all([spooled.flush(), inMemory.flush()]);
    // Assess: both chunks PUT from their files (which existed during the PUT), the audio as it came
    expect(puts.map((p) => [p.spooled, p.fileDuringPut])).toEqual([
      [true, true],
      [true, true],
    ]);
    expect((await storedAudio('spooled')).equals(PCM.subarray(64_000, 176_000))).toBe(true);
    expect(spooled.stats).toMatchObject({ chunks: 2, bytes: 112_000, spoolFailures: 0 });
    // ... the spool is empty once every PUT has settled
    await waitFor('the spool files to be deleted', () => readdirSync(spool.dir).length === 0);
    // ... and both archives assemble into the same recording
    await assembleRecording('spooled', { store, format: 'wav', logger, keepChunks: true });
    await assembleRecording('in-memory', { store, format: 'wav', logger, keepChunks: true });
    const a = parseWav(await store.get(recordingKey('spooled', 'wav')));
    const b = parseWav(await store.get(recordingKey('in-memory', 'wav')));
    expect(a.length).toBe(176_000);
    expect(a.equals(b)).toBe(true);
  });

  it('keeps the spool file through a PUT that S3 refused and retries from it, then deletes it', async () => {
    // Arrange: each chunk's first PUT goes to a bucket that does not exist (s3rver refuses it)
    const spool = ChunkSpool.open(freshRoot());
    const wrongBucket = new S3RecordingStore(client, 'no-such-bucket');
    const attempts: { key: string; fileExists: boolean }[] = [];
    const flaky: RecordingStore = Object.assign(Object.create(store) as RecordingStore, {
      put: (key: string, body: RecordingBody, type: string) => {
        attempts.push({ key, fileExists: isSpooledBody(body) && existsSync(body.file) });
        const first = attempts.filter((a) => a.key === key).length === 1;
        return (first ? wrongBucket : store).put(key, body, type);
      },
    });
    const archive = archiveWith({ meetingId: 'spool-retried', store: flaky, spool, putAttempts: 3 });
    // Act: two chunks of 2 s
    appendFixture(archive, 0, 4_000);
    await archive.flush();
    // Assess: two attempts a chunk, both from the file; stored byte for byte; spool emptied
    expect(attempts).toHaveLength(4);
    expect(attempts.every((a) => a.fileExists)).toBe(true);
    expect(archive.stats).toMatchObject({ chunks: 2, failedPuts: 2, bytes: 128_000 });
    expect((await storedAudio('spool-retried')).equals(PCM.subarray(0, 128_000))).toBe(true);
    await waitFor('the spool files to be deleted', () => readdirSync(spool.dir).length === 0);
  });

  it('reports a chunk it cannot store as before and deletes its spool file', async () => {
    const spool = ChunkSpool.open(freshRoot());
    const failures: unknown[] = [];
    const archive = archiveWith({
      meetingId: 'spool-lost',
      store: new S3RecordingStore(client, 'no-such-bucket'),
      spool,
      putAttempts: 2,
      onFailed: (error) => failures.push(error),
    });
    appendFixture(archive, 0, 1_500);
    expect(readdirSync(spool.dir)).toHaveLength(1);
    await archive.flush();
    expect(failures).toHaveLength(1);
    expect(archive.failed).toBe(true);
    await waitFor('the spool file to be deleted', () => readdirSync(spool.dir).length === 0);
  });

  it('goes on in memory with a typed SpoolError when the disk is full, storing every byte', async () => {
    // Arrange: every spool file is a link to /dev/full, where each write fails with ENOSPC
    const dir = freshRoot();
    let n = 0;
    const full: SpoolFiles = {
      budget: new WriteBudget(),
      nextPath: () => {
        const link = path.join(dir, `${++n}.pcm`);
        symlinkSync('/dev/full', link);
        return link;
      },
    };
    const errors: { message: string; extra: Record<string, unknown> }[] = [];
    const watchingLogger = Object.assign(Object.create(logger) as typeof logger, {
      error: (message: string, extra: Record<string, unknown>) => errors.push({ message, extra }),
    });
    const { puts, store: spied } = watched();
    const archive = archiveWith({
      meetingId: 'disk-full',
      store: spied,
      spool: full,
      logger: watchingLogger,
    });
    // Act: 1 s of audio (its first write fails), then 1.5 s more; every append returns
    expect(() => appendFixture(archive, 0, 1_000)).not.toThrow();
    await waitFor('the spool error', () => errors.length > 0);
    expect(() => appendFixture(archive, 1_000, 2_500)).not.toThrow();
    await archive.flush();
    // Assess: one typed error logged; nothing spooled; every byte stored from memory
    expect(errors).toHaveLength(1);
    expect(errors[0]?.extra).toMatchObject({ meetingId: 'disk-full', code: 'SPOOL_FAILED' });
    expect(String(errors[0]?.extra.error)).toContain('ENOSPC');
    expect(archive.stats).toMatchObject({ chunks: 2, spoolFailures: 1, bytes: 80_000 });
    expect(puts.every((p) => !p.spooled)).toBe(true);
    expect((await storedAudio('disk-full')).equals(PCM.subarray(0, 80_000))).toBe(true);
    // Only the one file was tried (later chunks stay in memory), and it is gone again
    expect(n).toBe(1);
    await waitFor('the failed spool file to be deleted', () => readdirSync(dir).length === 0);
  });

  it('writes its full blocks to the file as they fill, WRITE_BLOCKS at a time, before the append returns', () => {
    // Arrange
    expect(WRITE_BLOCKS).toBe(2);
    const spool = ChunkSpool.open(freshRoot());
    const archive = archiveWith({ meetingId: 'block-by-block', spool, chunkMs: 15_000 });
    // Act: 1.3 s of audio (41,600 bytes: five full 8,000-byte blocks and 1,600 bytes)
    appendFixture(archive, 0, 1_300);
    // Assess: the file holds four full blocks (two writes of two); the chunk holds one full block
    // and the one being filled
    const [name] = readdirSync(spool.dir);
    const file = readFileSync(path.join(spool.dir, name as string));
    expect(file.length).toBe(4 * PCM_BLOCK_BYTES);
    expect(file.equals(PCM.subarray(0, 4 * PCM_BLOCK_BYTES))).toBe(true);
    // ... and the sixth block, once full, goes with the fifth
    appendFixture(archive, 1_300, 1_520);
    expect(
      readFileSync(path.join(spool.dir, name as string)).equals(PCM.subarray(0, 6 * PCM_BLOCK_BYTES)),
    ).toBe(true);
    archive.abandon();
  });

  it('stops the whole spool when a write takes longer than its limit, storing every byte from memory', async () => {
    // Arrange: a stall limit of 0 ms, so the first write (however fast) stops the spool; two meetings
    const spool = ChunkSpool.open(freshRoot(), { stalledWriteMs: 0 });
    const errors: { message: string; extra: Record<string, unknown> }[] = [];
    const watchingLogger = Object.assign(Object.create(logger) as typeof logger, {
      error: (message: string, extra: Record<string, unknown>) => errors.push({ message, extra }),
    });
    const { puts, store: spied } = watched();
    const first = archiveWith({ meetingId: 'slow-first', store: spied, spool, logger: watchingLogger });
    const second = archiveWith({ meetingId: 'slow-second', store: spied, spool, logger: watchingLogger });
    // Act: 3.5 s each (chunks of 2 s and 1.5 s); every append returns
    expect(() => appendFixture(first, 0, 3_500)).not.toThrow();
    expect(() => appendFixture(second, 0, 3_500)).not.toThrow();
    await Promise.all([first.flush(), second.flush()]);
    // Assess: each meeting logged one typed error naming the budget
    expect(errors.map((e) => e.extra.meetingId).sort()).toEqual(['slow-first', 'slow-second']);
    for (const { extra } of errors) {
      expect(extra).toMatchObject({ code: 'SPOOL_FAILED' });
      expect(String(extra.error)).toContain('recording spool too slow: one write took');
    }
    expect(spool.budget.stopped).toMatchObject({ name: 'SpoolError', code: 'SPOOL_FAILED' });
    // ... only the first meeting's first two blocks reached a file (the write that stopped the
    // spool); its chunk went on in memory, and so did everything after it
    expect(puts.map((p) => p.spooled)).toEqual([true, false, false, false]);
    expect(first.stats).toMatchObject({ chunks: 2, bytes: 112_000, spoolFailures: 1 });
    expect(second.stats).toMatchObject({ chunks: 2, bytes: 112_000, spoolFailures: 1 });
    expect((await storedAudio('slow-first')).equals(PCM.subarray(0, 112_000))).toBe(true);
    expect((await storedAudio('slow-second')).equals(PCM.subarray(0, 112_000))).toBe(true);
    await waitFor('the spool to be emptied', () => readdirSync(spool.dir).length === 0);
  });

  it('goes on in memory when a write fails because its descriptor was closed underneath it', async () => {
    // Arrange: a spooled archive whose chunk has written its first two blocks
    const spool = ChunkSpool.open(freshRoot());
    const errors: Record<string, unknown>[] = [];
    const watchingLogger = Object.assign(Object.create(logger) as typeof logger, {
      error: (_message: string, extra: Record<string, unknown>) => errors.push(extra),
    });
    const archive = archiveWith({ meetingId: 'fd-closed', spool, logger: watchingLogger });
    appendFixture(archive, 0, 600);
    const [name] = readdirSync(spool.dir);
    const fd = descriptorOf(path.join(spool.dir, name as string));
    // Act: close the chunk's descriptor, then append at once (nothing can reuse the number between)
    closeSync(fd);
    expect(() => appendFixture(archive, 600, 3_500)).not.toThrow();
    await archive.flush();
    // Assess: the next write failed (EBADF), logged once; every byte stored, the first two blocks from the file
    expect(errors).toEqual([expect.objectContaining({ meetingId: 'fd-closed', code: 'SPOOL_FAILED' })]);
    expect(String(errors[0]?.error)).toContain('EBADF');
    expect(archive.stats).toMatchObject({ chunks: 2, bytes: 112_000, spoolFailures: 1 });
    expect((await storedAudio('fd-closed')).equals(PCM.subarray(0, 112_000))).toBe(true);
    await waitFor('the spool to be emptied', () => readdirSync(spool.dir).length === 0);
  });

  it('drops the spool file of an abandoned archive (a crash loses its open chunk, as in memory)', async () => {
    const spool = ChunkSpool.open(freshRoot());
    const archive = archiveWith({ meetingId: 'abandoned', spool, chunkMs: 15_000 });
    appendFixture(archive, 0, 2_000);
    expect(readdirSync(spool.dir)).toHaveLength(1);
    archive.abandon();
    await archive.flush();
    await waitFor('the spool file to be deleted', () => readdirSync(spool.dir).length === 0);
    expect(await store.list(chunksPrefix('abandoned'))).toEqual([]);
  });
});

describe('the recording spool directory', () => {
  it('is RECORDING_SPOOL_DIR, by default under the temporary directory; `memory` turns the spool off', () => {
    const env = { MEDIA_BUCKET: 'media' };
    expect(loadRecordingConfig(env).spoolDir).toBe(path.join(tmpdir(), 'parley-spool'));
    expect(loadRecordingConfig({ ...env, RECORDING_SPOOL_DIR: '/var/spool/parley' }).spoolDir).toBe(
      '/var/spool/parley',
    );
    expect(loadRecordingConfig({ ...env, RECORDING_SPOOL_DIR: 'memory' }).spoolDir).toBeUndefined();
  });

  it('removes what dead processes (and an earlier life of this pid) left, and keeps a live process’s spool', () => {
    // Arrange: a dead pid's spool, this pid's from a restarted container, a live process's (pid 1)
    const root = freshRoot();
    const deadPid = findDeadPid();
    for (const name of [`${deadPid}-0badf00d`, `${process.pid}-0000beef`, '1-0c0ffee0']) {
      mkdirSync(path.join(root, name));
      writeFileSync(path.join(root, name, '7.pcm'), Buffer.alloc(8_000));
    }
    // Act
    const spool = ChunkSpool.open(root);
    // Assess
    expect(readdirSync(root).sort()).toEqual(['1-0c0ffee0', path.basename(spool.dir)].sort());
    expect(ChunkSpool.open(root)).toBe(spool);
  });

  it('cannot be created where a file is in the way: a typed error, and the archiver archives in memory', async () => {
    const blocked = path.join(freshRoot(), 'a-file');
    writeFileSync(blocked, 'not a directory');
    expect(() => ChunkSpool.open(blocked)).toThrow(
      expect.objectContaining({ name: 'SpoolError', code: 'SPOOL_FAILED' }) as SpoolError,
    );
    const errors: Record<string, unknown>[] = [];
    const watchingLogger = Object.assign(Object.create(logger) as typeof logger, {
      error: (_message: string, extra: Record<string, unknown>) => errors.push(extra),
    });
    const archiver = new RecordingArchiver({
      store,
      repo: new MeetingRepository(),
      format: 'wav',
      logger: watchingLogger,
      chunkMs: 1_000,
      spoolDir: blocked,
      staggerCuts: false,
    });
    expect(errors).toEqual([expect.objectContaining({ code: 'SPOOL_FAILED' })]);
    const archive = archiver.archive('no-spool');
    appendFixture(archive, 0, 1_500);
    await archiver.flushAll();
    expect((await storedAudio('no-spool')).equals(PCM.subarray(0, 48_000))).toBe(true);
    archiver.close();
  });
});

describe("the spool's write budget", () => {
  it('stops at the third write in a row over 10 ms, not when a fast write comes between', () => {
    // Arrange: writes given as (start, end) times in ms, so no clock is involved
    const interrupted = new WriteBudget();
    const slow = new WriteBudget();
    // Act + Assess: two slow writes, a fast one, two slow ones: a thread descheduled now and then
    for (const [start, end] of [
      [0, 15],
      [100, 115],
      [200, 200.02],
      [300, 315],
      [400, 415],
    ] as const) {
      expect(interrupted.spend(start, end)).toBe(true);
    }
    expect(interrupted.stopped).toBeUndefined();
    // ... three slow writes in a row: a slow disk
    expect(slow.spend(0, 15)).toBe(true);
    expect(slow.spend(100, 111)).toBe(true);
    expect(slow.spend(200, 250)).toBe(false);
    expect(slow.stopped?.message).toContain('3 writes in a row took over 10 ms each (the last 50.0 ms)');
    // ... and once stopped it stays stopped
    expect(slow.spend(5_000, 5_000.01)).toBe(false);
  });

  it('stops at once for one write of 200 ms (a stalled disk)', () => {
    const budget = new WriteBudget();
    expect(budget.spend(0, 199)).toBe(true);
    expect(budget.spend(1_000, 1_200)).toBe(false);
    expect(budget.stopped).toMatchObject({ name: 'SpoolError', code: 'SPOOL_FAILED' });
    expect(budget.stopped?.message).toContain('one write took 200.0 ms (limit 200 ms)');
  });
});

describe('the archiver draining a spool', () => {
  it('drains a spooled open chunk to S3 (the SIGTERM path) and empties the spool', async () => {
    const root = freshRoot();
    const { puts, store: spied } = watched();
    const archiver = new RecordingArchiver({
      store: spied,
      repo: new MeetingRepository(),
      format: 'wav',
      logger,
      chunkMs: 60_000,
      spoolDir: root,
      staggerCuts: false,
    });
    const spoolDir = path.join(root, readdirSync(root)[0] as string);
    const archive = archiver.archive('drained');
    appendFixture(archive, 0, 3_000);
    expect(readdirSync(spoolDir)).toHaveLength(1);
    await archiver.flushAll();
    expect(puts.map((p) => p.spooled)).toEqual([true]);
    expect((await storedAudio('drained')).equals(PCM.subarray(0, 96_000))).toBe(true);
    await waitFor('the spool to be emptied', () => readdirSync(spoolDir).length === 0);
    archiver.close();
  });
});

/** The descriptor this process holds open on `file` (Linux: /proc/self/fd). */
function descriptorOf(file: string): number {
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(path.join('/proc/self/fd', fd)) === file) return Number(fd);
    } catch {
      // the descriptor readdir itself used, closed by now
    }
  }
  throw new Error(`no descriptor open on ${file}`);
}

/** A pid with no process (counting down from the kernel's limit). */
function findDeadPid(): number {
  for (let pid = 4_000_000; pid > 1_000; pid -= 7_919) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
  throw new Error('no free pid found');
}
