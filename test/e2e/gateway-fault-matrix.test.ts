/**
 * The fault matrix of the audio gateway, on the whole local stack: one sample meeting per
 * fault (speech socket drop, Recall reconnect, graceful replacement of the gateway task, crash
 * of the gateway task). Each asserts that the finals a client received equal the stored
 * transcript, with no duplicate, and no loss beyond what docs/architecture.md allows for
 * that fault.
 */
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { wordErrorRate } from '../../core/wer';
import { startSampleMeeting } from '../../local/sample-meeting';
import { type LocalStack, startLocalStack } from '../../local/stack';
import {
  FAST_MEETING_STACK,
  FIXTURE,
  REFERENCE_TEXT,
  RecordingClient,
  storedFinals,
  waitFor,
} from '../helpers/live';

const logger = createLogger('e2e');

/**
 * WER bound after a fault that starts a new speech stream (a reconnect, a handover): 0.45, not the
 * live path's 0.4, for the engine on Ogg Opus (the default), not for lost audio. A new Ogg stream
 * re-encodes the audio not yet final from where it starts, on a new 20 ms frame grid, and the
 * local engine hears those frames differently: measured on the graceful handover, the decoded
 * audio was sample-aligned and contiguous with the fixture, WER 0.42 against 0.30 with linear16,
 * and the new stream's words were exactly those of a fresh Opus stream from that point; a Recall
 * reconnect measured 0.408 once. Loss is what `expectCoverage` and the seq checks catch.
 */
const WER_AFTER_NEW_STREAM = 0.45;
// Whole meetings, one per fault.
jest.setTimeout(180_000);

type Fault = 'speech drop' | 'Recall reconnect' | 'graceful gateway replacement' | 'gateway crash';

/**
 * Recall simulator speed per fault. The gateway replacements run in real time: the local speech
 * engine must keep up with two sessions during a handover even on a loaded machine (3× real time
 * outruns it there, and that is not what these tests test), and what a crash loses is the audio in
 * flight at the meeting's real pace. A speech drop and a Recall reconnect keep one session on one
 * task, so they play at 3× (as test/e2e/audio-gateway-resilience.test.ts plays both, the speech
 * drop at WER <= 0.4): ≈ 20 s less each, with the same checks. (Recall's reconnect interval is
 * 200 ms of wall time, so at 3× the bot skips 0.6 s of meeting time while it is away, not 0.2 s.)
 */
const SPEED: Record<Fault, number> = {
  'speech drop': 3,
  'Recall reconnect': 3,
  'graceful gateway replacement': 1,
  'gateway crash': 1,
};

describe('the audio gateway fault matrix', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    // Each meeting sets its bot's speed (SPEED).
    stack = await startLocalStack({ ...FAST_MEETING_STACK, speed: 1 });
  });
  afterAll(() => stack?.stop(), 120_000);

  async function meetingWith(fault: Fault) {
    stack.recall.setSpeed(SPEED[fault]);
    const meeting = await startSampleMeeting(stack, logger);
    const client = new RecordingClient(stack, 'alice', meeting.meetingId);
    // Mid-utterance of the second speaker (by the meeting's clock, not by how fast finals come).
    await waitFor('meeting time 9.5 s', () => stack.recall.bot(meeting.botId!)!.positionMs > 9_500, 60_000);
    let statusAfterFault: string | undefined;
    switch (fault) {
      case 'speech drop':
        stack.speech.dropConnections();
        break;
      case 'Recall reconnect':
        expect(stack.recall.dropConnection(meeting.botId!)).toBe(true);
        break;
      case 'graceful gateway replacement':
        await stack.replaceAudioGateway({ graceful: true });
        statusAfterFault = (await new MeetingRepository().get(meeting.meetingId))?.status;
        break;
      case 'gateway crash':
        await stack.replaceAudioGateway({ graceful: false });
        break;
    }
    await client.waitForStatus('ended');
    const stored = await storedFinals(meeting.meetingId);
    client.close();
    return { meeting, client, stored, statusAfterFault };
  }

  function expectClientEqualsStore(client: RecordingClient, stored: { seq: number; text: string }[]) {
    const finals = client.finals.map((f) => ({ seq: f.seq, text: f.text }));
    expect(finals).toEqual(stored);
    expect(new Set(finals.map((f) => f.seq)).size).toBe(finals.length);
    expect(new Set(finals.map((f) => f.text)).size).toBe(finals.length);
  }

  /** Every scripted utterance is covered by some final, except at most `allowedMisses`. */
  function expectCoverage(client: RecordingClient, allowedMisses: number) {
    const missed = FIXTURE.segments.filter(
      (s) => !client.finals.some((f) => f.startMs < s.endMs && f.endMs > s.startMs),
    );
    expect(missed.length).toBeLessThanOrEqual(allowedMisses);
  }

  it.each<Fault>(['speech drop', 'Recall reconnect'])(
    'loses nothing and duplicates nothing across a %s',
    async (fault) => {
      const { client, stored } = await meetingWith(fault);
      expectClientEqualsStore(client, stored);
      expectCoverage(client, 0);
      expect(
        wordErrorRate(REFERENCE_TEXT, client.finals.map((f) => f.text).join(' ')).wer,
      ).toBeLessThanOrEqual(WER_AFTER_NEW_STREAM);
    },
  );

  it('hands a meeting over on a graceful gateway replacement: still live, seqs contiguous, nothing lost or repeated', async () => {
    const { client, stored, statusAfterFault } = await meetingWith('graceful gateway replacement');
    expect(statusAfterFault).toBe('live');
    expectClientEqualsStore(client, stored);
    const seqs = client.finals.map((f) => f.seq);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    // The meeting went on, live, to its real end: `ended` only after the bot left.
    expect(client.statuses.filter((s) => s === 'ended')).toEqual(['ended']);
    expect(client.statuses[client.statuses.length - 1]).toBe('ended');
    expectCoverage(client, 0);
    expect(wordErrorRate(REFERENCE_TEXT, client.finals.map((f) => f.text).join(' ')).wer).toBeLessThanOrEqual(
      WER_AFTER_NEW_STREAM,
    );
  });

  it('loses at most the utterance in flight when the gateway task crashes, and tells clients to drop its interims', async () => {
    const { client, stored } = await meetingWith('gateway crash');
    expectClientEqualsStore(client, stored);
    expectCoverage(client, 1);
    // Every interim that never became final is covered by an interim_dropped notice.
    const finalSeqs = new Set(client.finals.map((f) => f.seq));
    const ghosts = client.interims.filter((i) => !finalSeqs.has(i.seq)).map((i) => i.seq);
    const dropped = client.messages.flatMap((m) => (m.type === 'interim_dropped' ? [m.beforeSeq] : []));
    for (const seq of ghosts) expect(dropped.some((before) => seq < before)).toBe(true);
  });
});
