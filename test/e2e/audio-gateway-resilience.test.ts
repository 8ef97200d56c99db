/**
 * The audio gateway under failure, on the local stack: Recall reconnects, a crashed gateway
 * task, malformed Recall frames, and pausing at the gateway. (A speech socket dropped mid-meeting:
 * test/e2e/gateway-fault-matrix.test.ts, which plays that meeting at the same 3× with the same
 * checks.)
 */

import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { BYTES_PER_MS } from '../../core/audio/pcm';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { wordErrorRate } from '../../core/wer';
import { parseWav } from '../../local/recall-simulator/fixture';
import { mixedAudioMessage } from '../../local/recall-simulator/messages';
import { startSampleMeeting } from '../../local/sample-meeting';
import { type LocalStack, SAMPLE_FIXTURE, startLocalStack } from '../../local/stack';
import { FAST_MEETING_STACK, FIXTURE, RecordingClient, storedSeqs, waitFor } from '../helpers/live';
import { meetingWithToken } from '../helpers/meetings';
import { connectAsRecall, recallContext } from '../helpers/recall';

const logger = createLogger('e2e');
const PCM = parseWav(readFileSync(SAMPLE_FIXTURE.wavPath));

const CTX = recallContext('test');

/** Sends fixture audio [fromMs, toMs) as 20 ms frames, paced at `speed`× real time. */
async function sendAudio(ws: WebSocket, fromMs: number, toMs: number, speed = 8): Promise<void> {
  const started = performance.now();
  for (let t = fromMs; t < toMs; t += 20) {
    const pcm = PCM.subarray(t * BYTES_PER_MS, (t + 20) * BYTES_PER_MS);
    ws.send(JSON.stringify(mixedAudioMessage(CTX, t, pcm)));
    const due = (t + 20 - fromMs) / speed;
    const wait = due - (performance.now() - started);
    if (wait > 2) await new Promise((r) => setTimeout(r, wait));
  }
}

describe('the audio gateway under failure', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack(FAST_MEETING_STACK);
  });
  // Every step of the stack's stop is bounded (a stuck one is logged by name, local/stack.ts).
  afterAll(() => stack?.stop(), 120_000);

  it('continues one meeting across a Recall reconnect and a crashed gateway task, with no duplicate final', async () => {
    const meeting = await startSampleMeeting(stack, logger);
    const client = new RecordingClient(stack, 'alice', meeting.meetingId);
    // Faults at points of the meeting (not after N finals: a loaded engine may lag the bot).
    const position = () => stack.recall.bot(meeting.botId!)!.positionMs;
    await waitFor('meeting time 5 s', () => position() > 5_000, 60_000);
    expect(stack.recall.dropConnection(meeting.botId!)).toBe(true);
    await waitFor('meeting time 15 s', () => position() > 15_000, 60_000);
    await stack.restartAudioGateway();
    await client.waitForStatus('ended');
    const bot = stack.recall.bot(meeting.botId!)!;
    expect(bot.endpoints[0]!.connections).toBeGreaterThanOrEqual(3);
    const seqs = client.finals.map((f) => f.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    const stored = await storedSeqs(meeting.meetingId);
    expect(new Set(stored).size).toBe(stored.length);
    expect(stored.sort((a, b) => a - b)).toEqual(seqs);
    client.close();
  }, 240_000);

  it('rejects 1,000 malformed Recall frames one by one and still transcribes the audio after them', async () => {
    const { meetingId, token } = await meetingWithToken();
    const client = new RecordingClient(stack, 'alice', meetingId);
    const ws = await connectAsRecall(stack, meetingId, token);
    const before = { ...stack.audio.gateway.stats.rejectedFrames };
    const good = mixedAudioMessage(CTX, 0, PCM.subarray(0, 640));
    const kinds: (() => string | Buffer)[] = [
      () => '{not json',
      () => JSON.stringify({ ...good, event: 'audio_mixed_raw.nonsense' }),
      () => JSON.stringify({ event: 'audio_mixed_raw.data', data: { data: { buffer: 'AAA' } } }),
      () =>
        JSON.stringify({
          ...good,
          data: { ...good.data, data: { ...good.data.data, buffer: '!!!not-base64!!!' } },
        }),
      () =>
        JSON.stringify({
          ...good,
          data: { ...good.data, data: { ...good.data.data, buffer: Buffer.alloc(3).toString('base64') } },
        }),
      () =>
        JSON.stringify({
          ...good,
          data: {
            ...good.data,
            data: { ...good.data.data, buffer: Buffer.alloc(64_000).toString('base64') },
          },
        }),
      () => `"${'x'.repeat(140_000)}"`,
      () => 'null',
      () => JSON.stringify({ event: 'transcript.data', data: {} }),
      () => Buffer.from([1, 2, 3, 4]),
    ];
    for (let i = 0; i < 1_000; i++) ws.send((kinds[i % kinds.length] as () => string | Buffer)());
    await waitFor('1,000 rejections', () => {
      const after = stack.audio.gateway.stats.rejectedFrames;
      const total = Object.entries(after).reduce((n, [k, v]) => n + v - (before[k] ?? 0), 0);
      return total >= 1_000 ? total : undefined;
    });
    const reasons = Object.keys(stack.audio.gateway.stats.rejectedFrames);
    for (const reason of [
      'bad_json',
      'unknown_event',
      'invalid_shape',
      'bad_base64',
      'odd_length_pcm',
      'oversize',
      'message_too_large',
      'binary_frame',
    ]) {
      expect(reasons).toContain(reason);
    }
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // Well-formed audio after the garbage: the first scripted utterance.
    const first = FIXTURE.segments[0]!;
    await sendAudio(ws, 0, first.endMs + 1_000);
    ws.close(1000);
    await client.waitForFinals(1);
    await waitFor('the utterance to be final', () =>
      wordErrorRate(first.text, client.finals.map((f) => f.text).join(' ')).wer <= 0.5 ? true : undefined,
    );
    client.close();
  });

  it('sends no audio to the speech server while the meeting is paused (checked at the server)', async () => {
    const { meetingId, token } = await meetingWithToken();
    const ws = await connectAsRecall(stack, meetingId, token);
    let bytesAtServer = 0;
    let framesAtServer = 0;
    stack.speech.onAudio = (_info, frame) => {
      bytesAtServer += frame.length;
      framesAtServer++;
    };
    await sendAudio(ws, 0, 2_000, 4);
    // A message per 20 ms Recall frame with PCM or μ-law, an Ogg page per two Opus packets (40 ms)
    // with Opus, while the bytes a ms depend on the encoding (Opus's vary with the sound).
    await waitFor('audio at the speech server', () => framesAtServer >= 1_500 / 40);
    // Pause only in Parley's store (as if the bot ignored Recall's pause): the gateway must gate it.
    await new MeetingRepository().appendCommand(meetingId, 'pause');
    await waitFor(
      'the session to pause',
      () => stack.audio.gateway.session(meetingId)?.currentState === 'paused',
      2_000,
    );
    const session = stack.audio.gateway.session(meetingId)!;
    const sentAtPause = session.sttStats.bytesSent;
    const pausedBefore = session.stats.pausedFrames;
    // The last frame forwarded before the pause may still be on its way to the server: count the
    // server's bytes once the gateway has held back a second of paused audio after it.
    await sendAudio(ws, 2_000, 3_000, 8);
    await waitFor('paused frames counted', () => session.stats.pausedFrames - pausedBefore >= 50);
    const atPause = bytesAtServer;
    await sendAudio(ws, 3_000, 6_000, 8);
    await waitFor('paused frames counted', () => session.stats.pausedFrames - pausedBefore >= 200);
    expect(session.sttStats.bytesSent).toBe(sentAtPause);
    expect(bytesAtServer).toBe(atPause);
    await new MeetingRepository().appendCommand(meetingId, 'run');
    await waitFor('the session to resume', () => session.currentState === 'live', 2_000);
    await sendAudio(ws, 6_000, 7_000, 8);
    await waitFor('audio after resume', () => bytesAtServer > atPause);
    stack.speech.onAudio = undefined;
    ws.close(1000);
  });

  it('rejects and counts frames with a 1e13, a 1e9 or a far-ahead timestamp mid-meeting, and stores later finals with sane times', async () => {
    const { meetingId, token } = await meetingWithToken();
    const client = new RecordingClient(stack, 'alice', meetingId);
    const ws = await connectAsRecall(stack, meetingId, token);
    const stats = stack.audio.gateway.stats.rejectedFrames;
    const before = { bad: stats.bad_timestamp ?? 0, jump: stats.timestamp_jump ?? 0 };
    const first = FIXTURE.segments[0]!;
    const second = FIXTURE.segments[1]!;
    await sendAudio(ws, 0, 3_000);
    const frameAt = (relativeSeconds: number) => {
      const message = mixedAudioMessage(CTX, 3_000, PCM.subarray(3_000 * BYTES_PER_MS, 3_020 * BYTES_PER_MS));
      message.data.data.timestamp.relative = relativeSeconds;
      return JSON.stringify(message);
    };
    ws.send(frameAt(1e13));
    ws.send(frameAt(1e9));
    ws.send(frameAt(40_000)); // inside the bound, but 11 hours ahead of the stream's own clock
    await sendAudio(ws, 3_020, second.endMs + 1_000);
    ws.close(1000);
    await waitFor('the rejections to be counted', () =>
      (stats.bad_timestamp ?? 0) - before.bad >= 2 && (stats.timestamp_jump ?? 0) - before.jump >= 1
        ? true
        : undefined,
    );
    await client.waitForStatus('ended');
    const stored = await storedSeqs(meetingId);
    expect(stored.length).toBe(client.finals.length);
    const last = client.finals[client.finals.length - 1]!;
    // Finals after the bad frames carry meeting times that follow the audio, not the bad frames.
    expect(last.endMs).toBeGreaterThan(first.endMs);
    expect(last.endMs).toBeLessThan(second.endMs + 2_000);
    for (const f of client.finals) expect(f.startMs).toBeLessThanOrEqual(f.endMs);
    expect(
      wordErrorRate(`${first.text} ${second.text}`, client.finals.map((f) => f.text).join(' ')).wer,
    ).toBeLessThanOrEqual(0.5);
    client.close();
  });

  it('applies a pause and a resume given within one poll, in order, and acknowledges both', async () => {
    const { meetingId, token } = await meetingWithToken();
    const ws = await connectAsRecall(stack, meetingId, token);
    await sendAudio(ws, 0, 1_000, 4);
    const session = await waitFor('the session', () => stack.audio.gateway.session(meetingId));
    const repo = new MeetingRepository();
    // Both written back to back: a sampled desired state would read `run` and never pause.
    await repo.appendCommand(meetingId, 'pause');
    await repo.appendCommand(meetingId, 'run');
    await waitFor(
      'the session to apply both',
      () => (session.appliedCommands === 2 ? true : undefined),
      10_000,
    );
    expect(session.stats.pauses).toBe(1);
    expect(session.stats.resumes).toBe(1);
    expect(session.currentState).toBe('live');
    let acked = 0;
    for (let i = 0; i < 100 && acked < 2; i++) {
      acked = (await repo.get(meetingId))?.commandsApplied ?? 0;
      if (acked < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(acked).toBe(2);
    // Audio after the resume reaches the speech engine.
    const forwarded = session.stats.audioFrames;
    await sendAudio(ws, 1_000, 1_500, 4);
    await waitFor('audio after the resume', () => session.stats.audioFrames > forwarded);
    ws.close(1000);
  });

  it('refuses a wrong token or an unknown meeting at the upgrade', async () => {
    const { meetingId } = await meetingWithToken();
    await expect(connectAsRecall(stack, meetingId, 'wrong-token')).rejects.toThrow('HTTP 401');
    await expect(connectAsRecall(stack, 'no-such-meeting', 'x')).rejects.toThrow('HTTP 404');
  });
});
