/**
 * What the fan-out Lambda does with one pipeline event: store a final once, detect keyword
 * alerts, and post transcript / alert / status messages to every subscriber of the meeting.
 *
 * A subscriber receives every final or is disconnected: a post that fails is retried to that
 * connection only (with backoff, the messages it has not had, in order); a connection that still
 * fails is closed (DeleteConnection) and unsubscribed, so its client reconnects and replays from
 * `lastSeq`. The other subscribers get each message exactly once. A thrown error fails the
 * record (the batch processor then retries it and the rest of its meeting's group): only when a
 * failing connection could not even be closed. A gone connection is not an error.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type BackoffOptions, retry } from '../backoff';
import type { RollingBriefings } from '../briefing/rolling-briefings';
import type { MeetingRepository } from '../meetings/repository';
import type { ConnectionFanout } from '../realtime/connection-fanout';
import { type ConnectionRepository, jobTopic, meetingTopic } from '../realtime/connection-repository';
import { alertMessage, type KeywordAlerts, occurrences } from '../realtime/keyword-alerts';
import { jobServerMessage, type ServerMessage } from '../realtime/protocol';
import type { SegmentRepository } from '../transcript/segment-repository';
import type { JobEvent, PipelineEvent, SegmentTiming, StatusEvent, TranscriptEvent } from './events';
import { viewerLines } from './interim-coalescer';
import { sent } from './segment-timing';

export interface TranscriptFanoutDeps {
  meetings: Pick<MeetingRepository, 'get' | 'advanceLastSeq'>;
  segments: Pick<SegmentRepository, 'putFinal' | 'markDelivered'>;
  connections: Pick<ConnectionRepository, 'subscribers'>;
  fanout: Pick<ConnectionFanout, 'broadcast' | 'post' | 'evict'>;
  logger: Logger;
  /** Retries of one failing connection before it is disconnected (first post included). */
  delivery?: Pick<BackoffOptions, 'maxAttempts' | 'baseMs' | 'maxDelayMs'>;
  /** Counts evicted subscribers (a metric on AWS). */
  onEvicted?: (connectionId: string) => void;
  /** Each transcript event's timing as posted (the per-hop latency metrics on AWS). */
  onTiming?: (timing: SegmentTiming, isFinal: boolean) => void;
  /**
   * Early alerts from interims (core/realtime/keyword-alerts.ts; one per container, it caches).
   * Without it, alerts are raised from finals only.
   */
  alerts?: Pick<KeywordAlerts, 'interim' | 'final'>;
  /** The rolling briefing (core/briefing/rolling-briefings.ts; one per container). */
  rolling?: Pick<RollingBriefings, 'afterFinal' | 'afterEnd'>;
}

/** Default per-connection delivery policy: 4 posts over about 0.7 s, then disconnect. */
export const DELIVERY_POLICY = { maxAttempts: 4, baseMs: 100, maxDelayMs: 400 } as const;

/** Some failing connections could be neither reached nor disconnected. */
export class DeliveryError extends Error {
  constructor(
    readonly failed: number,
    readonly firstError: unknown,
  ) {
    super(`${failed} connection(s) could be neither reached nor disconnected: ${String(firstError)}`);
    this.name = 'DeliveryError';
  }
}

export class TranscriptFanout {
  /** Keywords per meeting, read once per batch: create one TranscriptFanout per batch. */
  private readonly keywordCache = new Map<string, Promise<string[]>>();

  constructor(private readonly deps: TranscriptFanoutDeps) {}

  async handle(event: PipelineEvent): Promise<void> {
    if (event.type === 'status') return this.status(event);
    if (event.type === 'job') return this.job(event);
    if (event.type === 'interim_dropped') {
      const subscribers = await this.deps.connections.subscribers(meetingTopic(event.meetingId));
      const { meetingId, beforeSeq } = event;
      return this.deliver(
        subscribers.map((s) => s.connectionId),
        [{ type: 'interim_dropped', meetingId, beforeSeq }],
      );
    }
    // A coalesced interim re-sent for viewers: its line only (alerts came from its first copy).
    if (event.display === 'refresh') return this.refreshLine(event);
    return this.transcript(event);
  }

  private async refreshLine(event: TranscriptEvent): Promise<void> {
    const fanoutAt = Date.now();
    const subscribers = await this.deps.connections.subscribers(meetingTopic(event.meetingId));
    await this.deliver(
      subscribers.map((s) => s.connectionId),
      viewerLines({ ...event, segment: sent(event.segment, fanoutAt) }),
    );
  }

  /** File-job progress: posted to the job's subscribers (the worker keeps the job's state). */
  private async job(event: JobEvent): Promise<void> {
    const subscribers = await this.deps.connections.subscribers(jobTopic(event.jobId));
    await this.deliver(
      subscribers.map((s) => s.connectionId),
      event.messages.map((m) => jobServerMessage(event.jobId, m)),
    );
  }

  private async transcript(event: TranscriptEvent): Promise<void> {
    const fanoutAt = Date.now();
    const { meetingId } = event;
    let { segment } = event;
    if (segment.isFinal) {
      const stored = await this.deps.segments.putFinal(meetingId, segment);
      if (stored === 'delivered') {
        this.deps.logger.debug('duplicate final skipped', { meetingId, seq: segment.seq });
        return;
      }
    }
    // Every interim is read for keywords, whether or not its transcript message is posted.
    const alerts = await this.keywordAlerts(meetingId, segment);
    // Subscribers are read after the final is stored, so a client subscribing meanwhile
    // finds it either here or in its replay: never in neither.
    const subscribers = await this.deps.connections.subscribers(meetingTopic(meetingId));
    const targets = subscribers.map((s) => s.connectionId);
    segment = sent(segment, fanoutAt);
    if (segment.timing) this.deps.onTiming?.(segment.timing, segment.isFinal);
    // Coalesced interims are not posted as lines; their alerts still are.
    await this.deliver(targets, [...viewerLines({ ...event, segment }), ...alerts]);
    if (segment.isFinal) {
      await this.deps.segments.markDelivered(meetingId, segment.seq);
      await this.deps.meetings.advanceLastSeq(meetingId, segment.seq, segment.endMs);
      await this.rollingBriefing(meetingId, () => this.deps.rolling?.afterFinal(meetingId, segment.seq));
    }
  }

  /** Provisional alerts of an interim; confirmations and withdrawals of a final. */
  private async keywordAlerts(
    meetingId: string,
    segment: TranscriptEvent['segment'],
  ): Promise<ServerMessage[]> {
    const keywords = await this.keywords(meetingId);
    const alerts = this.deps.alerts;
    if (!alerts) {
      if (!segment.isFinal) return [];
      return occurrences(segment.text, keywords).map((o) => alertMessage(meetingId, segment, o, 'confirmed'));
    }
    if (keywords.length === 0 && !segment.isFinal) return [];
    return segment.isFinal
      ? alerts.final(meetingId, segment, keywords)
      : alerts.interim(meetingId, segment, keywords);
  }

  /**
   * Posts a rolling briefing update when one is due. A failed update never fails the record:
   * the transcript is delivered, and the next final tries again.
   */
  private async rollingBriefing(
    meetingId: string,
    update: () => Promise<ServerMessage | undefined> | undefined,
  ): Promise<void> {
    if (!this.deps.rolling) return;
    try {
      const message = await update();
      if (!message) return;
      const subscribers = await this.deps.connections.subscribers(meetingTopic(meetingId));
      await this.deliver(
        subscribers.map((s) => s.connectionId),
        [message],
      );
    } catch (error) {
      this.deps.logger.warn('rolling briefing not updated', { meetingId, error: String(error) });
    }
  }

  private async status(event: StatusEvent): Promise<void> {
    const subscribers = await this.deps.connections.subscribers(meetingTopic(event.meetingId));
    await this.deliver(
      subscribers.map((s) => s.connectionId),
      [{ type: 'status', meetingId: event.meetingId, status: event.status, timestamp: event.at }],
    );
    if (event.status === 'ended') {
      await this.rollingBriefing(event.meetingId, () => this.deps.rolling?.afterEnd(event.meetingId));
    }
  }

  private async deliver(connectionIds: string[], messages: ServerMessage[]): Promise<void> {
    if (connectionIds.length === 0) return;
    /** Failing connection → index of the first message it has not received. */
    const failing = new Map<string, number>();
    let targets = connectionIds;
    for (const [index, message] of messages.entries()) {
      const result = await this.deps.fanout.broadcast(targets, message);
      for (const { connectionId } of result.failed) failing.set(connectionId, index);
      if (result.gone.length > 0 || result.failed.length > 0) {
        targets = targets.filter((id) => !failing.has(id) && !result.gone.includes(id));
      }
    }
    if (failing.size === 0) return;
    const outcomes = await Promise.allSettled(
      [...failing].map(([connectionId, from]) => this.catchUp(connectionId, messages.slice(from))),
    );
    const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    if (errors.length > 0) throw new DeliveryError(errors.length, errors[0]);
  }

  /** Retries one connection alone; disconnects it when it keeps failing. */
  private async catchUp(connectionId: string, messages: ServerMessage[]): Promise<void> {
    const policy = { ...DELIVERY_POLICY, ...this.deps.delivery };
    let next = 0;
    try {
      await retry(
        async () => {
          while (next < messages.length) {
            // false: gone (already removed); nothing more to deliver to it.
            if (!(await this.deps.fanout.post(connectionId, messages[next] as ServerMessage))) return;
            next++;
          }
        },
        {
          ...policy,
          // The broadcast was the first attempt.
          maxAttempts: Math.max(1, policy.maxAttempts - 1),
          onRetry: ({ attempt, error }) =>
            this.deps.logger.debug('retrying one subscriber', {
              connectionId,
              attempt,
              error: String(error),
            }),
        },
      );
    } catch (error) {
      this.deps.logger.warn('a subscriber keeps failing; disconnecting it so it reconnects and replays', {
        connectionId,
        error: String(error),
      });
      await this.deps.fanout.evict(connectionId);
      this.deps.onEvicted?.(connectionId);
    }
  }

  private keywords(meetingId: string): Promise<string[]> {
    let cached = this.keywordCache.get(meetingId);
    if (!cached) {
      cached = this.deps.meetings.get(meetingId).then((m) => m?.keywords ?? []);
      this.keywordCache.set(meetingId, cached);
    }
    return cached;
  }
}
