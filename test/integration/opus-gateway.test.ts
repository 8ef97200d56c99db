/**
 * The audio gateway with DEEPGRAM_ENCODING=opus: Recall's JSON frames in over a real socket, Ogg
 * Opus out through the real @deepgram/sdk socket to the local speech server (which detects the
 * container as Deepgram does), finals back, and a dropped speech socket mid-meeting recovered
 * with a new Ogg stream that carries the audio not yet final again. DynamoDB is dynalite; the
 * pipeline events are collected where the gateway hands them to its publisher.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { AudioGateway } from '../../core/audio/audio-gateway';
import { createDeepgramConnector } from '../../core/audio/deepgram-connector';
import { BYTES_PER_MS } from '../../core/audio/pcm';
import { destroyClients } from '../../core/clients/lifecycle';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import type { PipelineEvent } from '../../core/pipeline/events';
import { wordErrorRate } from '../../core/wer';
import { createLocalClients, type RunningEmulators, startEmulators } from '../../local/aws-emulators';
import { parseWav } from '../../local/recall-simulator/fixture';
import { mixedAudioMessage } from '../../local/recall-simulator/messages';
import { type SpeechServer, startSpeechServer } from '../../local/speech-server';
import { SAMPLE_FIXTURE } from '../../local/stack';
import { FIXTURE, REFERENCE_TEXT, waitFor } from '../helpers/live';
import { meetingWithToken } from '../helpers/meetings';
import { recallContext } from '../helpers/recall';

const logger = createLogger('test');
const PCM = parseWav(readFileSync(SAMPLE_FIXTURE.wavPath));
const CTX = recallContext('opus');

describe('the audio gateway sending Ogg Opus to the speech service', () => {
  let emulators: RunningEmulators;
  let clients: ReturnType<typeof createLocalClients>;
  let speech: SpeechServer;
  let gateway: AudioGateway;
  let url: string;
  const events: PipelineEvent[] = [];
  /** The first bytes of every speech stream, by stream. */
  const streamStarts = new Map<number, Buffer>();

  beforeAll(async () => {
    emulators = await startEmulators({ logger });
    Object.assign(process.env, emulators.env);
    clients = createLocalClients(emulators.endpoints);
    speech = await startSpeechServer();
    speech.onAudio = ({ streamIndex, offset }, bytes) => {
      if (offset === 0) streamStarts.set(streamIndex, Buffer.from(bytes));
    };
    gateway = new AudioGateway({
      repo: new MeetingRepository(),
      connector: createDeepgramConnector({ apiKey: 'local-test-key', wsUrl: speech.wsUrl, encoding: 'opus' }),
      publish: (e) => events.push(e),
      flush: async () => undefined,
      logger,
      sttOptions: { reconnectDelayMs: 50 },
      // The test's Recall closes when the fixture has been sent: end the session soon after,
      // not after the production grace (100 s) for a Recall that might reconnect.
      reconnectGraceMs: 500,
    });
    ({ url } = await gateway.listen());
  }, 60_000);
  afterAll(async () => {
    await gateway?.kill();
    await speech?.stop();
    clients?.destroy();
    destroyClients();
    await emulators?.stop();
  });

  it('transcribes the meeting, across a dropped speech socket, from a fraction of the bytes', async () => {
    // Prepare
    const { meetingId, token } = await meetingWithToken('alice', 'opus');
    const recall = new WebSocket(`${url}/recall/${meetingId}?token=${encodeURIComponent(token)}`);
    await new Promise((resolve, reject) => {
      recall.once('open', resolve);
      recall.once('error', reject);
    });
    const bytesBefore = speech.stats().bytesReceived;

    // Act: the fixture as Recall sends it (20 ms frames), 10× real time; every speech socket
    // drops abruptly in the middle of the second utterance.
    const dropAtMs = 12_000;
    const started = performance.now();
    for (let t = 0; t < PCM.length / BYTES_PER_MS; t += 20) {
      if (t === dropAtMs) {
        await waitFor('a final before the drop', () => finals().length > 0, 60_000);
        speech.dropConnections();
      }
      const frame = PCM.subarray(t * BYTES_PER_MS, (t + 20) * BYTES_PER_MS);
      recall.send(JSON.stringify(mixedAudioMessage(CTX, t, frame)));
      const wait = (t + 20) / 10 - (performance.now() - started);
      if (wait > 2) await new Promise((r) => setTimeout(r, wait));
    }
    recall.close(1000);
    await waitFor('the session to end', () => gateway.session(meetingId) === undefined, 120_000);

    // Assess: a second Ogg stream began after the drop, each with its own headers.
    expect(streamStarts.size).toBeGreaterThanOrEqual(2);
    for (const start of streamStarts.values()) {
      expect(start.toString('ascii', 0, 4)).toBe('OggS');
      expect(start.includes(Buffer.from('OpusHead'))).toBe(true);
    }
    // Opus at 16 kb/s with its pages: well under a sixth of the PCM, resend included.
    expect(speech.stats().bytesReceived - bytesBefore).toBeLessThan(PCM.length / 6);
    // The words came back, and no scripted utterance is missing (the drop lost nothing).
    const text = finals().map((f) => f.text);
    expect(wordErrorRate(REFERENCE_TEXT, text.join(' ')).wer).toBeLessThanOrEqual(0.4);
    for (const s of FIXTURE.segments) {
      expect(finals().some((f) => f.startMs < s.endMs && f.endMs > s.startMs)).toBe(true);
    }
  }, 180_000);

  function finals(): { text: string; startMs: number; endMs: number }[] {
    return events.flatMap((e) => (e.type === 'transcript' && e.segment.isFinal ? [e.segment] : []));
  }
});
