/**
 * The recording of a Recall meeting whose audio-gateway task is replaced mid-meeting, on the
 * whole local stack: once by a graceful handover (SIGTERM: the old task drains, Recall reconnects
 * to the new one) and once by a crash. After the meeting ends, the archived chunks and the
 * assembled recording (downloaded through `GET /meetings/{id}/recording`, decoded by Debian's
 * ffmpeg) are compared sample for sample with the audio the Recall simulator actually sent, per
 * connection, under the boundary rules of docs/architecture.md ("Recordings for every meeting"):
 * no sample archived twice or out of place, nothing lost but what those rules allow; and the
 * transcript's seqs are continuous.
 */
process.env.RECORDING_FORMAT = 'wav';
process.env.RECORDING_CHUNK_MS = '2000';
process.env.RECORDING_KEEP_CHUNKS = 'true';

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { s3 } from '../../core/clients/s3';
import { bucketName } from '../../core/config';
import { createLogger } from '../../core/logger';
import { chunksPrefix, parseChunkKey } from '../../core/recordings/keys';
import { S3RecordingStore } from '../../core/recordings/store';
import type { SentAudioSpan } from '../../local/recall-simulator';
import { parseWav } from '../../local/recall-simulator/fixture';
import { startSampleMeeting } from '../../local/sample-meeting';
import { type LocalStack, SAMPLE_FIXTURE, startLocalStack } from '../../local/stack';
import { RecordingClient, storedFinals, waitFor } from '../helpers/live';

// Two whole meetings (30 s of audio each) in real time, plus the speech engine's last results.
jest.setTimeout(300_000);

const logger = createLogger('e2e');
const PCM = parseWav(readFileSync(SAMPLE_FIXTURE.wavPath));
/** RECORDING_CHUNK_MS above, in samples. */
const CHUNK_SAMPLES = 2_000 * 16;
/** One Recall frame of the simulator (20 ms). */
const FRAME_SAMPLES = 320;

/** A set of samples as sorted, disjoint, non-adjacent [start, end) runs. */
type Runs = [number, number][];

function normalize(runs: Runs): Runs {
  const sorted = runs.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: Runs = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Samples of `a` that are not in `b`. */
function subtract(a: Runs, b: Runs): Runs {
  const out: Runs = [];
  for (const [start, end] of normalize(a)) {
    let at = start;
    for (const [bs, be] of normalize(b)) {
      if (be <= at || bs >= end) continue;
      if (bs > at) out.push([at, bs]);
      at = Math.max(at, be);
    }
    if (at < end) out.push([at, end]);
  }
  return out;
}

const size = (runs: Runs) => runs.reduce((n, [s, e]) => n + e - s, 0);
const runsOf = (spans: SentAudioSpan[]): Runs => normalize(spans.map((s) => [s.startSample, s.endSample]));

describe('the recording of a Recall meeting whose gateway task is replaced mid-meeting', () => {
  let stack: LocalStack;
  let store: S3RecordingStore;

  beforeAll(async () => {
    // Real time, so that the speech engine keeps up with two sessions during the handover and a
    // 2 s chunk takes 2 s to fill (far longer than its PUT) even on a loaded machine.
    stack = await startLocalStack({
      speed: 1,
      reconnectGraceMs: 1_500,
      recallReconnect: { intervalMs: 200 },
    });
    store = new S3RecordingStore(s3(), bucketName('media'));
  }, 120_000);
  afterAll(() => stack?.stop(), 120_000);

  /** The meeting's recording, through the REST API's presigned URL, decoded to PCM by ffmpeg. */
  async function downloadRecording(meetingId: string): Promise<Buffer> {
    const token = await stack.issuer.mintToken('alice');
    let url: string | undefined;
    for (const deadline = Date.now() + 60_000; !url; ) {
      const res = await fetch(`${stack.urls.rest}/meetings/${meetingId}/recording`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { url?: string; contentType?: string };
      if (res.status === 200) {
        expect(body.contentType).toBe('audio/wav');
        url = body.url;
      } else {
        expect([404, 409]).toContain(res.status); // not assembled yet
        if (Date.now() > deadline) throw new Error(`no recording after 60 s: ${res.status}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const file = Buffer.from(await (await fetch(url)).arrayBuffer());
    return execFileSync(
      'ffmpeg',
      ['-loglevel', 'error', '-i', 'pipe:0', '-f', 's16le', '-ac', '1', '-ar', '16000', 'pipe:1'],
      { input: file, maxBuffer: 64 * 1024 * 1024 },
    );
  }

  /** A sample meeting whose gateway task is replaced at 10 s of meeting time, run to its end. */
  async function replacedMidMeeting(graceful: boolean) {
    const meeting = await startSampleMeeting(stack, logger);
    const meetingId = meeting.meetingId;
    const watcher = new RecordingClient(stack, 'alice', meetingId);
    const bot = () => {
      const view = stack.recall.bot(meeting.botId as string);
      if (!view) throw new Error('the bot is gone');
      return view;
    };
    // Mid-utterance of the second speaker.
    await waitFor('meeting time 10 s', () => bot().positionMs > 10_000, 60_000);
    const oldSession = stack.audio.gateway.session(meetingId);
    if (!oldSession) throw new Error('no session on the first gateway task');
    await stack.replaceAudioGateway({ graceful });
    await watcher.waitForStatus('ended', 180_000);
    const decoded = await downloadRecording(meetingId);
    const chunks = (await store.list(chunksPrefix(meetingId)))
      .map((key) => ({ key, chunk: parseChunkKey(meetingId, key) }))
      .filter((c): c is { key: string; chunk: NonNullable<typeof c.chunk> } => c.chunk !== undefined)
      .sort((a, b) => a.chunk.start - b.chunk.start);
    const sent = bot().endpoints[0]?.audioSent ?? [];
    const stored = await storedFinals(meetingId);
    watcher.close();
    return { oldSession, chunks, sent, decoded, watcher, stored };
  }

  /**
   * What holds for both: every archived sample is one the simulator sent, at the meeting time it
   * sent it, archived once; the assembled file is exactly the archive laid on the meeting's
   * timeline (silence elsewhere); every sample sent after the reconnect is archived. Returns the
   * audio sent on the first connection, and the part of it that is not archived.
   */
  async function expectArchiveOfSentAudio(run: Awaited<ReturnType<typeof replacedMidMeeting>>) {
    const { chunks, sent, decoded } = run;
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.every((s) => !s.outputAudioMixed)).toBe(true); // so what was sent is the fixture
    const sentRuns = runsOf(sent);
    const first = runsOf(sent.filter((s) => s.connection === 1));
    const later = runsOf(sent.filter((s) => s.connection > 1));
    expect(size(first)).toBeGreaterThan(10_000 * 16);
    expect(size(later)).toBeGreaterThan(10_000 * 16);

    const archived: Runs = [];
    let prevEnd = 0;
    const timeline = Buffer.alloc(decoded.length);
    for (const { key, chunk } of chunks) {
      expect(chunk.source.kind).toBe('recall');
      expect(chunk.start).toBeGreaterThanOrEqual(prevEnd); // no sample archived twice
      prevEnd = chunk.end;
      const body = await store.get(key);
      expect(body.length).toBe((chunk.end - chunk.start) * 2);
      expect(body.equals(PCM.subarray(chunk.start * 2, chunk.end * 2))).toBe(true); // at its time
      body.copy(timeline, chunk.start * 2);
      archived.push([chunk.start, chunk.end]);
    }
    const archivedRuns = normalize(archived);
    expect(subtract(archivedRuns, sentRuns)).toEqual([]); // nothing archived that was not sent
    expect(subtract(later, archivedRuns)).toEqual([]); // everything after the reconnect is kept
    expect(archivedRuns[0]?.[0]).toBe(first[0]?.[0]); // from the meeting's first frame

    // The downloaded recording: the archive on the meeting timeline, silence in the holes.
    expect(decoded.length).toBe(prevEnd * 2);
    expect(decoded.equals(timeline)).toBe(true);
    return { first, missingFirst: subtract(first, archivedRuns), archivedRuns };
  }

  it('archives every sample sent across a graceful handover once, losing only the frames that reached the old task after its cut', async () => {
    const run = await replacedMidMeeting(true);
    const { first, missingFirst } = await expectArchiveOfSentAudio(run);
    // The old task archived every frame it forwarded; what it dropped after its cut (sent by
    // Recall before it saw the close) is the only audio of the first connection not archived.
    const afterCut = run.oldSession.stats.framesAfterCut;
    expect(size(missingFirst)).toBe(afterCut * FRAME_SAMPLES);
    if (afterCut > 0) {
      expect(missingFirst).toHaveLength(1);
      expect(missingFirst[0]?.[1]).toBe(first[first.length - 1]?.[1]); // the tail of the connection
    }
    expect(run.oldSession.stats.audioMs * 16).toBe(size(first) - afterCut * FRAME_SAMPLES);

    // The transcript: seqs continuous across the handover, the client saw exactly the stored finals.
    const seqs = run.stored.map((f) => f.seq);
    expect(seqs.length).toBeGreaterThan(2);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    expect(run.watcher.finals.map((f) => ({ seq: f.seq, text: f.text }))).toEqual(run.stored);
  });

  it('loses no more than the unstored chunk of a crashed task, and archives the rest of the meeting once', async () => {
    const run = await replacedMidMeeting(false);
    const { first, missingFirst, archivedRuns } = await expectArchiveOfSentAudio(run);
    // What the old task stored is a prefix of what it was sent: one hole, at the tail.
    expect(missingFirst).toHaveLength(1);
    expect(missingFirst[0]?.[1]).toBe(first[first.length - 1]?.[1]);
    // Of the audio the crashed task forwarded (a prefix of the connection: TCP keeps order), it
    // lost at most the chunk it had open and the frame waiting to be placed (the crash bound);
    // the rest of the hole never reached it (in flight on the killed socket).
    const firstStart = first[0]?.[0] as number;
    const forwarded: Runs = [[firstStart, firstStart + run.oldSession.stats.audioMs * 16]];
    const unstored = subtract(forwarded, archivedRuns);
    expect(size(unstored)).toBeLessThan(CHUNK_SAMPLES + FRAME_SAMPLES);
    expect(size(forwarded)).toBeLessThanOrEqual(size(first));

    // The transcript: seqs increase, none twice, and the client saw exactly the stored finals.
    const seqs = run.stored.map((f) => f.seq);
    expect(seqs.length).toBeGreaterThan(2);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(run.watcher.finals.map((f) => ({ seq: f.seq, text: f.text }))).toEqual(run.stored);
  });
});
