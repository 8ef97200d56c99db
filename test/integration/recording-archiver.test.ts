/**
 * The recording archiver with a real MeetingSession (DynamoDB and S3 on the local emulators, a
 * Deepgram-protocol peer for speech): Recall audio is archived at the meeting time the
 * session's clock believes, so a frame with a wild timestamp cannot stretch the recording, and a
 * frame whose timestamp the clock still holds waits for the frame that judges it (a tick does
 * not place it), while every other frame is placed as it arrives; a spool that fails leaves the
 * live audio alone and the archive goes on in memory.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { createDeepgramConnector } from '../../core/audio/deepgram-connector';
import { MeetingSession } from '../../core/audio/meeting-session';
import { RecordingArchiver, type RecordingArchiverOptions } from '../../core/audio/recording-archiver';
import { destroyClients } from '../../core/clients/lifecycle';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import { listAudioChunks } from '../../core/recordings/assemble';
import { S3RecordingStore } from '../../core/recordings/store';
import { createLocalClients, type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { type FakeDeepgram, numberedFrame, startFakeDeepgram } from '../helpers/fake-deepgram';
import { waitFor } from '../helpers/live';

const logger = createLogger('test');
let emulators: RunningEmulators;
let s3: S3Client;
let fake: FakeDeepgram;

beforeAll(async () => {
  emulators = await startEmulators({ logger });
  Object.assign(process.env, emulators.env);
  s3 = createLocalClients(emulators.endpoints).s3;
  fake = await startFakeDeepgram({ finalEveryMs: 200 });
});
afterAll(async () => {
  await fake?.stop();
  s3?.destroy();
  destroyClients();
  await emulators?.stop();
});

/** A live meeting, its archiver (chunks of 60 s) and a started session on the fake speech engine. */
async function archivedSession(options: Partial<RecordingArchiverOptions> = {}) {
  const repo = new MeetingRepository();
  const { meeting } = newMeetingRecord({ ownerId: 'alice', title: 'archive', meetingUrl: 'local://x' });
  await repo.create(meeting);
  const store = new S3RecordingStore(s3, emulators.env.MEDIA_BUCKET as string);
  const archiver = new RecordingArchiver({ store, repo, format: 'wav', logger, chunkMs: 60_000, ...options });
  const session = new MeetingSession({
    meetingId: meeting.meetingId,
    keywords: [],
    language: 'en',
    connector: createDeepgramConnector({ apiKey: 'test-key', wsUrl: fake.wsUrl }),
    repo,
    publish: () => undefined,
    logger,
  });
  archiver.follow(meeting.meetingId, session);
  await session.start();
  return { meeting, store, archiver, session };
}

it('archives Recall audio at the times the session believes, so a frame 11 hours ahead does not stretch the recording', async () => {
  // In step: a random meeting id's cut phase could fall inside the 3 s archived here (a 5 % flake).
  const { meeting, store, archiver, session } = await archivedSession({ staggerCuts: false });
  const frame = (n: number, relativeMs: number) =>
    archiver.forward(session, { kind: 'audio', pcm: numberedFrame(n), relativeMs }, performance.now());
  // 2 s of audio from meeting time 5 s, one frame stamped 40,000 s (11 hours) on, then 1 s more.
  let n = 1;
  for (let t = 5_000; t < 7_000; t += 20) frame(n++, t);
  frame(n++, 40_000_000);
  for (let t = 7_020; t < 8_020; t += 20) frame(n++, t);
  expect(session.stats.badTimestamps).toBe(1);
  await archiver.flushAll();

  const { audio } = await listAudioChunks(store, meeting.meetingId);
  // Every frame once, end to end, from 5 s: 151 frames of 20 ms = 3,020 ms (320 samples each).
  expect(audio.map((c) => [c.start, c.end])).toEqual([[5_000 * 16, 8_020 * 16]]);
  await session.end('test over');
  await archiver.settle();
  archiver.close();
});

it('keeps the live audio going when the spool fails, and a drain stores the open chunk from memory', async () => {
  // Arrange: a real session on the fake speech engine; the spool directory is removed under the
  // archiver, so opening the chunk's file fails (ENOENT)
  const root = mkdtempSync(path.join(tmpdir(), 'parley-spool-test-'));
  const errors: Record<string, unknown>[] = [];
  const watchingLogger = Object.assign(Object.create(logger) as typeof logger, {
    error: (_message: string, extra: Record<string, unknown>) => errors.push(extra),
  });
  const earlier = fake.connections.length;
  const { meeting, store, archiver, session } = await archivedSession({
    logger: watchingLogger,
    spoolDir: root,
    staggerCuts: false,
  });
  rmSync(path.join(root, readdirSync(root)[0] as string), { recursive: true });
  // Act: 2 s of numbered frames (100), well inside one 60 s chunk
  for (let n = 1; n <= 100; n++) {
    archiver.forward(
      session,
      { kind: 'audio', pcm: numberedFrame(n), relativeMs: 1_000 + n * 20 },
      performance.now(),
    );
  }
  // Assess: the speech engine hears every frame; the spool's failure was logged, typed
  const heard = await waitFor('the speech engine to hear 100 frames', () => {
    const ours = fake.connections.slice(earlier).flatMap((c) => c.heard);
    return ours.length >= 100 ? ours : undefined;
  });
  expect(heard).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  expect(errors).toEqual([expect.objectContaining({ meetingId: meeting.meetingId, code: 'SPOOL_FAILED' })]);
  // ... and a drain stores the open chunk (held in memory since the failure): every frame once
  await archiver.flushAll();
  const { audio } = await listAudioChunks(store, meeting.meetingId);
  expect(audio.map((c) => c.end - c.start)).toEqual([100 * 320]);
  await session.end('test over');
  await archiver.settle();
  archiver.close();
});

it('places a frame only once its timestamp is judged, even when a tick comes between it and the next frame', async () => {
  // Arrange: a new session (a task that took the meeting over mid-meeting: its clock has no
  // anchor yet), ticks only when the test runs one
  const { meeting, store, archiver, session } = await archivedSession({
    staggerCuts: false,
    tickMs: 3_600_000,
  });
  const frame = (n: number, relativeMs: number) =>
    archiver.forward(session, { kind: 'audio', pcm: numberedFrame(n), relativeMs }, performance.now());
  // Act: each frame whose time the clock holds (the first one; a jump over a 2 s gap) is
  // followed by a tick before the frame that confirms it
  let n = 1;
  frame(n++, 10_000);
  await archiver.settle();
  for (let t = 10_020; t < 11_000; t += 20) frame(n++, t);
  frame(n++, 13_000);
  await archiver.settle();
  for (let t = 13_020; t < 14_000; t += 20) frame(n++, t);
  await archiver.flushAll();

  // Assess: every frame at its own time (320 samples a frame), none at the stream's own clock
  const { audio } = await listAudioChunks(store, meeting.meetingId);
  expect(audio.map((c) => [c.start, c.end])).toEqual([
    [10_000 * 16, 11_000 * 16],
    [13_000 * 16, 14_000 * 16],
  ]);
  const first = await store.get(audio[0]?.key as string);
  expect(first.readInt16LE(0)).toBe(1);
  const second = await store.get(audio[1]?.key as string);
  expect(second.readInt16LE(0)).toBe(51);
  await session.end('test over');
  await archiver.settle();
  archiver.close();
});

it('places each frame as it arrives once the clock has judged it; only a frame whose time the clock holds waits for the next', async () => {
  // Arrange: a live session, ticks only when the test runs one (settle() runs a tick)
  const { meeting, store, archiver, session } = await archivedSession({
    staggerCuts: false,
    tickMs: 3_600_000,
  });
  const archive = archiver.archive(meeting.meetingId);
  const frame = (n: number, relativeMs: number) =>
    archiver.forward(session, { kind: 'audio', pcm: numberedFrame(n), relativeMs }, performance.now());
  // Act + assess: the stream's first frame waits (the clock believes no timestamp alone)...
  frame(1, 10_000);
  expect(archive.pendingMs).toBe(0);
  // ... the second confirms it: both are placed at once, and so is every frame after them
  frame(2, 10_020);
  expect(archive.pendingMs).toBe(2 * 20);
  for (let n = 3; n <= 50; n++) frame(n, 10_000 + (n - 1) * 20);
  expect(archive.pendingMs).toBe(50 * 20);
  // A tick has nothing left to place
  await archiver.settle();
  expect(archive.pendingMs).toBe(50 * 20);
  // Every frame once, in order, byte for byte
  await archiver.flushAll();
  const { audio } = await listAudioChunks(store, meeting.meetingId);
  expect(audio.map((c) => [c.start, c.end])).toEqual([[10_000 * 16, 11_000 * 16]]);
  const stored = await store.get(audio[0]?.key as string);
  expect(stored.equals(Buffer.concat(Array.from({ length: 50 }, (_, i) => numberedFrame(i + 1))))).toBe(true);
  await session.end('test over');
  await archiver.settle();
  archiver.close();
});
