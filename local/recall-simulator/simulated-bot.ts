/**
 * One simulated Recall bot: its status lifecycle, its realtime endpoint connections, and the
 * meeting it streams.
 *
 * Meeting clock: starts when the first websocket endpoint connects (or at once when there is
 * none that can connect), and runs on `performance.now()` × speed, never on accumulated timer
 * ticks, so it does not drift. Each tick sends every timeline item that is due. Like a live
 * meeting, the clock keeps running while recording is paused or the endpoint is reconnecting:
 * what falls in those gaps is lost (nothing is replayed or rewound) and timestamps jump.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { RecallLogger } from '../../core/recall/client';
import type { RecallStatusChange } from '../../core/recall/rest-schema';
import { EndpointConnection, type ReconnectPolicy } from './endpoint-connection';
import type { FixtureParticipant, MeetingFixture } from './fixture';
import { type MessageContext, mixedAudioMessage, participantMessage, separateAudioMessage } from './messages';
import { decodeMp3, OutputAudioMixer } from './output-audio';
import type { ValidCreateBot } from './request-validation';
import type { TimelineItem } from './timeline';
import type { BotView, EndpointView, LeaveReason, RecallSimulatorEventMap } from './types';
import type { WebhookSender } from './webhook-sender';

export interface BotDependencies {
  fixture: MeetingFixture;
  timeline: TimelineItem[];
  speed: number;
  joinDelayMs: number;
  reconnect: ReconnectPolicy;
  events: EventEmitter<RecallSimulatorEventMap>;
  webhooks: WebhookSender | undefined;
  logger: RecallLogger;
}

type Phase = 'joining' | 'in_call' | 'ended';

const MAX_KEPT_OUTPUT_AUDIO = 50;
/** The bot as a participant of the meeting it speaks in (fixture participants count from 1). */
const BOT_PARTICIPANT_ID = 9_999;

interface Recording {
  id: string;
  createdAt: string;
  startedAt: string;
  completedAt: string | null;
  audioMixedId: string;
  audioSeparateId: string;
  participantEventsId: string;
}

export class SimulatedBot {
  readonly id = randomUUID();
  private readonly createdAt = new Date().toISOString();
  private phase: Phase = 'joining';
  private paused = false;
  private readonly statusChanges: RecallStatusChange[] = [];
  private recording: Recording | undefined;
  private readonly endpoints: EndpointConnection[] = [];
  /** Aligned with request.realtimeEndpoints; undefined for types the simulator does not deliver to. */
  private readonly connectionsByIndex: Array<EndpointConnection | undefined> = [];
  private readonly participants: Map<number, FixtureParticipant>;
  private timer: NodeJS.Timeout | undefined;
  private clockStart: number | undefined;
  private meetingStartEpochMs = 0;
  private cursor = 0;
  private positionMs = 0;
  private readonly outputAudio: Buffer[] = [];
  /** Output Audio heard in the meeting, and the bot's own participant events announcing it. */
  private readonly mixer = new OutputAudioMixer();
  private injected: TimelineItem[] = [];
  private readonly stats = {
    framesSent: 0,
    audioBytesSent: 0,
    separateAudioBytesSent: 0,
    participantEventsSent: 0,
    itemsSkipped: 0,
  };

  constructor(
    readonly request: ValidCreateBot,
    private readonly deps: BotDependencies,
  ) {
    this.participants = new Map(deps.fixture.participants.map((p) => [p.id, p]));
    for (const endpoint of request.realtimeEndpoints) {
      if (endpoint.type !== 'websocket') {
        this.connectionsByIndex.push(undefined);
        continue;
      }
      const endpointId = randomUUID();
      const connection = new EndpointConnection(
        endpointId,
        endpoint.url,
        endpoint.events,
        deps.reconnect,
        {
          onOpen: ({ attempt, reconnected }) => {
            deps.events.emit('connected', { botId: this.id, endpointId, attempt, reconnected });
            this.startMeetingClock();
          },
          onConnectFailed: ({ attempt, error, willRetry }) =>
            deps.events.emit('connect_failed', { botId: this.id, endpointId, attempt, error, willRetry }),
          onDisconnected: ({ code, reason, willRetry }) =>
            deps.events.emit('disconnected', { botId: this.id, endpointId, code, reason, willRetry }),
          onFailed: ({ attempts }) => {
            deps.events.emit('endpoint_failed', { botId: this.id, endpointId, attempts });
            this.startMeetingClockIfNoEndpointCanConnect();
          },
        },
        deps.logger,
      );
      this.endpoints.push(connection);
      this.connectionsByIndex.push(connection);
    }
    this.warnAboutUndeliverableEvents();
  }

  get isInCall(): boolean {
    return this.phase === 'in_call';
  }

  get hasEnded(): boolean {
    return this.phase === 'ended';
  }

  get hasAutomaticAudioOutput(): boolean {
    return this.request.automaticAudioOutput !== null;
  }

  /** Begins joining. Non-local meetings end in `fatal`: the simulator has no real platforms. */
  start(): void {
    this.setStatus('joining_call');
    this.timer = setTimeout(() => {
      if (this.phase !== 'joining') return;
      if (!this.request.local) {
        this.phase = 'ended';
        this.setStatus(
          'fatal',
          'meeting_not_found',
          'The Recall simulator only joins local:// meetings; use a real Recall region for this URL',
        );
        this.deps.events.emit('left', { botId: this.id, reason: 'fatal' });
        return;
      }
      this.phase = 'in_call';
      this.setStatus('in_call_not_recording');
      const now = new Date().toISOString();
      this.recording = {
        id: randomUUID(),
        createdAt: now,
        startedAt: now,
        completedAt: null,
        audioMixedId: randomUUID(),
        audioSeparateId: randomUUID(),
        participantEventsId: randomUUID(),
      };
      this.setStatus('in_call_recording');
      for (const endpoint of this.endpoints) endpoint.start();
      this.startMeetingClockIfNoEndpointCanConnect();
    }, this.deps.joinDelayMs / this.deps.speed);
  }

  pause(): void {
    if (this.paused || this.phase !== 'in_call') return;
    this.paused = true;
    this.setStatus('in_call_not_recording', 'recording_paused');
    this.deps.events.emit('paused', { botId: this.id });
  }

  resume(): void {
    if (!this.paused || this.phase !== 'in_call') return;
    this.paused = false;
    this.setStatus('in_call_recording');
    this.deps.events.emit('resumed', { botId: this.id });
  }

  /** Leaves the call (Leave Call endpoint, end of fixture, or simulator stop). Idempotent. */
  leave(reason: LeaveReason, subCode: string): void {
    if (this.phase === 'ended') return;
    const wasInCall = this.phase === 'in_call';
    this.phase = 'ended';
    clearTimeout(this.timer);
    for (const endpoint of this.endpoints) endpoint.close(1000, 'call ended');
    this.setStatus('call_ended', subCode);
    if (wasInCall && this.recording) {
      this.recording.completedAt = new Date().toISOString();
      this.setStatus('recording_done');
    }
    this.setStatus('done');
    this.deps.events.emit('left', { botId: this.id, reason });
  }

  /** Stops everything without further status changes (simulator shutdown). */
  shutdown(): void {
    clearTimeout(this.timer);
    for (const endpoint of this.endpoints) endpoint.close(1001, 'simulator stopping');
    this.phase = 'ended';
  }

  playOutputAudio(mp3: Buffer): void {
    this.outputAudio.push(mp3);
    if (this.outputAudio.length > MAX_KEPT_OUTPUT_AUDIO) this.outputAudio.shift();
    this.deps.events.emit('output_audio', { botId: this.id, mp3 });
    this.hear(mp3);
  }

  /** Mixes played audio into the meeting from now on, with the bot announced as speaking. */
  private hear(mp3: Buffer): void {
    if (this.phase !== 'in_call' || this.clockStart === undefined) return;
    decodeMp3(mp3).then(
      (pcm) => {
        if (this.phase !== 'in_call' || this.clockStart === undefined || pcm.length === 0) return;
        const startMs = (performance.now() - this.clockStart) * this.deps.speed;
        const endMs = this.mixer.add(startMs, pcm);
        const botId = BOT_PARTICIPANT_ID;
        const events: TimelineItem[] = [];
        if (!this.participants.has(botId)) {
          this.participants.set(botId, { id: botId, name: this.request.botName, isHost: false });
          events.push({
            t: startMs,
            kind: 'participant',
            event: 'participant_events.join',
            participantId: botId,
          });
        }
        events.push(
          { t: startMs, kind: 'participant', event: 'participant_events.speech_on', participantId: botId },
          { t: endMs, kind: 'participant', event: 'participant_events.speech_off', participantId: botId },
        );
        this.injected = [...this.injected, ...events].sort((a, b) => a.t - b.t);
      },
      (error: unknown) =>
        this.deps.logger.warn('Recall simulator: Output Audio not heard in the meeting', {
          botId: this.id,
          error: String(error),
        }),
    );
  }

  dropConnections(): boolean {
    let dropped = false;
    for (const endpoint of this.endpoints) dropped = endpoint.drop() || dropped;
    return dropped;
  }

  /** The Bot object as Recall's API returns it (the fields Parley reads, and a few more). */
  toJSON(): Record<string, unknown> {
    const recording = this.recording;
    return {
      id: this.id,
      bot_name: this.request.botName,
      meeting_url: { meeting_id: this.request.meeting.meetingId, platform: this.request.meeting.platform },
      join_at: null,
      created_at: this.createdAt,
      recording_config: this.request.recordingConfig,
      automatic_audio_output: this.request.automaticAudioOutput?.raw ?? null,
      metadata: this.request.metadata,
      status_changes: this.statusChanges,
      recordings: recording
        ? [
            {
              id: recording.id,
              created_at: recording.createdAt,
              started_at: recording.startedAt,
              completed_at: recording.completedAt,
              status: {
                code: recording.completedAt ? 'done' : 'processing',
                sub_code: null,
                updated_at: recording.completedAt ?? recording.startedAt,
              },
              media_shortcuts: {},
              metadata: {},
            },
          ]
        : [],
    };
  }

  view(): BotView {
    const endpointViews: EndpointView[] = this.request.realtimeEndpoints.map((request, index) => {
      const connection = this.connectionsByIndex[index];
      const stats = connection?.stats;
      return {
        id: connection?.id ?? '',
        type: request.type,
        url: request.url,
        events: request.events,
        state: stats?.state ?? null,
        connectAttempts: stats?.connectAttempts ?? 0,
        connections: stats?.connections ?? 0,
        lastError: stats?.lastError ?? null,
        audioSent: stats?.audioSent ?? [],
      };
    });
    return {
      id: this.id,
      meetingUrl: this.request.meetingUrl,
      botName: this.request.botName,
      metadata: { ...this.request.metadata },
      status: this.statusChanges.at(-1)?.code ?? null,
      statusChanges: this.statusChanges.map((change) => ({ ...change })),
      recordingId: this.recording?.id ?? null,
      paused: this.paused,
      audioMixedRaw: this.request.audioMixedRaw,
      audioSeparateRaw: this.request.audioSeparateRaw,
      positionMs: this.positionMs,
      durationMs: this.deps.fixture.durationMs,
      speed: this.deps.speed,
      ...this.stats,
      endpoints: endpointViews,
      outputAudio: [...this.outputAudio],
      automaticAudioOutput: this.request.automaticAudioOutput?.mp3 ?? null,
    };
  }

  private setStatus(code: string, subCode: string | null = null, message: string | null = null): void {
    const change: RecallStatusChange = {
      code,
      message,
      sub_code: subCode,
      created_at: new Date().toISOString(),
    };
    this.statusChanges.push(change);
    this.deps.logger.debug('Recall simulator: bot status', { botId: this.id, code, subCode });
    this.deps.events.emit('status_change', { botId: this.id, code, subCode });
    this.deps.webhooks?.statusChange(this.id, change, this.recording?.id ?? null);
  }

  private warnAboutUndeliverableEvents(): void {
    for (const endpoint of this.request.realtimeEndpoints) {
      if (endpoint.type !== 'websocket') {
        this.deps.logger.warn('Recall simulator: only websocket realtime endpoints are simulated', {
          type: endpoint.type,
        });
        continue;
      }
      if (endpoint.events.includes('audio_mixed_raw.data') && !this.request.audioMixedRaw) {
        this.deps.logger.warn(
          'Recall simulator: audio_mixed_raw.data subscribed but recording_config.audio_mixed_raw is not set; no mixed audio will flow',
        );
      }
      if (endpoint.events.includes('audio_separate_raw.data') && !this.request.audioSeparateRaw) {
        this.deps.logger.warn(
          'Recall simulator: audio_separate_raw.data subscribed but recording_config.audio_separate_raw is not set; no separate audio will flow',
        );
      }
    }
  }

  private startMeetingClockIfNoEndpointCanConnect(): void {
    if (this.endpoints.every((endpoint) => endpoint.state === 'failed' || endpoint.state === 'closed')) {
      this.startMeetingClock();
    }
  }

  private startMeetingClock(): void {
    if (this.clockStart !== undefined || this.phase !== 'in_call') return;
    this.clockStart = performance.now();
    this.meetingStartEpochMs = Date.now();
    this.tick();
  }

  private tick(): void {
    if (this.phase !== 'in_call' || this.clockStart === undefined) return;
    const timeline = this.deps.timeline;
    const now = (performance.now() - this.clockStart) * this.deps.speed;
    while (this.injected.length > 0 && this.injected[0]!.t <= now) this.deliver(this.injected.shift()!);
    while (this.cursor < timeline.length && timeline[this.cursor]!.t <= now) {
      const item = timeline[this.cursor]!;
      this.cursor++;
      this.positionMs = item.t;
      this.deliver(item);
    }
    if (this.cursor >= timeline.length) {
      this.positionMs = this.deps.fixture.durationMs;
      this.leave('call_ended', 'timeout_exceeded_everyone_left');
      return;
    }
    const dueAt = this.clockStart + timeline[this.cursor]!.t / this.deps.speed;
    this.timer = setTimeout(() => this.tick(), Math.max(0, dueAt - performance.now()));
  }

  private deliver(item: TimelineItem): void {
    const open = this.endpoints.filter((endpoint) => endpoint.isOpen);
    if (this.paused || open.length === 0) {
      this.stats.itemsSkipped++;
      return;
    }
    const recording = this.recording!;
    if (item.kind === 'participant') {
      const participant = this.participants.get(item.participantId)!;
      let sent = false;
      for (const endpoint of open) {
        if (!endpoint.events.has(item.event)) continue;
        sent =
          endpoint.send(
            JSON.stringify(
              participantMessage(this.context(endpoint, recording), item.t, item.event, participant),
            ),
          ) || sent;
      }
      if (sent) this.stats.participantEventsSent++;
      return;
    }
    const fixturePcm = this.deps.fixture.pcm.subarray(item.offset, item.offset + item.length);
    const pcm = this.mixer.mix(item.t, fixturePcm);
    const startSample = item.offset / 2;
    const endSample = (item.offset + item.length) / 2;
    let mixedSent = false;
    let separateSent = false;
    for (const endpoint of open) {
      const ctx = this.context(endpoint, recording);
      if (this.request.audioMixedRaw && endpoint.events.has('audio_mixed_raw.data')) {
        mixedSent =
          endpoint.sendAudio(
            JSON.stringify(mixedAudioMessage(ctx, item.t, pcm)),
            startSample,
            endSample,
            pcm !== fixturePcm,
          ) || mixedSent;
      }
      if (this.request.audioSeparateRaw && endpoint.events.has('audio_separate_raw.data')) {
        const holder = this.participants.get(item.floorHolder)!;
        separateSent =
          endpoint.send(JSON.stringify(separateAudioMessage(ctx, item.t, pcm, holder))) || separateSent;
      }
    }
    if (mixedSent) {
      this.stats.framesSent++;
      this.stats.audioBytesSent += pcm.length;
    }
    if (separateSent) this.stats.separateAudioBytesSent += pcm.length;
  }

  private context(endpoint: EndpointConnection, recording: Recording): MessageContext {
    return {
      botId: this.id,
      botMetadata: this.request.metadata,
      recordingId: recording.id,
      realtimeEndpointId: endpoint.id,
      audioMixedId: recording.audioMixedId,
      audioSeparateId: recording.audioSeparateId,
      participantEventsId: recording.participantEventsId,
      meetingStartEpochMs: this.meetingStartEpochMs,
    };
  }
}
