/**
 * The whole live path on the local stack: Recall simulator → audio gateway → local speech
 * server → SQS → fan-out Lambda → API Gateway emulator → reference client.
 */
import { createLogger } from '../../core/logger';
import { findKeywords } from '../../core/realtime/keywords';
import { wordErrorRate } from '../../core/wer';
import { startSampleMeeting } from '../../local/sample-meeting';
import { type LocalStack, startLocalStack } from '../../local/stack';
import {
  FAST_MEETING_STACK,
  REFERENCE_TEXT,
  RecordingClient,
  scriptSpeakerAt,
  waitFor,
} from '../helpers/live';

const logger = createLogger('e2e');

describe('a live meeting on the local stack', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack(FAST_MEETING_STACK);
  });
  afterAll(() => stack?.stop(), 120_000);

  it('streams interims and finals in order, attributed, accurate, with keyword alerts, to every reader', async () => {
    const meeting = await startSampleMeeting(stack, logger, { keywords: ['amiable', 'ill disposed'] });
    const steady = new RecordingClient(stack, 'alice', meeting.meetingId);
    const flaky = new RecordingClient(stack, 'alice', meeting.meetingId);
    const stranger = new RecordingClient(stack, 'mallory');
    await Promise.all([steady.opened(), flaky.opened(), stranger.opened()]);

    // Another user can neither read nor steer the meeting.
    stranger.client.subscribe(meeting.meetingId);
    const refused = stranger.client.command(meeting.meetingId, 'stop');
    await expect(refused).rejects.toMatchObject({ code: 'MEETING_NOT_FOUND' });
    await waitFor('the stranger to be refused twice', () => stranger.errors.length >= 2);
    expect(stranger.errors.map((e) => e.code)).toEqual(['MEETING_NOT_FOUND', 'MEETING_NOT_FOUND']);

    // One reader loses its connection twice mid-meeting and resumes with its lastSeq.
    await flaky.waitForFinals(1);
    flaky.client.drop();
    await flaky.waitForFinals(3);
    flaky.client.drop();

    await steady.waitForStatus('ended');
    await flaky.waitForStatus('ended');

    const finals = steady.finals;
    expect(finals.length).toBeGreaterThanOrEqual(4);
    // Strictly increasing seqs, meeting times in order.
    for (let i = 1; i < finals.length; i++) {
      expect(finals[i]!.seq).toBeGreaterThan(finals[i - 1]!.seq);
      expect(finals[i]!.startMs).toBeGreaterThanOrEqual(finals[i - 1]!.startMs);
    }
    // Accurate: within the WER bound of the audio gateway issue.
    const { wer } = wordErrorRate(REFERENCE_TEXT, finals.map((f) => f.text).join(' '));
    expect(wer).toBeLessThanOrEqual(0.4);
    // Attributed per the floor script.
    for (const f of finals) expect(f.speaker).toBe(scriptSpeakerAt((f.startMs + f.endMs) / 2));
    expect(new Set(finals.map((f) => f.speaker))).toEqual(new Set(['Alice', 'Bob']));
    // Interims carry their final's seq and come before it, never after; a line that follows its
    // predecessor's final within the interim window may show only its final (docs/protocol.md,
    // interim cadence), but the live line moves during the meeting.
    const interims = steady.timeline.filter((t) => !t.isFinal);
    for (const f of finals) {
      const at = steady.timeline.indexOf(f);
      expect(steady.timeline.slice(at + 1).some((t) => !t.isFinal && t.seq === f.seq)).toBe(false);
    }
    expect(finals.filter((f) => interims.some((t) => t.seq === f.seq)).length).toBeGreaterThan(0);
    // One alert per occurrence of a keyword in the finals.
    const expectedAlerts = finals.flatMap((f) =>
      findKeywords(f.text, ['amiable', 'ill disposed']).map((h) => `${f.seq}:${h.keyword}`),
    );
    expect(expectedAlerts.length).toBeGreaterThanOrEqual(1);
    // (Interims may raise provisional alerts first; the finals confirm or withdraw each.)
    expect(steady.alerts.filter((a) => a.state === 'confirmed').map((a) => `${a.seq}:${a.keyword}`)).toEqual(
      expectedAlerts,
    );
    // Status went live, then ended.
    expect(steady.statuses.indexOf('live')).toBeLessThan(steady.statuses.indexOf('ended'));

    // The reader that dropped twice holds exactly the same finals: none missing, none twice.
    expect(flaky.client.connects).toBeGreaterThanOrEqual(3);
    expect(flaky.finals.map((f) => [f.seq, f.text, f.speaker])).toEqual(
      finals.map((f) => [f.seq, f.text, f.speaker]),
    );

    // A late reader gets the whole meeting by replay.
    const late = new RecordingClient(stack, 'alice', meeting.meetingId);
    await waitFor('the replay', () => late.messages.some((m) => m.type === 'replay_complete'));
    expect(late.finals.map((f) => f.seq)).toEqual(finals.map((f) => f.seq));
    // The stranger never saw any of it.
    expect(stranger.messages.filter((m) => m.type === 'transcript' || m.type === 'status')).toEqual([]);
    for (const c of [steady, flaky, stranger, late]) c.close();
  });

  it('pauses, resumes and stops on command, and the bot leaves', async () => {
    // The standup (63 s): long enough that the stop reaches a bot still in the call, however
    // slowly this machine transcribes.
    const meeting = await startSampleMeeting(stack, logger, {
      meetingUrl: 'local://recordings/standup-meeting.wav',
    });
    const owner = new RecordingClient(stack, 'alice', meeting.meetingId);
    const session = await waitFor('the session', () => stack.audio.gateway.session(meeting.meetingId));
    await owner.waitForFinals(1);

    const paused = await owner.client.command(meeting.meetingId, 'pause');
    expect(paused.status).toBe('paused');
    await owner.waitForStatus('paused');
    await waitFor('the gateway to apply the pause', () => session.stats.pauses === 1);
    const pausedAtMs = stack.recall.bot(meeting.botId!)!.positionMs;
    const finalsAtPause = owner.finals.length;
    // Let several seconds of the meeting pass while paused.
    await waitFor(
      'meeting time to pass',
      () => stack.recall.bot(meeting.botId!)!.positionMs > pausedAtMs + 6_000,
      20_000,
    );
    const resumed = await owner.client.command(meeting.meetingId, 'resume');
    expect(resumed.status).toBe('live');
    await waitFor('the gateway to apply the resume', () => session.stats.resumes === 1);
    await waitFor(
      'a live status after the pause',
      () => owner.statuses.lastIndexOf('live') > owner.statuses.indexOf('paused'),
    );

    await waitFor('a final after the resume', () => owner.finals.length > finalsAtPause, 60_000);
    const stopped = await owner.client.command(meeting.meetingId, 'stop');
    expect(stopped.status).toBe('disconnecting');
    await owner.waitForStatus('ended');

    // Nothing said while paused was transcribed, and no final straddles the paused window: the
    // window is the gateway's own record (meeting ms from Recall's timestamps), so the check
    // does not depend on how fast this machine runs.
    expect(session.stats.resumes).toBe(1);
    const [window] = session.pausedWindows;
    expect(window?.endMs).toBeDefined();
    expect(window!.endMs! - window!.startMs).toBeGreaterThan(4_000);
    for (const f of owner.finals) {
      const overlap = Math.min(f.endMs, window!.endMs!) - Math.max(f.startMs, window!.startMs);
      expect(overlap).toBeLessThanOrEqual(50);
    }
    // The bot left the call (seen at the Recall simulator).
    const bot = await waitFor('the bot to leave', () => {
      const b = stack.recall.bot(meeting.botId!);
      return b?.statusChanges.some((c) => c.code === 'call_ended') ? b : undefined;
    });
    expect(bot.statusChanges.map((c) => c.code)).toContain('in_call_recording');
    owner.close();
  });
});
