/**
 * Keyword alert latency: from the end of the keyword in the audio to the alert at the client,
 * for provisional alerts (raised from the first interim that shows the keyword) and, in the same
 * run, for the final that confirms the same occurrence (what final-only alerts would give).
 *
 *   npx tsx bench/keyword-alerts.ts [--fixtures standup-meeting,sprint-planning]
 *                                   [--interim-ms 1000,250]
 *
 * Each `--interim-ms` value is one pass with its own stack whose local speech engine emits an
 * interim every that many ms of audio (1,000 is local mode's default).
 *
 * Harness (loopback, real parts): the whole local stack at real time (Recall simulator →
 * audio gateway → local speech server (PocketSphinx) → SQS → fan-out → API Gateway emulator →
 * reference client). Each fixture is one meeting with the fixture's keywords.
 * - Keyword end in the audio: a first pass streams the WAV through the same speech server and
 *   takes each keyword's last word's `end` from the engine's final words (the engine's own
 *   alignment). In the live meeting, audio at meeting ms X is played at T0 + X, with T0 the
 *   simulator's meeting start (sampled every 5 ms from the bot's position).
 * - Alert at the client: Date.now() when the reference client receives the message (same clock).
 * - A live occurrence is matched to the first pass by keyword, occurrence order and time (its
 *   final's span ± 1 s); unmatched ones are counted, not measured.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DeepgramClient } from '@deepgram/sdk';
import WebSocket from 'ws';
import { createLogger } from '../core/logger';
import { MeetingRepository } from '../core/meetings/repository';
import { ParleyClient } from '../core/realtime/client';
import { occurrences, tokenize } from '../core/realtime/keywords';
import type { ServerMessage } from '../core/realtime/protocol';
import { parseWavHeader } from '../local/speech-server/audio-input';
import { startLocalStack } from '../local/stack';

type Alert = Extract<ServerMessage, { type: 'keyword_alert' }>;
type Transcript = Extract<ServerMessage, { type: 'transcript' }>['transcript'];

const FIXTURE_DIR = path.join(__dirname, '../fixtures');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};

/** Word end times (ms) of each word in the engine's finals, in order. */
async function engineWords(
  speechUrl: string,
  speechWsUrl: string,
  wav: string,
): Promise<{ word: string; endMs: number }[]> {
  const bytes = readFileSync(wav);
  const header = parseWavHeader(bytes);
  if (header.status !== 'ok') throw new Error(`${wav} is not a PCM WAV file`);
  const pcm = bytes.subarray(header.dataOffset);
  const client = new DeepgramClient({
    apiKey: 'local-bench-key',
    environment: { base: speechUrl, production: speechWsUrl, agent: speechWsUrl, agentRest: speechUrl },
  });
  const socket = await client.listen.v1.connect({
    model: 'nova-3',
    encoding: 'linear16',
    sample_rate: 16000,
    channels: 1,
    interim_results: 'true',
    endpointing: 300,
    reconnectAttempts: 0,
  });
  const words: { word: string; endMs: number }[] = [];
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('message', (message) => {
    const m = message as unknown as {
      type: string;
      is_final?: boolean;
      channel: { alternatives: { words?: { word: string; end: number }[] }[] };
    };
    if (m.type !== 'Results' || !m.is_final) return;
    for (const w of m.channel.alternatives[0]?.words ?? []) {
      for (const t of tokenize(w.word)) words.push({ word: t, endMs: Math.round(w.end * 1000) });
    }
  });
  socket.on('error', () => {});
  socket.connect();
  await socket.waitForOpen();
  for (let offset = 0; offset < pcm.length; offset += 3_200) {
    socket.sendMedia(pcm.subarray(offset, offset + 3_200));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  socket.sendCloseStream({ type: 'CloseStream' });
  await closed;
  return words;
}

const quantile = (values: number[], q: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number);
};

async function main(): Promise<void> {
  const fixtures = arg('fixtures', 'standup-meeting,sprint-planning').split(',');
  for (const interimMs of arg('interim-ms', '1000,250').split(',').map(Number)) {
    await pass(fixtures, interimMs);
  }
}

async function pass(fixtures: string[], interimMs: number): Promise<void> {
  const logger = createLogger('bench');
  const stack = await startLocalStack({ speed: 1, logLevel: 'ERROR', speechInterimIntervalMs: interimMs });
  const provisional: number[] = [];
  const finalOnly: number[] = [];
  const gain: number[] = [];
  let unmatched = 0;
  let withdrawn = 0;
  let survivingFalse = 0;
  let confirmedWithoutProvisional = 0;
  try {
    for (const name of fixtures) {
      const script = JSON.parse(readFileSync(path.join(FIXTURE_DIR, `${name}.json`), 'utf8')) as {
        keywords: string[];
      };
      const keywords = script.keywords;
      const wav = path.join(FIXTURE_DIR, `${name}.wav`);
      const words = await engineWords(stack.speech.url, stack.speech.wsUrl, wav);

      const token = await stack.issuer.mintToken('alice');
      const created = await fetch(`${stack.urls.rest}/meetings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ meetingUrl: `local://recordings/${name}.wav`, title: name, keywords }),
      });
      const { meetingId } = (await created.json()) as { meetingId: string };
      const botId = (await new MeetingRepository().get(meetingId))?.botId as string;

      const client = new ParleyClient({
        url: stack.urls.ws,
        token: () => stack.issuer.mintToken('alice'),
        WebSocketImpl: WebSocket as never,
      });
      const alerts: { alert: Alert; at: number }[] = [];
      const finals: Transcript[] = [];
      let ended = false;
      client.on('keyword_alert', (alert) => alerts.push({ alert, at: Date.now() }));
      client.on('final', ({ segment }) => finals.push(segment));
      client.on('status', ({ status }) => {
        if (status === 'ended' || status === 'failed') ended = true;
      });
      client.subscribe(meetingId);
      client.connect();
      // T0: the wall time the simulator's meeting clock started.
      let t0 = Number.POSITIVE_INFINITY;
      while (!ended) {
        const position = stack.recall.bot(botId)?.positionMs ?? 0;
        if (position > 0) t0 = Math.min(t0, Date.now() - position);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      client.close();

      const finalOf = new Map(finals.map((f) => [f.seq, f]));
      const byId = new Map<string, { alert: Alert; at: number }[]>();
      for (const a of alerts) byId.set(a.alert.alertId, [...(byId.get(a.alert.alertId) ?? []), a]);
      for (const states of byId.values()) {
        const first = states[0] as { alert: Alert; at: number };
        const last = states.at(-1) as { alert: Alert; at: number };
        const final = finalOf.get(first.alert.seq);
        if (last.alert.state === 'withdrawn') {
          withdrawn++;
          continue;
        }
        const inFinal = final
          ? occurrences(final.text, keywords).some(
              (o) => o.keyword === last.alert.keyword && o.occurrence === last.alert.occurrence,
            )
          : false;
        if (!inFinal) survivingFalse++;
        if (!final || last.alert.state !== 'confirmed') continue;
        // The keyword's last word, in the engine's own alignment, within the final's span.
        const lastWord = tokenize(last.alert.keyword).at(-1) as string;
        const candidates = words.filter(
          (w) => w.word === lastWord && w.endMs >= final.startMs - 1_000 && w.endMs <= final.endMs + 1_000,
        );
        const match = candidates[last.alert.occurrence];
        if (!match) {
          unmatched++;
          continue;
        }
        const spokenAt = t0 + match.endMs;
        finalOnly.push(last.at - spokenAt);
        if (first.alert.state === 'provisional') {
          provisional.push(first.at - spokenAt);
          gain.push(last.at - first.at);
        } else {
          confirmedWithoutProvisional++;
          provisional.push(last.at - spokenAt); // the final was its first alert
        }
      }
      logger.info('fixture done', { name, alerts: alerts.length });
    }
  } finally {
    await stack.stop();
  }
  const row = (label: string, v: number[]) =>
    `| ${label} | ${v.length} | ${quantile(v, 0.5)} | ${quantile(v, 0.9)} | ${Math.max(...v)} |`;
  console.log(
    `\nKeyword alert latency, keyword end in the audio → alert at the client (ms); local speech interim every ${interimMs} ms; fixtures: ${fixtures.join(', ')}\n`,
  );
  console.log('| alerts | occurrences | median | p90 | max |');
  console.log('|---|---:|---:|---:|---:|');
  console.log(
    row('first alert (provisional from an interim, or the final when no interim showed it)', provisional),
  );
  console.log(row('final-only (the confirming final, same occurrences, same run)', finalOnly));
  console.log(row('head start of the provisional alert over its final', gain));
  console.log(
    `\nconfirmed without a provisional: ${confirmedWithoutProvisional}; withdrawn: ${withdrawn}; ` +
      `false alerts surviving their final: ${survivingFalse}; unmatched to the engine's words: ${unmatched}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
