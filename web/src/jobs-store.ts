/**
 * One store per open job page: the job's state and its transcript lines, fed by the realtime
 * API (`subscribe_job` for progress, `subscribe` to the meeting with the job's id for the
 * lines; both through the reference client) and, whenever that is not delivering, by polling
 * `GET /jobs/{id}` and the transcript with backoff. The page says which of the two it is on.
 * Updates are batched to one render per animation frame.
 */
import type { ParleyClient } from '../../core/realtime/client';
import { type Api, ApiError, type TranscriptPage } from './api';
import { ENDED_STAGES, getJob, type JobStage, type JobView } from './jobs-api';
import { type UploadState, uploads } from './jobs-uploads';

/** With no `job_subscribed` this long after the page opened (or the socket opened), poll. */
export const WS_GRACE_MS = 3_000;
/** Polling backoff: 1 s, 2 s, 4 s … up to this. */
export const POLL_MAX_DELAY_MS = 8_000;
const POLL_FIRST_DELAY_MS = 1_000;
export const JOB_BLOCK_SIZE = 100;

export interface JobLine {
  seq: number;
  speaker: string;
  text: string;
  startMs: number;
}

export type Transport =
  | { kind: 'connecting' }
  | { kind: 'websocket' }
  /** Live updates unavailable: the page polls; the next check is at `nextAt` (epoch ms). */
  | { kind: 'polling'; delayMs: number; nextAt: number };

export interface JobSnapshot {
  version: number;
  job: JobView | undefined;
  stage: JobStage | undefined;
  /** Stages seen, in the order they came (the page ticks them off). */
  stages: readonly JobStage[];
  percent: number;
  speed: number | undefined;
  etaSeconds: number | undefined;
  etaConfidence: number | undefined;
  audioSecondsProcessed: number;
  audioSecondsTotal: number | undefined;
  blocks: readonly (readonly JobLine[])[];
  lineCount: number;
  upload: UploadState | undefined;
  transport: Transport;
  error: { code: string; message: string } | undefined;
  /** A REST error reading the job (e.g. JOB_NOT_FOUND). */
  loadError: string | undefined;
}

type JobPayload = Record<string, unknown>;
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

export class JobStore {
  private job: JobView | undefined;
  private stage: JobStage | undefined;
  private stages: JobStage[] = [];
  private percent = 0;
  private speed: number | undefined;
  private etaSeconds: number | undefined;
  private etaConfidence: number | undefined;
  private audioSecondsProcessed = 0;
  private audioSecondsTotal: number | undefined;
  private blocks: JobLine[][] = [];
  private lineCount = 0;
  private lastSeq = 0;
  private transport: Transport = { kind: 'connecting' };
  private error: { code: string; message: string } | undefined;
  private loadError: string | undefined;
  private version = 0;
  private cache: JobSnapshot | undefined;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;
  /** True once `job_subscribed` came on the current socket. */
  private wsLive = false;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private pollDelay = POLL_FIRST_DELAY_MS;
  private transcriptCursor: string | undefined;
  private closed = false;

  constructor(
    readonly jobId: string,
    private readonly api: Api,
    private readonly client: ParleyClient,
  ) {}

  /** Subscribes over the socket and arms the polling fallback; returns the detach function. */
  open(): () => void {
    const client = this.client;
    const mine = (id: string | undefined) => id === this.jobId;
    const offs = [
      client.on('open', () => {
        this.wsLive = false;
        client.send({ action: 'subscribe_job', jobId: this.jobId });
        this.armFallback(WS_GRACE_MS);
      }),
      client.on('close', () => {
        this.wsLive = false;
        this.armFallback(0);
      }),
      client.on('final', (e) => {
        if (mine(e.meetingId)) this.addLine(e.segment);
      }),
      client.on('message', (m) => {
        if (!('jobId' in m) || !mine(m.jobId)) return;
        switch (m.type) {
          case 'job_subscribed':
            this.wsLive = true;
            this.stopPolling();
            this.setTransport({ kind: 'websocket' });
            return;
          case 'state':
            this.applyView(m.state as unknown as JobView);
            return;
          case 'progress_update':
            this.applyProgress(m.payload);
            return;
          case 'time_estimate':
            this.etaSeconds = num(m.payload.secondsRemaining);
            this.etaConfidence = num(m.payload.confidence);
            this.changed();
            return;
          case 'stage_change':
            this.setStage(m.payload.to as JobStage);
            if (num(m.payload.percent) !== undefined)
              this.percent = Math.max(this.percent, num(m.payload.percent) ?? 0);
            this.changed();
            return;
          case 'complete':
            this.percent = 100;
            this.etaSeconds = 0;
            this.setStage('complete');
            this.changed();
            return;
          case 'error':
            this.error = { code: m.code, message: m.message };
            this.setStage('failed');
            this.changed();
            return;
          default:
            return;
        }
      }),
      uploads.subscribe(this.jobId, () => this.changed()),
    ];
    client.subscribe(this.jobId);
    if (client.connected) client.send({ action: 'subscribe_job', jobId: this.jobId });
    // The first state comes from REST at once (the socket may be down or slow).
    void this.poll(false);
    this.armFallback(WS_GRACE_MS);
    return () => {
      this.closed = true;
      for (const off of offs) off();
      this.stopPolling();
      client.unsubscribe(this.jobId);
    };
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  snapshot(): JobSnapshot {
    if (this.cache?.version === this.version) return this.cache;
    this.cache = {
      version: this.version,
      job: this.job,
      stage: this.stage,
      stages: this.stages,
      percent: this.percent,
      speed: this.speed,
      etaSeconds: this.etaSeconds,
      etaConfidence: this.etaConfidence,
      audioSecondsProcessed: this.audioSecondsProcessed,
      audioSecondsTotal: this.audioSecondsTotal,
      blocks: this.blocks,
      lineCount: this.lineCount,
      upload: uploads.get(this.jobId),
      transport: this.transport,
      error: this.error,
      loadError: this.loadError,
    };
    return this.cache;
  }

  /** The state a DELETE answered with (the cancelled job). */
  applyView(view: JobView): void {
    this.job = view;
    this.setStage(view.stage);
    this.percent = view.stage === 'complete' ? 100 : Math.max(this.percent, view.percent);
    this.speed = view.speed ?? this.speed;
    this.etaSeconds = view.etaSeconds ?? this.etaSeconds;
    this.etaConfidence = view.etaConfidence ?? this.etaConfidence;
    this.audioSecondsProcessed = Math.max(this.audioSecondsProcessed, view.audioSecondsProcessed);
    this.audioSecondsTotal = view.durationSeconds ?? this.audioSecondsTotal;
    if (view.error) this.error = view.error;
    this.changed();
  }

  private get ended(): boolean {
    return this.stage !== undefined && ENDED_STAGES.has(this.stage);
  }

  private applyProgress(p: JobPayload): void {
    if (typeof p.stage === 'string') this.setStage(p.stage as JobStage);
    this.percent = Math.max(this.percent, num(p.percent) ?? 0);
    this.speed = num(p.speed) ?? this.speed;
    this.audioSecondsProcessed = num(p.audioSecondsProcessed) ?? this.audioSecondsProcessed;
    this.audioSecondsTotal = num(p.audioSecondsTotal) || this.audioSecondsTotal;
    this.changed();
  }

  private setStage(stage: JobStage): void {
    if (!stage || this.stage === stage) return;
    // After an end nothing moves the job again (a late progress tick must not revive it).
    if (this.ended) return;
    this.stage = stage;
    if (!this.stages.includes(stage)) this.stages = [...this.stages, stage];
  }

  private addLine(segment: JobLine): void {
    if (segment.seq <= this.lastSeq) return;
    const line = { seq: segment.seq, speaker: segment.speaker, text: segment.text, startMs: segment.startMs };
    const blocks = [...this.blocks];
    const last = blocks.at(-1);
    if (!last || last.length >= JOB_BLOCK_SIZE) blocks.push([line]);
    else blocks[blocks.length - 1] = [...last, line];
    this.blocks = blocks;
    this.lineCount++;
    this.lastSeq = segment.seq;
    this.changed();
  }

  // ---- polling fallback --------------------------------------------------------------------

  /** Polls after `delayMs` unless the socket proves itself (job_subscribed) first. */
  private armFallback(delayMs: number): void {
    if (this.closed || this.wsLive || this.pollTimer) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll(true);
    }, delayMs);
  }

  private stopPolling(): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.pollDelay = POLL_FIRST_DELAY_MS;
  }

  /** One REST read of the job and the new lines; as the fallback it schedules the next one. */
  private async poll(fallback: boolean): Promise<void> {
    if (this.closed) return;
    if (fallback && this.wsLive) return;
    try {
      this.applyView(await getJob(this.api, this.jobId));
      this.loadError = undefined;
      await this.pollTranscript();
    } catch (error) {
      this.loadError = error instanceof Error ? error.message : String(error);
      this.changed();
      // No such job (or not yours): asking again will not change that.
      if (!fallback || (error instanceof ApiError && error.status === 404)) return;
    }
    if (!fallback || this.closed || this.wsLive) return;
    if (this.ended) {
      // Nothing more will change; the transport notice stays until the socket is back.
      this.setTransport({ kind: 'polling', delayMs: 0, nextAt: 0 });
      return;
    }
    const delayMs = this.pollDelay;
    this.pollDelay = Math.min(this.pollDelay * 2, POLL_MAX_DELAY_MS);
    this.setTransport({ kind: 'polling', delayMs, nextAt: Date.now() + delayMs });
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll(true);
    }, delayMs);
  }

  /**
   * Reads transcript pages from the last cursor that led somewhere: each poll fetches at most
   * the last (partial) page again, and lines already held are skipped by seq.
   */
  private async pollTranscript(): Promise<void> {
    if (this.stage === 'uploading' || this.stage === 'queued') return;
    for (;;) {
      const query = new URLSearchParams({ limit: '500' });
      if (this.transcriptCursor) query.set('cursor', this.transcriptCursor);
      const page = await this.api.call<TranscriptPage>(
        'GET',
        `/meetings/${encodeURIComponent(this.jobId)}/transcript?${query}`,
      );
      for (const segment of page.segments) this.addLine(segment);
      if (!page.nextCursor) return;
      this.transcriptCursor = page.nextCursor;
    }
  }

  private setTransport(transport: Transport): void {
    this.transport = transport;
    this.changed();
  }

  private changed(): void {
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    const flush = () => {
      this.scheduled = false;
      for (const fn of this.listeners) fn();
    };
    if (typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible')
      requestAnimationFrame(flush);
    else setTimeout(flush, 0);
  }
}
