/** Helpers for tests that play Recall against the audio gateway. */
import WebSocket from 'ws';
import type { MessageContext } from '../../local/recall-simulator/messages';
import type { LocalStack } from '../../local/stack';

/** A Recall message context whose ids all end in `-${tag}` (`bot-${tag}`, `rec-${tag}`, …). */
export function recallContext(tag: string): MessageContext {
  return {
    botId: `bot-${tag}`,
    botMetadata: {},
    recordingId: `rec-${tag}`,
    realtimeEndpointId: `re-${tag}`,
    audioMixedId: `am-${tag}`,
    audioSeparateId: `as-${tag}`,
    participantEventsId: `pe-${tag}`,
    meetingStartEpochMs: Date.now(),
  };
}

/** Opens the audio gateway's Recall socket for a meeting, as Recall would; rejects on an HTTP refusal. */
export function connectAsRecall(stack: LocalStack, meetingId: string, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      `${stack.urls.audioGateway}/recall/${meetingId}?token=${encodeURIComponent(token)}`,
    );
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}
