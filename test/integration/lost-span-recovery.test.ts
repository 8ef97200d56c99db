/**
 * The pieces of crash recovery against the emulators: reading a lost span back from archive
 * chunks on s3rver (core/audio/lost-span-recovery.ts), and where the stored finals reach
 * (`lastFinalEndMs`, written by the fan-out through MeetingRepository.advanceLastSeq, dynalite).
 */
import { readFileSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { readArchivedRecall } from '../../core/audio/lost-span-recovery';
import { MeetingArchive } from '../../core/audio/recording-archive';
import { destroyClients } from '../../core/clients/lifecycle';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import { S3RecordingStore } from '../../core/recordings/store';
import { createLocalClients, type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { parseWav } from '../../local/recall-simulator/fixture';
import { SAMPLE_FIXTURE } from '../../local/stack';

const logger = createLogger('test');
const PCM = parseWav(readFileSync(SAMPLE_FIXTURE.wavPath));
const ms = (n: number) => n * 32; // bytes of 16 kHz S16 mono
let emulators: RunningEmulators;
let client: S3Client;
let store: S3RecordingStore;

beforeAll(async () => {
  emulators = await startEmulators({ logger });
  Object.assign(process.env, emulators.env);
  client = createLocalClients(emulators.endpoints).s3;
  store = new S3RecordingStore(client, emulators.env.MEDIA_BUCKET as string);
});
afterAll(async () => {
  client?.destroy();
  destroyClients();
  await emulators?.stop();
});

describe('reading a lost span back from the archive', () => {
  it('returns the archived Recall audio of the span at its meeting time, silence in a hole, and nothing of a microphone', async () => {
    const archive = new MeetingArchive({ meetingId: 'lost', store, logger, chunkMs: 1_000 });
    // 0–3 s archived, 3–4 s missing (a reconnect), 4–6 s archived; a microphone chunk at 6–7 s.
    archive.appendRecall(PCM.subarray(0, ms(3_000)), 0);
    archive.appendRecall(PCM.subarray(ms(4_000), ms(6_000)), 4_000);
    archive.appendMic(PCM.subarray(ms(6_000), ms(7_000)), 6_000 * 16, 'a'.repeat(32), 1, false);
    await archive.flush();

    const span = await readArchivedRecall(store, 'lost', 2_500, 9_000);
    expect(span?.startMs).toBe(2_500);
    // Ends with the last Recall chunk (6 s), not at the asked end nor with the microphone's.
    expect(span?.pcm.length).toBe(ms(3_500));
    expect(span?.pcm.subarray(0, ms(500)).equals(PCM.subarray(ms(2_500), ms(3_000)))).toBe(true);
    expect(span?.pcm.subarray(ms(500), ms(1_500)).equals(Buffer.alloc(ms(1_000)))).toBe(true);
    expect(span?.pcm.subarray(ms(1_500)).equals(PCM.subarray(ms(4_000), ms(6_000)))).toBe(true);
  });

  it('starts where the archive starts and finds nothing outside it', async () => {
    const archive = new MeetingArchive({ meetingId: 'late', store, logger, chunkMs: 1_000 });
    archive.appendRecall(PCM.subarray(ms(5_000), ms(7_000)), 5_000);
    await archive.flush();
    const span = await readArchivedRecall(store, 'late', 0, 6_000);
    expect(span?.startMs).toBe(5_000);
    expect(span?.pcm.equals(PCM.subarray(ms(5_000), ms(6_000)))).toBe(true);
    expect(await readArchivedRecall(store, 'late', 7_000, 9_000)).toBeUndefined();
    expect(await readArchivedRecall(store, 'nothing-archived', 0, 9_000)).toBeUndefined();
  });
});

describe('where the stored finals reach', () => {
  it('raises lastFinalEndMs with lastSeq, never lowers it for a recovered final of earlier audio, and raises it alone for a later final below lastSeq', async () => {
    const meetings = new MeetingRepository();
    const { meeting } = newMeetingRecord({
      ownerId: 'alice',
      title: 'reach',
      meetingUrl: 'https://meet.example/x',
    });
    await meetings.create(meeting);
    const id = meeting.meetingId;

    expect(await meetings.advanceLastSeq(id, 3, 9_000)).toBe(true);
    expect(await meetings.get(id)).toMatchObject({ lastSeq: 3, lastFinalEndMs: 9_000 });
    // A recovered final: a newer seq, earlier audio.
    expect(await meetings.advanceLastSeq(id, 4, 7_500)).toBe(true);
    expect(await meetings.get(id)).toMatchObject({ lastSeq: 4, lastFinalEndMs: 9_000 });
    // A final below lastSeq (a redelivery, or one out of order) leaves lastSeq alone, and the
    // end too unless its audio ends later (the next task's finals below an old task's late seq).
    expect(await meetings.advanceLastSeq(id, 2, 8_000)).toBe(false);
    expect(await meetings.get(id)).toMatchObject({ lastSeq: 4, lastFinalEndMs: 9_000 });
    expect(await meetings.advanceLastSeq(id, 2, 10_000)).toBe(false);
    expect(await meetings.get(id)).toMatchObject({ lastSeq: 4, lastFinalEndMs: 10_000 });
    expect(await meetings.advanceLastSeq(id, 5, 11_000)).toBe(true);
    expect(await meetings.get(id)).toMatchObject({ lastSeq: 5, lastFinalEndMs: 11_000 });
  });
});
