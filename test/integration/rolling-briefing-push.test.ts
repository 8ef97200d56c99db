/**
 * When the rolling briefing is pushed (core/briefing/rolling-briefings.ts, docs/protocol.md
 * "Rolling briefing"), against dynalite and, for the viewer's side, the local stack (local SQS,
 * the real fan-out handler, the gateway emulator): updates are spaced by the audience a final
 * reached, an update that changes nothing a viewer sees is stored but not posted, and a viewer
 * gets the stored briefing whenever it asks (`get_state`), pushed or not.
 */
import WebSocket from 'ws';
import { ExtractiveEngine } from '../../core/briefing/extractive-engine';
import type { BriefContent, BriefingEngine } from '../../core/briefing/model';
import { pushSpacingMs, RollingBriefings, type RollingPolicy } from '../../core/briefing/rolling-briefings';
import { RollingBriefingRepository } from '../../core/briefing/rolling-repository';
import { sqs } from '../../core/clients/sqs';
import { queueUrl } from '../../core/config';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { newMeetingRecord } from '../../core/meetings/service';
import type { PipelineEvent, Segment } from '../../core/pipeline/events';
import { BRIEFING_INLINE_MAX, ShardDispatcher } from '../../core/pipeline/fanout-shards';
import { sendPipelineEvent } from '../../core/pipeline/send-event';
import type { ServerMessage } from '../../core/realtime/protocol';
import { SegmentRepository } from '../../core/transcript/segment-repository';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { RecordingClient, waitFor } from '../helpers/live';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ httpRoutes: [], logLevel: 'ERROR' });
});
afterAll(async () => {
  await stack?.stop();
});

const LINES = [
  'Ben, please update the release notes by Thursday.',
  'I am blocked on the dashboard until the data team answers.',
  'We decided to ship the beta on Monday.',
  'Who owns the migration plan?',
  'Ken will write the onboarding guide next week.',
  'The billing export is still failing on large accounts.',
];

function segment(meetingId: string, seq: number, text = LINES[(seq - 1) % LINES.length] as string): Segment {
  return {
    id: `${meetingId}:${seq}`,
    seq,
    revision: 1,
    text,
    speaker: seq % 2 ? 'Ana' : 'Ben',
    confidence: 0.9,
    startMs: seq * 4_000,
    endMs: seq * 4_000 + 3_000,
    timestamp: new Date().toISOString(),
    isFinal: true,
  };
}

/** A model (in place of OpenAI) that answers with the briefings given, in turn, the last one again. */
class ScriptedModel implements BriefingEngine {
  readonly briefEngine = 'openai:scripted';
  readonly askEngine = 'openai:scripted';
  calls = 0;
  private readonly answers: BriefContent[];
  constructor(...answers: BriefContent[]) {
    this.answers = answers;
  }
  async brief(): Promise<BriefContent> {
    return this.answers[Math.min(this.calls++, this.answers.length - 1)] as BriefContent;
  }
  async ask(): Promise<never> {
    throw new Error('not asked');
  }
}

/** Every final may update (policy), so only the push rules hold updates back. */
const EVERY_FINAL: RollingPolicy = { everyFinals: 1, everySeconds: 1, minSeconds: 0 };

function briefings(engine: BriefingEngine, clock: { now: number }): RollingBriefings {
  return new RollingBriefings({
    repo: new RollingBriefingRepository(),
    segments: new SegmentRepository(),
    meetings: new MeetingRepository(),
    engine: async () => engine,
    logger: createLogger('rolling-push-test'),
    policy: EVERY_FINAL,
    now: () => clock.now,
  });
}

async function store(meetingId: string, seq: number): Promise<void> {
  await new SegmentRepository().putFinal(meetingId, segment(meetingId, seq));
}

let meetings = 0;
const meetingName = (what: string) => `push-${what}-${++meetings}`;

describe('the rolling briefing push', () => {
  it('spaces updates by the audience: audience / 20 seconds apart, at most a minute', async () => {
    // Prepare
    const clock = { now: Date.parse('2026-12-02T10:00:00Z') };
    const rolling = briefings(new ExtractiveEngine(), clock);
    const large = meetingName('large');
    const small = meetingName('small');

    // Act: finals of a 1,000-viewer meeting and of a 5-viewer meeting, at the same times
    const seen: Record<string, (number | undefined)[]> = { [large]: [], [small]: [] };
    for (const [seq, at] of [
      [1, 0],
      [2, 10_000],
      [3, 49_000],
      [4, 50_000],
    ] as const) {
      clock.now = Date.parse('2026-12-02T10:00:00Z') + at;
      for (const [meetingId, audience] of [
        [large, 1_000],
        [small, 5],
      ] as const) {
        await store(meetingId, seq);
        const update = await rolling.afterFinal(meetingId, seq, audience);
        seen[meetingId]?.push(update?.briefing.coversSeq);
      }
    }

    // Assess: the large meeting's second update waits 50 s and then covers everything since
    expect(pushSpacingMs(1_000)).toBe(50_000);
    expect(pushSpacingMs(10_000)).toBe(60_000);
    expect(seen[large]).toEqual([1, undefined, undefined, 4]);
    expect(seen[small]).toEqual([1, 2, 3, 4]);
    expect((await new RollingBriefingRepository().get(large))?.updates).toBe(2);
  });

  it('posts new items at once, a summary-only change at most once a minute, and announces what it held back', async () => {
    // Prepare
    const base: BriefContent = {
      summary: 'Planning.',
      keyPoints: [],
      decisions: [],
      actionItems: [],
      openQuestions: [],
      blockers: [],
      topics: ['planning'],
    };
    const model = new ScriptedModel(
      base,
      { ...base, summary: 'Planning the beta.', keyPoints: ['The beta slips a week.'] },
      {
        ...base,
        summary: 'Planning the beta.',
        keyPoints: ['The beta slips a week.'],
        decisions: ['Ship Monday.'],
      },
      {
        ...base,
        summary: 'Planning the beta launch.',
        keyPoints: ['The beta slips a week.'],
        decisions: ['Ship Monday.'],
      },
    );
    const clock = { now: Date.parse('2026-12-02T13:00:00Z') };
    const rolling = briefings(model, clock);
    const meetingId = meetingName('summary');
    const posted: (string[] | undefined)[] = [];

    // Act: finals 10 s apart, then one 61 s after the last post (a summary change only)
    for (const [seq, at] of [
      [1, 0],
      [2, 10_000],
      [3, 20_000],
      [4, 81_000],
    ] as const) {
      clock.now = Date.parse('2026-12-02T13:00:00Z') + at;
      await store(meetingId, seq);
      const update = await rolling.afterFinal(meetingId, seq, 5);
      posted.push(
        update && [`summary: ${update.added.summary}`, ...update.added.keyPoints, ...update.added.decisions],
      );
    }

    // Assess: the summary change held back, then announced with the decision that followed it
    expect(model.calls).toBe(4);
    expect(posted).toEqual([
      ['summary: Planning.'],
      undefined,
      ['summary: Planning the beta.', 'The beta slips a week.', 'Ship Monday.'],
      ['summary: Planning the beta launch.'],
    ]);
  });

  it('stores an update that changes nothing a viewer sees, without posting it', async () => {
    // Prepare
    const content: BriefContent = {
      summary: 'Release planning.',
      keyPoints: ['The beta ships on Monday.'],
      decisions: ['Ship the beta on Monday.'],
      actionItems: [{ text: 'Update the release notes', owner: 'Ben', due: 'Thursday' }],
      openQuestions: [],
      blockers: [],
      topics: ['release'],
    };
    const model = new ScriptedModel(content);
    const clock = { now: Date.parse('2026-12-02T11:00:00Z') };
    const rolling = briefings(model, clock);
    const meetingId = meetingName('same');

    // Act
    await store(meetingId, 1);
    const first = await rolling.afterFinal(meetingId, 1, 5);
    clock.now += 5_000;
    await store(meetingId, 2);
    const second = await rolling.afterFinal(meetingId, 2, 5);

    // Assess: both updates ran and were stored; only the first was posted
    expect(model.calls).toBe(2);
    expect(first?.briefing.decisions).toEqual(['Ship the beta on Monday.']); // whole (cap's limit bug)
    expect(second).toBeUndefined();
    const stored = await new RollingBriefingRepository().get(meetingId);
    expect(stored?.coversSeq).toBe(2);
    expect(stored?.updates).toBe(2);
  });

  it('posts the last stored update when the meeting ends, even one that was held back as unchanged', async () => {
    // Prepare: a meeting whose last update changed nothing visible, so was not posted
    const model = new ScriptedModel({
      summary: 'Hiring.',
      keyPoints: [],
      decisions: [],
      actionItems: [],
      openQuestions: ['Who interviews on Friday?'],
      blockers: [],
      topics: ['hiring'],
    });
    const clock = { now: Date.parse('2026-12-02T12:00:00Z') };
    const rolling = briefings(model, clock);
    const repo = new MeetingRepository();
    const meetingId = await liveMeeting('end');
    await store(meetingId, 1);
    expect(await rolling.afterFinal(meetingId, 1, 5)).toBeDefined();
    clock.now += 5_000;
    await store(meetingId, 2);
    expect(await rolling.afterFinal(meetingId, 2, 5)).toBeUndefined();
    await repo.advanceLastSeq(meetingId, 2, 12_000);

    // Act
    const last = await rolling.afterEnd(meetingId);

    // Assess: viewers end with the briefing of every final
    expect(last?.briefing.coversSeq).toBe(2);
    expect(last?.added.openQuestions).toEqual([]);
    expect(model.calls).toBe(2);
  });

  it('gives a viewer the stored briefing on get_state, newer than the last one pushed', async () => {
    // Prepare: a live meeting with one viewer, briefed after its first final
    const meetingId = await liveMeeting('push');
    const viewer = new RecordingClient(stack, 'owner', meetingId);
    await waitFor('the subscription', () => viewer.messages.some((m) => m.type === 'replay_complete'));
    await send(final(meetingId, 1));
    const pushed = await waitFor('the first briefing_update', () => updates(viewer).at(0));
    expect(pushed.briefing.coversSeq).toBe(1);
    // A later update stored without a push (as a spaced or unchanged one is).
    const repo = new RollingBriefingRepository();
    const stored = await repo.get(meetingId);
    if (!stored) throw new Error('no stored briefing');
    expect(await repo.put({ ...stored, coversSeq: 7, updates: stored.updates + 1 })).toBe(true);

    // Act
    viewer.client.send({ action: 'get_state', meetingId });

    // Assess: the state, then the stored briefing with nothing marked new
    const latest = await waitFor('the briefing after get_state', () =>
      updates(viewer).find((u) => u.briefing.coversSeq === 7),
    );
    expect(latest.added.keyPoints).toEqual([]);
    const types = viewer.messages.map((m) => m.type);
    expect(types.lastIndexOf('state')).toBe(types.lastIndexOf('briefing_update') - 1);
    viewer.close();
  });
});

describe('a large audience’s briefing update', () => {
  it('goes to every shard, 0 too, through the shard queue, and reaches the viewers', async () => {
    // Prepare: two real viewers and more subscriptions than the fan-out posts a briefing to inline
    const meetingId = await liveMeeting('large');
    const viewers = [
      new RecordingClient(stack, 'owner', meetingId),
      new RecordingClient(stack, 'owner', meetingId),
    ];
    for (const v of viewers) {
      await waitFor('a subscription', () => v.messages.some((m) => m.type === 'replay_complete'));
    }
    const audience = await subscribedSockets(meetingId, BRIEFING_INLINE_MAX);
    const dispatch = jest.spyOn(ShardDispatcher.prototype, 'dispatch');

    // Act
    await send(final(meetingId, 1));

    // Assess: the final inline, the briefing through the queue for shard 0, to both viewers
    for (const v of viewers) {
      await waitFor('the briefing_update', () => updates(v).find((u) => u.briefing.coversSeq === 1));
    }
    const shardsOfBriefing = dispatch.mock.calls
      .filter(([m, , messages]) => m === meetingId && messages.some((x) => x.type === 'briefing_update'))
      .map(([, shards]) => [...shards.keys()]);
    expect(shardsOfBriefing).toEqual([[0]]);
    await waitFor('every socket to get the briefing', () =>
      audience.every((a) => a.received.includes('briefing_update')),
    );
    dispatch.mockRestore();
    for (const v of viewers) v.close();
    for (const a of audience) a.socket.close();
  });
});

/** `n` plain WebSocket subscribers of a meeting (lighter than n reference clients). */
async function subscribedSockets(
  meetingId: string,
  n: number,
): Promise<{ socket: WebSocket; received: string[] }[]> {
  const token = await stack.issuer.mintToken('owner');
  return Promise.all(
    Array.from({ length: n }, async () => {
      const socket = new WebSocket(`${stack.urls.ws}?token=${encodeURIComponent(token)}`);
      const received: string[] = [];
      socket.on('message', (data) => received.push((JSON.parse(String(data)) as ServerMessage).type));
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ action: 'subscribe', meetingId }));
      await waitFor('a socket’s subscription', () => received.includes('replay_complete'));
      return { socket, received };
    }),
  );
}

type BriefingUpdate = Extract<ServerMessage, { type: 'briefing_update' }>;

const updates = (client: RecordingClient) =>
  client.messages.filter((m): m is BriefingUpdate => m.type === 'briefing_update');

function final(meetingId: string, seq: number): PipelineEvent {
  return { v: 1, type: 'transcript', meetingId, segment: segment(meetingId, seq) };
}

const send = (event: PipelineEvent) => sendPipelineEvent(sqs(), queueUrl('transcriptEvents'), event);

/** A live meeting owned by `owner`. */
async function liveMeeting(title: string): Promise<string> {
  const { meeting } = newMeetingRecord({
    ownerId: 'owner',
    title,
    meetingUrl: 'local://none',
    status: 'live',
  });
  await new MeetingRepository().create(meeting);
  return meeting.meetingId;
}
