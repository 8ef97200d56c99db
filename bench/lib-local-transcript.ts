/**
 * The local speech engine's own transcript of a fixture: the WAV streamed to the local
 * Deepgram-compatible server (PocketSphinx) with the real @deepgram/sdk client, as the audio
 * gateway streams it, each final becoming one transcript line whose speaker is whoever held
 * the floor in the fixture's script (as the gateway's FloorTracker decides from Recall's
 * participant events).
 */
import { readFileSync } from 'node:fs';
import { DeepgramClient } from '@deepgram/sdk';
import { FloorTracker } from '../core/audio/floor-tracker';
import type { TranscriptLine } from '../core/briefing/model';
import type { SpeechServer } from '../local/speech-server';
import { parseWavHeader } from '../local/speech-server/audio-input';

export interface ScriptSegment {
  speaker: string;
  participantId: number;
  startMs: number;
  endMs: number;
  text: string;
}

const BYTES_PER_100_MS = 3_200;

/** Streams `wavPath` at `speed`× real time and returns the finals as transcript lines. */
export async function localTranscript(
  server: SpeechServer,
  wavPath: string,
  script: readonly ScriptSegment[],
  speed = 8,
): Promise<TranscriptLine[]> {
  const wav = readFileSync(wavPath);
  const header = parseWavHeader(wav);
  if (header.status !== 'ok') throw new Error(`${wavPath} is not a PCM WAV file`);
  const pcm = wav.subarray(header.dataOffset);

  const floor = new FloorTracker();
  for (const s of script) {
    floor.join(s.participantId, s.speaker);
    floor.speechOn(s.participantId, s.startMs);
    floor.speechOff(s.participantId, s.endMs);
  }

  const client = new DeepgramClient({
    apiKey: 'local-bench-key',
    environment: { base: server.url, production: server.wsUrl, agent: server.wsUrl, agentRest: server.url },
  });
  const socket = await client.listen.v1.connect({
    model: 'nova-3',
    encoding: 'linear16',
    sample_rate: 16000,
    channels: 1,
    interim_results: 'true',
    punctuate: 'true',
    smart_format: 'true',
    endpointing: 300,
    utterance_end_ms: 1000,
    reconnectAttempts: 0,
  });
  const lines: TranscriptLine[] = [];
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('message', (message) => {
    const m = message as unknown as {
      type: string;
      is_final?: boolean;
      start: number;
      duration: number;
      channel: { alternatives: { transcript: string }[] };
    };
    if (m.type !== 'Results' || !m.is_final) return;
    const text = m.channel.alternatives[0]?.transcript.trim() ?? '';
    if (text === '') return;
    const startMs = Math.round(m.start * 1000);
    const endMs = Math.round((m.start + m.duration) * 1000);
    lines.push({
      seq: lines.length + 1,
      speaker: floor.speakerFor(startMs, endMs) ?? 'Unknown speaker',
      text,
      startMs,
      endMs,
    });
  });
  socket.on('error', () => {});
  socket.connect();
  await socket.waitForOpen();
  for (let offset = 0; offset < pcm.length; offset += BYTES_PER_100_MS) {
    socket.sendMedia(pcm.subarray(offset, offset + BYTES_PER_100_MS));
    await new Promise((resolve) => setTimeout(resolve, 100 / speed));
  }
  socket.sendCloseStream({ type: 'CloseStream' });
  await closed;
  return lines;
}
