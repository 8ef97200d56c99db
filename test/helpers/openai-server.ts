/**
 * A small local HTTP server that speaks the parts of OpenAI's REST API Parley calls, so the real
 * `openai` client can be tested end to end:
 * - `POST /v1/chat/completions` → a `chat.completion` object whose message content is JSON for
 *   the requested `response_format.json_schema` (`meeting_brief`, `meeting_answer`);
 * - `POST /v1/audio/speech` → MP3 bytes (MPEG-1 Layer III frames of silence).
 * Every request is recorded; `queueChat` makes the next completions answer something else
 * (malformed content, an HTTP error) to test how Parley copes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export type ChatOverride =
  | { content: string; finishReason?: string }
  | { refusal: string }
  | { status: number; error: { message: string; type: string; code?: string } };

export interface FakeOpenAi {
  /** Base URL for the client (`…/v1`). */
  baseUrl: string;
  apiKey: string;
  requests: RecordedRequest[];
  /** The MP3 every speech request returns. */
  mp3: Buffer;
  chatRequests(): RecordedRequest[];
  /** The next chat completions answer these, in order, instead of the default. */
  queueChat(...overrides: ChatOverride[]): void;
  reset(): void;
  stop(): Promise<void>;
}

/**
 * `frames` MPEG-1 Layer III frames: 64 kbit/s, 48 kHz, mono, no CRC, no padding — 192 bytes each
 * (144 × 64,000 / 48,000), 24 ms each, with zeroed side information and main data (silence).
 */
export function mp3Frames(frames: number): Buffer {
  const FRAME_BYTES = 192;
  const out = Buffer.alloc(frames * FRAME_BYTES);
  for (let i = 0; i < frames; i++) {
    // 11 sync bits, MPEG-1 (11), Layer III (01), no CRC (1) | bitrate 0101 = 64k, 48 kHz (01), no padding | mono (11)
    out.set([0xff, 0xfb, 0x54, 0xc4], i * FRAME_BYTES);
  }
  return out;
}

/** Transcript seqs (`[#12 …]`) found in a prompt. */
export function seqsIn(text: string): number[] {
  return [...text.matchAll(/\[#(\d+) /g)].map((m) => Number(m[1]));
}

function userText(body: Record<string, unknown>): string {
  const messages = (body.messages as { role: string; content: string }[] | undefined) ?? [];
  return messages
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .join('\n');
}

/** What a well-behaved model would answer for each schema Parley uses. */
function defaultContent(body: Record<string, unknown>): string {
  const format = body.response_format as { json_schema?: { name?: string } } | undefined;
  const text = userText(body);
  const seqs = seqsIn(text);
  switch (format?.json_schema?.name) {
    case 'meeting_brief': {
      const merging = text.includes('Partial briefings');
      return JSON.stringify({
        summary: merging
          ? `Merged ${text.split('\n').filter((l) => l.startsWith('{')).length} partial briefings.`
          : `The team talked through lines ${seqs[0]} to ${seqs.at(-1)}.`,
        keyPoints: merging ? ['Merged point'] : seqs.slice(0, 2).map((s) => `Point from line ${s}`),
        decisions: ['We agreed to ship on Friday.'],
        actionItems: [
          { text: 'Send the notes', owner: 'Alice', due: 'Friday' },
          { text: 'Book a room', owner: null, due: null },
        ],
        openQuestions: ['Who owns the budget?'],
        blockers: ['Bob: waiting for the vendor'],
        topics: ['launch date', 'budget'],
      });
    }
    case 'meeting_answer':
      return JSON.stringify({
        answer: `According to the transcript, Bob said he would handle it (lines ${seqs.slice(0, 2).join(', ')}).`,
        // 9999 is not in the transcript: Parley must drop invented citations.
        citations: [...seqs.slice(0, 2), 9999],
      });
    default:
      return JSON.stringify({ note: 'unknown schema' });
  }
}

function completion(model: string, message: Record<string, unknown>, finishReason = 'stop') {
  return {
    id: `chatcmpl-${Math.random().toString(36).slice(2)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      { index: 0, message: { role: 'assistant', ...message }, logprobs: null, finish_reason: finishReason },
    ],
    usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
  };
}

export async function startFakeOpenAi(options: { apiKey?: string } = {}): Promise<FakeOpenAi> {
  const apiKey = options.apiKey ?? 'sk-test-parley';
  const requests: RecordedRequest[] = [];
  const overrides: ChatOverride[] = [];
  const mp3 = mp3Frames(10);

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      send(res, 400, {
        error: {
          message: 'We could not parse the JSON body of your request.',
          type: 'invalid_request_error',
        },
      });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });

    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      send(res, 401, {
        error: {
          message: 'Incorrect API key provided.',
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      });
      return;
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      const model = String(body.model ?? 'unknown');
      const override = overrides.shift();
      if (override && 'status' in override) {
        send(res, override.status, { error: override.error });
      } else if (override && 'refusal' in override) {
        send(res, 200, completion(model, { content: null, refusal: override.refusal }));
      } else if (override) {
        send(
          res,
          200,
          completion(model, { content: override.content, refusal: null }, override.finishReason),
        );
      } else {
        send(res, 200, completion(model, { content: defaultContent(body), refusal: null }));
      }
      return;
    }
    if (req.method === 'POST' && path === '/v1/audio/speech') {
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': mp3.length });
      res.end(mp3);
      return;
    }
    send(res, 404, { error: { message: `Unknown path ${path}`, type: 'invalid_request_error' } });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    mp3,
    chatRequests: () => requests.filter((r) => r.path === '/v1/chat/completions'),
    queueChat: (...more) => overrides.push(...more),
    reset: () => {
      requests.length = 0;
      overrides.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
