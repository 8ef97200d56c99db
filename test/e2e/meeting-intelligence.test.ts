/**
 * Meeting intelligence over the whole local stack (Recall simulator → audio gateway → local
 * speech → SQS → fan-out → API Gateway emulator → reference client): per-hop timing on every
 * transcript event, early keyword alerts settled by their finals, the rolling briefing pushed
 * while the meeting runs, and the bot's spoken answer heard back in the transcript.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MeetingRepository } from '../../core/meetings/repository';
import { occurrences } from '../../core/realtime/keywords';
import type { ServerMessage } from '../../core/realtime/protocol';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { FAST_MEETING_STACK, RecordingClient, waitFor } from '../helpers/live';

type Alert = Extract<ServerMessage, { type: 'keyword_alert' }>;
type BriefingUpdate = Extract<ServerMessage, { type: 'briefing_update' }>;

// Whole meetings on the local stack, which a loaded machine plays and transcribes slowly.
jest.setTimeout(300_000);

const STANDUP_KEYWORDS = ['beta', 'crash', 'release', 'customer', 'demo', 'export'];
const WAV_HEADER_BYTES = 44;

/** A 16 kHz mono WAV: the standup's first `speechMs`, then `silenceMs` of silence. */
function standupThenSilence(dir: string, speechMs: number, silenceMs: number): string {
  const source = readFileSync(path.join(__dirname, '../../fixtures/standup-meeting.wav'));
  const speech = source.subarray(WAV_HEADER_BYTES, WAV_HEADER_BYTES + speechMs * 32);
  const pcm = Buffer.concat([speech, Buffer.alloc(silenceMs * 32)]);
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16_000, 24);
  header.writeUInt32LE(32_000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(pcm.length, 40);
  writeFileSync(path.join(dir, 'standup-then-quiet.wav'), Buffer.concat([header, pcm]));
  // Its floor script: the standup's speakers, as far as the speech goes.
  const script = JSON.parse(
    readFileSync(path.join(__dirname, '../../fixtures/standup-meeting.json'), 'utf8'),
  );
  script.file = 'standup-then-quiet.wav';
  script.durationMs = speechMs + silenceMs;
  script.segments = script.segments.filter((s: { endMs: number }) => s.endMs <= speechMs);
  writeFileSync(path.join(dir, 'standup-then-quiet.json'), JSON.stringify(script));
  return 'standup-then-quiet.wav';
}

describe('meeting intelligence on the local stack', () => {
  let stack: LocalStack;
  let recordings: string;

  beforeAll(async () => {
    recordings = mkdtempSync(path.join(tmpdir(), 'parley-intel-'));
    // A long quiet part: the bot's answer plays out whole however late a loaded machine asks.
    standupThenSilence(recordings, 19_000, 120_000);
    const { httpRoutes: _none, ...fast } = FAST_MEETING_STACK;
    stack = await startLocalStack({ ...fast, recordingDirs: [recordings] }); // with every REST route
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(recordings, { recursive: true, force: true });
  }, 120_000);

  async function rest(
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${stack.urls.rest}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${await stack.issuer.mintToken('alice')}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  async function startMeeting(recording: string, keywords: string[] = []) {
    const created = await rest('POST', '/meetings', {
      meetingUrl: `local://recordings/${recording}`,
      title: 'Mobile release standup',
      keywords,
    });
    expect(created.status).toBe(201);
    const { meetingId } = created.json as { meetingId: string };
    const stored = await new MeetingRepository().get(meetingId);
    return { meetingId, botId: stored?.botId as string };
  }

  it('times every live line hop by hop, raises alerts from interims that the finals settle, and pushes the rolling briefing as the meeting runs', async () => {
    const meeting = await startMeeting('standup-meeting.wav', STANDUP_KEYWORDS);
    const owner = new RecordingClient(stack, 'alice', meeting.meetingId);
    const receivedAt = new Map<unknown, number>();
    owner.client.on('message', (m) => {
      if (m.type === 'transcript') receivedAt.set(m.transcript, Date.now());
    });
    await owner.waitForStatus('ended', 180_000);

    // Timing: every live line carries the five hops, in order, before this client got it.
    const live = owner.messages.filter(
      (m): m is Extract<ServerMessage, { type: 'transcript' }> => m.type === 'transcript',
    );
    expect(live.length).toBeGreaterThan(10);
    for (const { transcript } of live) {
      const t = transcript.timing;
      expect(t).toBeDefined();
      // Parley stamps these itself on every line. The audio's arrival is known only while the
      // gateway still holds the frame's mark (docs/protocol.md "Latency"): a result that ends past
      // the last frame, or on audio a final already covered, has none.
      const stamped = [t?.resultAt, t?.publishedAt, t?.fanoutAt, t?.sentAt];
      expect(stamped.every((v) => typeof v === 'number')).toBe(true);
      const order = [t?.audioEndAt, ...stamped].filter((v): v is number => v !== undefined);
      for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThanOrEqual(order[i - 1] as number);
      expect(receivedAt.get(transcript)).toBeGreaterThanOrEqual(t?.sentAt as number);
    }
    // …and the audio's arrival on nearly every line.
    const withAudioEnd = live.filter(({ transcript }) => transcript.timing?.audioEndAt !== undefined);
    expect(withAudioEnd.length).toBeGreaterThanOrEqual(Math.ceil(live.length * 0.9));

    // Alerts: one provisional at most per occurrence, each settled exactly once by its final.
    const alerts = owner.alerts as Alert[];
    const byId = new Map<string, Alert[]>();
    for (const a of alerts) byId.set(a.alertId, [...(byId.get(a.alertId) ?? []), a]);
    for (const [id, states] of byId) {
      const kinds = states.map((s) => s.state);
      expect([id, kinds]).toEqual([
        id,
        kinds[0] === 'provisional' ? ['provisional', kinds[1]] : ['confirmed'],
      ]);
      expect(['confirmed', 'withdrawn']).toContain(kinds.at(-1));
    }
    // Confirmed alerts are exactly the keyword occurrences of the finals; nothing withdrawn survives.
    const expected = owner.finals.flatMap((f) =>
      occurrences(f.text, STANDUP_KEYWORDS).map((o) => `${f.seq}:${o.keyword}:${o.occurrence}`),
    );
    expect(expected.length).toBeGreaterThanOrEqual(3);
    const confirmed = alerts
      .filter((a) => a.state === 'confirmed')
      .map((a) => `${a.seq}:${a.keyword}:${a.occurrence}`);
    expect(confirmed.sort()).toEqual([...expected].sort());
    for (const w of alerts.filter((a) => a.state === 'withdrawn')) {
      expect(expected).not.toContain(`${w.seq}:${w.keyword}:${w.occurrence}`);
    }
    // Early: most confirmed occurrences were announced by an interim, before their final arrived.
    const early = alerts.filter(
      (a) => a.state === 'provisional' && byId.get(a.alertId)?.at(-1)?.state === 'confirmed',
    );
    expect(early.length).toBeGreaterThanOrEqual(Math.ceil(expected.length / 2));
    for (const a of early) {
      const provisionalAt = owner.messages.indexOf(a);
      const finalAt = owner.messages.findIndex(
        (m) => m.type === 'transcript' && m.transcript.seq === a.seq && m.transcript.isFinal,
      );
      expect(provisionalAt).toBeLessThan(finalAt);
    }

    // Rolling briefing: updates arrived while the meeting was live, each covering more, the last
    // one (perhaps sent after the meeting ended) covering every final.
    const lastSeq = owner.finals.at(-1)?.seq;
    const isUpdate = (m: ServerMessage): m is BriefingUpdate => m.type === 'briefing_update';
    await waitFor('the briefing of every final', () =>
      owner.messages.some((m) => isUpdate(m) && m.briefing.coversSeq === lastSeq),
    );
    const updates = owner.messages.filter(isUpdate);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    const endedAt = owner.messages.findIndex((m) => m.type === 'status' && m.status === 'ended');
    expect(owner.messages.indexOf(updates[0] as BriefingUpdate)).toBeLessThan(endedAt);
    for (let i = 1; i < updates.length; i++) {
      expect(updates[i]!.briefing.coversSeq).toBeGreaterThan(updates[i - 1]!.briefing.coversSeq);
      expect(updates[i]!.briefing.updates).toBeGreaterThan(updates[i - 1]!.briefing.updates);
    }
    const last = updates.at(-1) as BriefingUpdate;
    expect(last.briefing.coversSeq).toBe(lastSeq);
    expect(last.briefing.engine).toBe('embedded-extractive');
    // The standup has a blocker and action items; each was announced as new in some update.
    expect(last.briefing.actionItems.length + last.briefing.blockers.length).toBeGreaterThanOrEqual(2);
    const announced = new Set(updates.flatMap((u) => u.added.actionItems.map((a) => a.text)));
    for (const item of last.briefing.actionItems) expect(announced).toContain(item.text);

    // A late joiner gets the current briefing right after its replay.
    const late = new RecordingClient(stack, 'alice', meeting.meetingId);
    const current = await waitFor('the late joiner to get the briefing', () =>
      late.messages.find((m): m is BriefingUpdate => m.type === 'briefing_update'),
    );
    expect(current.briefing).toEqual(last.briefing);
    const replayDone = late.messages.findIndex((m) => m.type === 'replay_complete');
    expect(replayDone).toBeGreaterThanOrEqual(0);
    expect(late.messages.indexOf(current)).toBeGreaterThan(replayDone);
    for (const c of [owner, late]) c.close();
  });

  it("speaks an answer into the call and hears it back as the bot's line", async () => {
    const meeting = await startMeeting('standup-then-quiet.wav');
    const owner = new RecordingClient(stack, 'alice', meeting.meetingId);
    await owner.waitForFinals(3);
    // Ask once the recording has gone quiet, so the bot speaks alone.
    await waitFor(
      'the quiet part',
      () => (stack.recall.bot(meeting.botId)?.positionMs ?? 0) > 21_000,
      60_000,
    );
    const finalsBefore = owner.finals.length;
    const asked = await rest('POST', `/meetings/${meeting.meetingId}/ask`, {
      question: 'Who is blocked on the analytics dashboard?',
      speak: true,
    });
    expect(asked.status).toBe(200);
    expect(asked.json.spoken).toBe(true);

    const botLine = await waitFor(
      "the bot's line",
      () => owner.finals.slice(finalsBefore).find((f) => f.speaker === 'Parley'),
      90_000,
    );
    // What the speech engine heard shares words with what the bot said (its lines keep coming).
    const said = new Set(
      String(asked.json.answer)
        .toLowerCase()
        .match(/[a-z]{4,}/g) ?? [],
    );
    const shared = () =>
      new Set(
        owner.finals
          .slice(finalsBefore)
          .filter((f) => f.speaker === 'Parley')
          .flatMap((f) => f.text.toLowerCase().match(/[a-z]{4,}/g) ?? [])
          .filter((w) => said.has(w)),
      );
    // PocketSphinx mishears espeak-ng's voice often (docs/benchmarks.md), so two words suffice.
    await waitFor('two of the answer’s words in the bot’s lines', () => shared().size >= 2, 90_000);
    expect(botLine.seq).toBeGreaterThan(owner.finals[finalsBefore - 1]!.seq);
    // Nobody else spoke in the quiet part.
    const quiet = owner.finals.filter((f) => f.startMs >= 19_500);
    expect(quiet.length).toBeGreaterThan(0);
    expect(quiet.every((f) => f.speaker === 'Parley')).toBe(true);
    await rest('POST', `/meetings/${meeting.meetingId}/leave`);
    await owner.waitForStatus('ended');
    owner.close();
  });
});
