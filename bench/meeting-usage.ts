/**
 * What one meeting-hour uses, measured on the local stack: the usage input of bench/cost.ts.
 *
 *   npx tsx bench/meeting-usage.ts [--fixtures meeting-librivox,standup-meeting] [--viewers 5]
 *                                  [--write]   # writes bench/usage/meeting-hour.json
 *                                  [--trace <file>]   # every DynamoDB request, one JSON line each
 *                                  [--frames <file>]  # every frame viewer 0 got, one JSON line each
 *
 * Harness (loopback, real parts, real time): the whole local stack — Recall simulator → audio
 * gateway → local speech server (PocketSphinx, an interim every second of speech, as Deepgram's
 * cadence is modelled) → SQS FIFO → fan-out handler → API Gateway emulator → viewers. Each
 * fixture is one meeting with its own keywords (the sample meeting's for meeting-librivox),
 * played one after another; each has `--viewers` viewers that subscribe the ordinary way
 * (legacy frames) and as many that subscribe with `batch: true` (docs/protocol.md "Batched
 * frames"): the same meeting, the same events, so the two frame counts are a same-run A/B.
 *
 * What is counted (in-process, from the HTTP servers' diagnostics channel, so no client code is
 * wrapped): every DynamoDB request by table and operation with its write units (item sizes as
 * DynamoDB sizes them) and read units (response bytes / 4 KB, ½ for eventually consistent reads:
 * an upper bound), every SQS request by queue and action, and every frame each viewer receives,
 * by message type, with its bytes (API Gateway bills one message per 32 KB of a frame).
 *
 * A meeting's counts are split into its live window (from the first transcript frame to the
 * `ended` status) and its end (what follows, until the stack is quiet): the live window scales
 * to an hour, the end is added once per meeting.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import WebSocket from 'ws';
import { dynamo } from '../core/clients/dynamodb';
import { loadAudioGatewayConfig, tableName } from '../core/config';
import { interimWindowMs } from '../core/pipeline/interim-coalescer';
import { SAMPLE_KEYWORDS } from '../local/sample-meeting';
import { FIXTURE_DIR, startLocalStack } from '../local/stack';
import type { MeasuredCounts, MeasuredUsage } from './cost';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};

export const USAGE_FILE = path.join(__dirname, 'usage', 'meeting-hour.json');

/** API Gateway bills a WebSocket message per 32 KB of a frame. */
const WS_BILLING_BYTES = 32 * 1024;

// ---- DynamoDB units ----------------------------------------------------------------------------

type AttributeValue = Record<string, unknown>;

/** An attribute value's size as DynamoDB counts it (docs: "Item sizes and formats"). */
export function attributeValueBytes(v: AttributeValue): number {
  const [type, value] = Object.entries(v)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return Buffer.byteLength(String(value));
    case 'N': {
      const digits = String(value)
        .replace(/[^0-9]/g, '')
        .replace(/^0+/, '').length;
      return Math.ceil(digits / 2) + 1;
    }
    case 'B':
      return Buffer.from(String(value), 'base64').length;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (value as string[]).reduce((n, s) => n + Buffer.byteLength(s), 0);
    case 'NS':
      return (value as string[]).reduce((n, s) => n + attributeValueBytes({ N: s }), 0);
    case 'L':
      return 3 + (value as AttributeValue[]).reduce((n, e) => n + 1 + attributeValueBytes(e), 0);
    case 'M':
      return 3 + itemBytes(value as Record<string, AttributeValue>) + Object.keys(value as object).length;
    default:
      return 0;
  }
}

export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce(
    (n, [name, v]) => n + Buffer.byteLength(name) + attributeValueBytes(v),
    0,
  );
}

/** Write units of one DynamoDB write request (an update is priced as a 1 KB item: see below). */
export function writeUnits(operation: string, body: Record<string, unknown>): number {
  const wcu = (item: Record<string, AttributeValue>) => Math.max(1, Math.ceil(itemBytes(item) / 1024));
  switch (operation) {
    case 'PutItem':
      return wcu(body.Item as Record<string, AttributeValue>);
    case 'UpdateItem':
    case 'DeleteItem':
      return 1;
    case 'BatchWriteItem': {
      const tables = body.RequestItems as Record<
        string,
        { PutRequest?: { Item: never }; DeleteRequest?: unknown }[]
      >;
      let units = 0;
      for (const requests of Object.values(tables)) {
        for (const r of requests) units += r.PutRequest ? wcu(r.PutRequest.Item) : 1;
      }
      return units;
    }
    default:
      return 0;
  }
}

// ---- counters ----------------------------------------------------------------------------------

interface RequestRecord {
  at: number;
  service: 'dynamodb' | 'sqs' | 'management';
  /** Operation (PutItem, SendMessageBatch, POST …). */
  op: string;
  /** Table or queue name. */
  target: string;
  wru: number;
  rru: number;
  /** Messages a SendMessageBatch carried. */
  entries: number;
  /** DynamoDB only, for `--trace`: the request's expressions (what the call is for). */
  detail?: string;
}

interface FrameRecord {
  at: number;
  /** The frame as received (kept for viewer 0 only: `--frames`). */
  text?: string;
  viewer: number;
  batch: boolean;
  bytes: number;
  /** Message types in the frame (one, or a batch's). */
  types: string[];
  /** The frame holds the meeting's `ended` (or `failed`) status. */
  ended: boolean;
}

const bodyJson = (raw: string): Record<string, unknown> => {
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return {};
  }
};

function watchServers(ports: { dynamodb: number; sqs: number; management: number }, out: RequestRecord[]) {
  const portOf = (server: Server) => (server.address() as AddressInfo | null)?.port;
  const onRequest = (message: unknown) => {
    const { request, response, server } = message as {
      request: IncomingMessage;
      response: ServerResponse;
      server: Server;
    };
    const port = portOf(server);
    const at = Date.now();
    if (port === ports.management) {
      if (request.url?.includes('@connections')) {
        out.push({
          at,
          service: 'management',
          op: request.method ?? '?',
          target: '',
          wru: 0,
          rru: 0,
          entries: 0,
        });
      }
      return;
    }
    const service = port === ports.dynamodb ? 'dynamodb' : port === ports.sqs ? 'sqs' : undefined;
    if (!service) return;
    const op = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '?';
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    response.on('finish', () => {
      const body = bodyJson(Buffer.concat(chunks).toString('utf8'));
      const responseBytes = Number(response.getHeader('content-length') ?? 0);
      if (service === 'dynamodb') {
        const table =
          (body.TableName as string | undefined) ??
          Object.keys((body.RequestItems as object | undefined) ?? {})[0] ??
          '?';
        const isRead = ['GetItem', 'Query', 'Scan', 'BatchGetItem'].includes(op);
        const consistent = body.ConsistentRead === true;
        out.push({
          at,
          service,
          op,
          target: table.replace(/^.*?-/, ''),
          wru: writeUnits(op, body),
          rru: isRead ? Math.max(1, Math.ceil(responseBytes / 4096)) * (consistent ? 1 : 0.5) : 0,
          entries: 0,
          detail: describeDynamo(body),
        });
      } else {
        const queue =
          String(body.QueueUrl ?? '?')
            .split('/')
            .at(-1) ?? '?';
        const entries = Array.isArray(body.Entries) ? body.Entries.length : 1;
        // Billed per 64 KB chunk of a request's payload.
        const chunksOf64k = Math.max(1, Math.ceil(Buffer.concat(chunks).length / 65_536));
        out.push({ at, service, op, target: queue, wru: chunksOf64k, rru: 0, entries });
      }
    });
  };
  diagnosticsChannel.subscribe('http.server.request.start', onRequest);
  return () => diagnosticsChannel.unsubscribe('http.server.request.start', onRequest);
}

/** A DynamoDB request's expressions, one line (for `--trace`). */
function describeDynamo(body: Record<string, unknown>): string {
  const fields = [
    'UpdateExpression',
    'ConditionExpression',
    'KeyConditionExpression',
    'ProjectionExpression',
    'FilterExpression',
    'IndexName',
  ];
  const parts = fields.flatMap((f) => (typeof body[f] === 'string' ? [`${f}: ${body[f]}`] : []));
  if (body.ConsistentRead === true) parts.push('ConsistentRead');
  if (body.Limit !== undefined) parts.push(`Limit: ${String(body.Limit)}`);
  return parts.join(' | ');
}

// ---- a viewer ----------------------------------------------------------------------------------

interface Received {
  type: string;
  status?: string;
  state?: string;
  transcript?: { seq: number; text: string; isFinal: boolean };
  added?: Partial<Record<'decisions' | 'actionItems' | 'openQuestions' | 'blockers', unknown[]>>;
  briefing?: { updates?: number };
}

/**
 * A briefing update by kind: the meeting's first (once per meeting, whatever its length), one
 * that added items (decisions, action items, open questions, blockers), or one that changed only
 * the summary, key points or topics (core/briefing/briefing-push.ts spaces those a minute apart).
 */
function briefingKind(m: Received): string {
  if (m.briefing?.updates === 1) return 'briefing_update:first';
  const items = ['decisions', 'actionItems', 'openQuestions', 'blockers'] as const;
  return items.some((k) => (m.added?.[k]?.length ?? 0) > 0) ? 'briefing_update' : 'briefing_update:summary';
}

/** A message's type; transcripts split into finals, interims and interims repeating the last text. */
function describer(): (m: Received) => string {
  const lastInterim = new Map<number, string>();
  return (m) => {
    if (m.type === 'keyword_alert') return `keyword_alert:${m.state}`;
    if (m.type === 'briefing_update') return briefingKind(m);
    if (m.type !== 'transcript' || !m.transcript) return m.type;
    const { seq, text, isFinal } = m.transcript;
    if (isFinal) return 'transcript:final';
    if (text.trim() === '') return 'transcript:interim-empty';
    const same = lastInterim.get(seq) === text;
    lastInterim.set(seq, text);
    return same ? 'transcript:interim-same-text' : 'transcript:interim';
  };
}

async function viewer(
  url: string,
  token: string,
  meetingId: string,
  index: number,
  batch: boolean,
  frames: FrameRecord[],
): Promise<{ ended: Promise<void>; close: () => void }> {
  const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const describe = describer();
  let markEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    markEnded = resolve;
  });
  const subscribed = new Promise<void>((resolve) => {
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      const message = JSON.parse(text) as Received & { messages?: Received[] };
      const inner = message.type === 'batch' ? (message.messages ?? []) : [message];
      const ends = inner.some((m) => m.type === 'status' && (m.status === 'ended' || m.status === 'failed'));
      frames.push({
        at: Date.now(),
        ...(index === 0 ? { text } : {}),
        viewer: index,
        batch,
        bytes: data.length,
        types: inner.map(describe),
        ended: ends,
      });
      if (inner.some((m) => m.type === 'subscribed')) resolve();
      if (ends) markEnded();
    });
  });
  socket.send(JSON.stringify({ action: 'subscribe', meetingId, ...(batch ? { batch: true } : {}) }));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    subscribed,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`viewer ${index}: not subscribed within 20 s`)), 20_000);
    }),
  ]);
  clearTimeout(timer);
  return { ended, close: () => socket.close() };
}

// ---- one meeting -------------------------------------------------------------------------------

/** One fixture's counts, in the shape bench/cost.ts reads (bench/usage/meeting-hour.json). */
export type MeasuredMeeting = MeasuredUsage['meetings'][number];
type Counts = MeasuredCounts;

function count(
  requests: RequestRecord[],
  frames: FrameRecord[],
  viewers: number,
  batchViewers: number,
): Counts {
  const perViewer = (batch: boolean, f: (r: FrameRecord) => number) =>
    frames.filter((r) => r.batch === batch).reduce((n, r) => n + f(r), 0) /
    Math.max(1, batch ? batchViewers : viewers);
  const messagesPerViewer: Record<string, number> = {};
  for (const f of frames.filter((r) => !r.batch)) {
    for (const t of f.types) messagesPerViewer[t] = (messagesPerViewer[t] ?? 0) + 1 / viewers;
  }
  const dynamo = requests.filter((r) => r.service === 'dynamodb');
  const sqs = requests.filter((r) => r.service === 'sqs');
  const tally = (
    rs: RequestRecord[],
    key: (r: RequestRecord) => string,
    n: (r: RequestRecord) => number = () => 1,
  ) => {
    const t: Record<string, number> = {};
    for (const r of rs) t[key(r)] = (t[key(r)] ?? 0) + n(r);
    return t;
  };
  return {
    framesPerViewer: { legacy: perViewer(false, () => 1), batch: perViewer(true, () => 1) },
    billedPerViewer: {
      legacy: perViewer(false, (r) => Math.ceil(r.bytes / WS_BILLING_BYTES)),
      batch: perViewer(true, (r) => Math.ceil(r.bytes / WS_BILLING_BYTES)),
    },
    bytesPerViewer: { legacy: perViewer(false, (r) => r.bytes), batch: perViewer(true, (r) => r.bytes) },
    // Batched frames that carry keyword alerts only (an alert raised from an interim not shown).
    alertOnlyFramesPerViewer: perViewer(true, (r) =>
      r.types.every((t) => t.startsWith('keyword_alert')) ? 1 : 0,
    ),
    messagesPerViewer,
    dynamodb: {
      wru: dynamo.reduce((n, r) => n + r.wru, 0),
      rru: dynamo.reduce((n, r) => n + r.rru, 0),
      requests: tally(dynamo, (r) => `${r.target} ${r.op}`),
    },
    sqs: {
      requests: tally(sqs, (r) => `${r.target} ${r.op}`),
      billed: sqs.filter((r) => r.op !== 'ReceiveMessage').reduce((n, r) => n + r.wru, 0),
      entries: tally(
        sqs.filter((r) => r.op.startsWith('SendMessage')),
        (r) => r.target,
        (r) => r.entries,
      ),
    },
    invocations: tally(
      sqs.filter((r) => r.op === 'DeleteMessageBatch'),
      (r) => r.target,
    ),
    managementPosts: requests.filter((r) => r.service === 'management' && r.op === 'POST').length,
  };
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const fixtures = arg('fixtures', 'meeting-librivox,standup-meeting').split(',');
  const viewers = Number(arg('viewers', '5'));
  // Viewers that subscribe with `batch: true`, beside as many legacy ones (0: legacy only).
  const batchViewers = Number(arg('batch-viewers', String(viewers)));
  const tracePath = process.argv.includes('--trace') ? arg('trace', 'dynamodb-trace.jsonl') : undefined;
  if (tracePath) writeFileSync(tracePath, '');
  const framesPath = process.argv.includes('--frames') ? arg('frames', 'frames.jsonl') : undefined;
  if (framesPath) writeFileSync(framesPath, '');
  // In process: the counts come from this thread's HTTP servers (diagnostics channel), and the
  // emulators' servers must be among them (the default layout runs them on a thread of their own).
  const stack = await startLocalStack({ speed: 1, logLevel: 'ERROR', emulatorLayout: 'in-process' });
  const port = (url: string) => Number(new URL(url).port);
  const requests: RequestRecord[] = [];
  const unwatch = watchServers(
    { dynamodb: port(stack.urls.dynamodb), sqs: port(stack.urls.sqs), management: stack.ws.port },
    requests,
  );
  const meetings: MeasuredMeeting[] = [];
  const meetingIds: string[] = [];
  let meetingItemBytes = 0;
  let speech: MeasuredUsage['speech'];
  try {
    for (const fixture of fixtures) {
      const script = JSON.parse(readFileSync(path.join(FIXTURE_DIR, `${fixture}.json`), 'utf8')) as {
        keywords?: string[];
      };
      const keywords = fixture === 'meeting-librivox' ? SAMPLE_KEYWORDS : (script.keywords ?? []);
      const token = await stack.issuer.mintToken('alice');
      const created = await fetch(`${stack.urls.rest}/meetings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ meetingUrl: `local://recordings/${fixture}.wav`, title: fixture, keywords }),
      });
      if (!created.ok) throw new Error(`create meeting: ${created.status} ${await created.text()}`);
      const { meetingId } = (await created.json()) as { meetingId: string };
      meetingIds.push(meetingId);
      process.stderr.write(`${fixture}: meeting ${meetingId} created\n`);
      const frames: FrameRecord[] = [];
      const clients = await Promise.all(
        Array.from({ length: viewers + batchViewers }, (_, i) =>
          viewer(stack.urls.ws, token, meetingId, i, i >= viewers, frames),
        ),
      );
      const from = requests.length;
      // Bounded: the recording's length and two minutes more.
      const wav = readFileSync(path.join(FIXTURE_DIR, `${fixture}.wav`));
      const limitMs = (wav.length / 32_000) * 1000 + 120_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(clients.map((c) => c.ended)),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${fixture}: no 'ended' status within ${limitMs} ms`)),
            limitMs,
          );
        }),
      ]);
      clearTimeout(timer);
      // The meeting's end: wait until nothing moves for 3 s (assembly, last briefing, status).
      // (The pollers' receives go on for ever: not counted as movement; at most 30 s.)
      const moved = () => requests.filter((r) => r.op !== 'ReceiveMessage').length + frames.length;
      const endWaitUntil = Date.now() + 30_000;
      let seen = -1;
      while (seen !== moved() && Date.now() < endWaitUntil) {
        seen = moved();
        await new Promise((resolve) => setTimeout(resolve, 3_000));
      }
      for (const c of clients) c.close();
      const mine = requests.slice(from);
      // A meeting moves through DynamoDB and SQS: none counted means the counting missed the
      // emulators (e.g. on another thread), not a free meeting.
      if (!mine.some((r) => r.service === 'dynamodb') || !mine.some((r) => r.service === 'sqs')) {
        throw new Error(`${fixture}: no DynamoDB or SQS request counted; are the emulators in this thread?`);
      }
      const firstTranscript = frames.find((f) => f.types.some((t) => t.startsWith('transcript')))?.at ?? 0;
      const endedAt = frames.find((f) => f.viewer === 0 && f.ended)?.at ?? Date.now();
      const live = (at: number) => at >= firstTranscript && at < endedAt;
      meetings.push({
        fixture,
        liveSeconds: (endedAt - firstTranscript) / 1000,
        live: count(
          mine.filter((r) => live(r.at)),
          frames.filter((f) => live(f.at)),
          viewers,
          batchViewers,
        ),
        end: count(
          mine.filter((r) => r.at >= endedAt),
          frames.filter((f) => f.at >= endedAt),
          viewers,
          batchViewers,
        ),
      });
      const liveSeconds = meetings.at(-1)?.liveSeconds ?? 0;
      process.stderr.write(`${fixture}: ${liveSeconds.toFixed(1)} s live\n`);
      // Counts are scaled by the live window: one far from the recording's length (a loaded
      // machine delayed the first line or the end) scales them wrongly. Discard such a run.
      const audioSeconds = wav.length / 32_000;
      if (Math.abs(liveSeconds - audioSeconds) > 10) {
        process.stderr.write(
          `WARNING ${fixture}: live window ${liveSeconds.toFixed(1)} s for ${audioSeconds.toFixed(1)} s of audio: the per-hour figures of this run are skewed\n`,
        );
      }
      // `--frames <file>`: what viewer 0 (one message a frame) got, with its time in the meeting.
      if (framesPath) {
        const lines = frames
          .filter((f) => f.viewer === 0)
          .map((f) =>
            JSON.stringify({ fixture, ms: f.at - firstTranscript, frame: JSON.parse(f.text ?? '{}') }),
          );
        appendFileSync(framesPath, `${lines.join('\n')}\n`);
      }
      // `--trace <file>`: every DynamoDB request of the meeting, one JSON line each, by window.
      if (tracePath) {
        const window = (at: number) => (live(at) ? 'live' : at >= endedAt ? 'end' : 'before');
        const lines = mine
          .filter((r) => r.service === 'dynamodb')
          .map((r) =>
            JSON.stringify({
              fixture,
              window: window(r.at),
              ms: r.at - firstTranscript,
              request: `${r.target} ${r.op}`,
              wru: r.wru,
              rru: r.rru,
              detail: r.detail,
            }),
          );
        appendFileSync(tracePath, `${lines.join('\n')}\n`);
      }
    }
    // What a meeting-item update costs: the item's size at the end (DynamoDB prices the larger of before and after).
    for (const meetingId of meetingIds) {
      const out = await dynamo().send(
        new GetItemCommand({ TableName: tableName('meetings'), Key: { meetingId: { S: meetingId } } }),
      );
      meetingItemBytes = Math.max(
        meetingItemBytes,
        itemBytes((out.Item ?? {}) as unknown as Record<string, AttributeValue>),
      );
    }
    // What went on the wire to the speech service (the gateway's configured encoding).
    const speechStats = stack.speech.stats();
    speech = {
      encoding: loadAudioGatewayConfig().deepgramEncoding,
      bytesReceived: speechStats.bytesReceived,
      audioMsDecoded: speechStats.audioMsDecoded,
    };
  } finally {
    unwatch();
    await stack.stop();
  }
  const result = {
    measuredAt: new Date().toISOString(),
    command: `npx tsx bench/meeting-usage.ts --fixtures ${fixtures.join(',')} --viewers ${viewers} --batch-viewers ${batchViewers}`,
    viewers,
    batchViewers,
    interimWindowMs: interimWindowMs(),
    // Interims the speech engine gave and what the gateway did with them (unchanged: not published).
    interims: stack.audio.interims.stats,
    meetingItemBytes,
    speech,
    meetings,
  };
  const text = `${JSON.stringify(result, null, 2)}\n`;
  if (process.argv.includes('--write')) {
    mkdirSync(path.dirname(USAGE_FILE), { recursive: true });
    writeFileSync(USAGE_FILE, text);
    process.stderr.write(`written: ${path.relative(process.cwd(), USAGE_FILE)}\n`);
  }
  process.stdout.write(text);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
