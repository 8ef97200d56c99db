import type { EventEmitter } from 'node:events';
import type { RecallLogger } from '../../core/recall/client';
import type { RecallStatusChange } from '../../core/recall/rest-schema';
import type { EndpointState, ReconnectPolicy, SentAudioSpan } from './endpoint-connection';
import type { FixturePaths, MeetingFixture } from './fixture';

export interface RecallSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** When set, every request must carry `Authorization: Token <apiKey>`. */
  apiKey?: string;
  /** The recorded meeting every `local://…` bot streams (but `local://recordings/<name>`). */
  fixture: FixturePaths;
  /**
   * Loads the recording a `local://recordings/<name>` meeting plays (local/recordings.ts); a
   * rejection becomes Recall's 400 on `meeting_url` with its message.
   */
  recordings?: (name: string) => Promise<MeetingFixture>;
  /** 1 = real time, N = N× faster. Default 1. */
  speed?: number;
  /** Audio frame length, 10–100 ms. Default 20. */
  frameMs?: number;
  /** Realtime endpoint retry policy. Default Recall's: 30 retries, 3 s apart. */
  reconnect?: Partial<ReconnectPolicy>;
  /** Meeting-time delay between joining_call and in_call_recording. Default 1,000 ms (÷ speed). */
  joinDelayMs?: number;
  /** Where to POST Svix-signed `bot.status_change` webhooks; needs webhookSecret. */
  webhookUrl?: string;
  /** `whsec_<base64>`; needs webhookUrl. */
  webhookSecret?: string;
  logger?: RecallLogger;
}

export interface EndpointView {
  id: string;
  type: string;
  /** Exactly as given at creation (includes its token: a local test tool only). */
  url: string;
  events: string[];
  /** null for endpoint types the simulator does not deliver to (webhook). */
  state: EndpointState | null;
  /** Upgrade attempts made, including retries. */
  connectAttempts: number;
  /** Successful upgrades. */
  connections: number;
  lastError: string | null;
  /** Mixed audio written on this endpoint, as runs of samples per connection (the last 1,000 runs). */
  audioSent: SentAudioSpan[];
}

export interface BotView {
  id: string;
  meetingUrl: string;
  botName: string;
  metadata: Record<string, string | null>;
  /** Latest status code, or null. */
  status: string | null;
  statusChanges: RecallStatusChange[];
  recordingId: string | null;
  paused: boolean;
  audioMixedRaw: boolean;
  audioSeparateRaw: boolean;
  /** Meeting time reached, ms (0 until the meeting clock starts). */
  positionMs: number;
  durationMs: number;
  /** Meeting time per wall-clock time (the simulator's speed when the bot was created). */
  speed: number;
  /** Mixed audio frames / PCM bytes written to at least one endpoint. */
  framesSent: number;
  audioBytesSent: number;
  separateAudioBytesSent: number;
  participantEventsSent: number;
  /** Timeline items that fell while paused or disconnected (lost, as in a live meeting). */
  itemsSkipped: number;
  endpoints: EndpointView[];
  /** MP3s received on Output Audio (the last 50). */
  outputAudio: Buffer[];
  automaticAudioOutput: Buffer | null;
}

export type LeaveReason = 'leave_call' | 'call_ended' | 'fatal';

/** Events on `simulator.events` (typed EventEmitter). */
export interface RecallSimulatorEventMap {
  bot_created: [bot: BotView];
  status_change: [info: { botId: string; code: string; subCode: string | null }];
  connected: [info: { botId: string; endpointId: string; attempt: number; reconnected: boolean }];
  connect_failed: [
    info: { botId: string; endpointId: string; attempt: number; error: string; willRetry: boolean },
  ];
  disconnected: [
    info: { botId: string; endpointId: string; code: number; reason: string; willRetry: boolean },
  ];
  endpoint_failed: [info: { botId: string; endpointId: string; attempts: number }];
  paused: [info: { botId: string }];
  resumed: [info: { botId: string }];
  output_audio: [info: { botId: string; mp3: Buffer }];
  left: [info: { botId: string; reason: LeaveReason }];
}

export interface RecallSimulator {
  /** Base URL for the Recall client, e.g. http://127.0.0.1:43123 */
  readonly url: string;
  readonly port: number;
  readonly events: EventEmitter<RecallSimulatorEventMap>;
  bots(): BotView[];
  bot(id: string): BotView | undefined;
  /** Test hook: kill the bot's realtime sockets abruptly; the bot then reconnects. */
  dropConnection(botId: string): boolean;
  /**
   * Test hook: the speed (as the `speed` option) of bots created from now on; bots already
   * created keep theirs. Lets one stack run some meetings faster than real time and others not.
   */
  setSpeed(speed: number): void;
  /** Closes every socket and the HTTP server. Idempotent. */
  stop(): Promise<void>;
}
