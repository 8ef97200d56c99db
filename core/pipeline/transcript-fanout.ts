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
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { BackoffOptions } from '../backoff';
import type { RollingBriefings } from '../briefing/rolling-briefings';
import type { MeetingRepository } from '../meetings/repository';
import { packMessages } from '../realtime/batch-frames';
import type { ConnectionFanout } from '../realtime/connection-fanout';
import {
  type ConnectionRepository,
  jobTopic,
  meetingTopic,
  type Subscriber,
} from '../realtime/connection-repository';
import { alertMessage, type KeywordAlerts, occurrences } from '../realtime/keyword-alerts';
import { jobServerMessage, type ServerMessage } from '../realtime/protocol';
import type { SegmentRepository } from '../transcript/segment-repository';
import type { JobEvent, PipelineEvent, SegmentTiming, StatusEvent, TranscriptEvent } from './events';
import { allShards, BRIEFING_INLINE_MAX, type ShardDispatcher, splitShards } from './fanout-shards';
import type { InterimAudience } from './interim-audience';
import { viewerLines } from './interim-coalescer';
import { sent } from './segment-timing';
import { SubscriberDelivery } from './subscriber-delivery';

export { DELIVERY_POLICY, DeliveryError } from './subscriber-delivery';

export interface TranscriptFanoutDeps {
  meetings: Pick<MeetingRepository, 'get' | 'advanceLastSeq' | 'deliveredThrough'>;
  segments: Pick<SegmentRepository, 'putFinal'>;
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
  /** Hands shards 1… of a large meeting to the shard queue; without it, this posts to every shard. */
  shards?: Pick<ShardDispatcher, 'dispatch'>;
  /**
   * Interims' audience of the last second (core/pipeline/interim-audience.ts; one per container).
   * Without it, every interim reads its meeting's subscribers and keywords.
   */
  interimAudience?: Pick<InterimAudience<Subscriber[]>, 'get' | 'set'>;
}

/** Where an event came from: its SQS record's id keys its shard messages across redeliveries. */
export interface EventSource {
  id: string;
}

/** One event's deliveries: the source id and a counter, the shard messages' deduplication key. */
interface Deliveries {
  id: string;
  next: number;
}

export class TranscriptFanout {
  /** Keywords per meeting, read once per batch: create one TranscriptFanout per batch. */
  private readonly keywordCache = new Map<string, Promise<string[]>>();

  private readonly delivery: SubscriberDelivery;

  constructor(private readonly deps: TranscriptFanoutDeps) {
    this.delivery = new SubscriberDelivery(deps);
  }

  async handle(event: PipelineEvent, source?: EventSource): Promise<void> {
    const d: Deliveries = { id: source?.id ?? randomUUID(), next: 0 };
    if (event.type === 'status') return this.status(event, d);
    if (event.type === 'job') return this.job(event, d);
    if (event.type === 'interim_dropped') {
      const subscribers = await this.deps.connections.subscribers(meetingTopic(event.meetingId));
      const { meetingId, beforeSeq } = event;
      return this.deliver(d, meetingId, subscribers, [{ type: 'interim_dropped', meetingId, beforeSeq }]);
    }
    // A coalesced interim re-sent for viewers: its line only (alerts came from its first copy).
    if (event.display === 'refresh') return this.refreshLine(event, d);
    return this.transcript(event, d);
  }

  private async refreshLine(event: TranscriptEvent, d: Deliveries): Promise<void> {
    const fanoutAt = Date.now();
    const subscribers = await this.deps.connections.subscribers(meetingTopic(event.meetingId));
    await this.deliver(
      d,
      event.meetingId,
      subscribers,
      viewerLines({ ...event, segment: sent(event.segment, fanoutAt) }),
    );
  }

  /** File-job progress: posted to the job's subscribers (the worker keeps the job's state). */
  private async job(event: JobEvent, d: Deliveries): Promise<void> {
    const subscribers = await this.deps.connections.subscribers(jobTopic(event.jobId));
    await this.deliver(
      d,
      event.jobId,
      subscribers,
      event.messages.map((m) => jobServerMessage(event.jobId, m)),
    );
  }

  private async transcript(event: TranscriptEvent, d: Deliveries): Promise<void> {
    const fanoutAt = Date.now();
    const { meetingId } = event;
    let { segment } = event;
    if (segment.isFinal) {
      // The meeting's keywords do not depend on the final: read while it is stored.
      const keywords = this.keywords(meetingId);
      const [stored] = await allOrFirstFailure([this.deps.segments.putFinal(meetingId, segment), keywords]);
      // Stored before: a redelivery. Posted already if the meeting's lastSeq (the delivered
      // mark, written after every post) reached it; else its post never finished: post again.
      if (stored === 'duplicate' && segment.seq <= (await this.deps.meetings.deliveredThrough(meetingId))) {
        this.deps.logger.debug('duplicate final skipped', { meetingId, seq: segment.seq });
        return;
      }
    }
    // Both reads at once, each only after the final is stored. Every interim is read for
    // keywords, whether or not its transcript message is posted. Subscribers are read after the
    // final is stored, so a client subscribing meanwhile finds it either here or in its
    // replay: never in neither.
    // An interim may use its meeting's audience of the last second (core/pipeline/interim-audience.ts),
    // and raises its alerts from the keywords the gateway judged it by, when it sent them
    // (events.ts `keywords`): then only a subscriber read is left on an interim's path.
    const cached = segment.isFinal ? undefined : this.deps.interimAudience?.get(meetingId);
    const known = segment.isFinal ? undefined : (event.keywords ?? cached?.keywords);
    const [alerts, subscribers] = await allOrFirstFailure([
      this.keywordAlerts(meetingId, segment, known),
      cached
        ? Promise.resolve(cached.subscribers)
        : this.deps.connections.subscribers(meetingTopic(meetingId)),
    ]);
    if (!cached) {
      const keywords = known ?? (await this.keywords(meetingId));
      this.deps.interimAudience?.set(meetingId, { subscribers, keywords });
    }
    segment = sent(segment, fanoutAt);
    if (segment.timing) this.deps.onTiming?.(segment.timing, segment.isFinal);
    // Coalesced interims are not posted as lines; their alerts still are.
    await this.deliver(d, meetingId, subscribers, [...viewerLines({ ...event, segment }), ...alerts]);
    if (segment.isFinal) {
      // The delivered mark, after every post: one conditional write on the meeting item (lastSeq
      // and lastFinalEndMs, never lowered). If it fails the record is retried, and its redelivery
      // finds seq above lastSeq and posts it again (clients drop seqs they have). A final that
      // arrives out of order (seq ≤ lastSeq: a DLQ redrive, an expired handover hold) is posted
      // on its first delivery and leaves lastSeq alone.
      const { seq, endMs } = segment;
      await this.deps.meetings.advanceLastSeq(meetingId, seq, endMs);
      // Spaced by the audience the final reached (core/briefing/rolling-briefings.ts).
      const audience = subscribers.length;
      await this.rollingBriefing(d, meetingId, () => this.deps.rolling?.afterFinal(meetingId, seq, audience));
    }
  }

  /** Provisional alerts of an interim; confirmations and withdrawals of a final. */
  private async keywordAlerts(
    meetingId: string,
    segment: TranscriptEvent['segment'],
    known?: string[],
  ): Promise<ServerMessage[]> {
    const keywords = known ?? (await this.keywords(meetingId));
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
    d: Deliveries,
    meetingId: string,
    update: () => Promise<ServerMessage | undefined> | undefined,
  ): Promise<void> {
    if (!this.deps.rolling) return;
    try {
      const message = await update();
      if (!message) return;
      const subscribers = await this.deps.connections.subscribers(meetingTopic(meetingId));
      // A large audience's update goes to every shard, 0 too, through the shard queue: this
      // meeting's next final is not held behind its posts (core/pipeline/fanout-shards.ts).
      if (!this.deps.shards || subscribers.length <= BRIEFING_INLINE_MAX) {
        return await this.deliver(d, meetingId, subscribers, [message]);
      }
      await this.deps.shards.dispatch(meetingId, allShards(subscribers), [message], `${d.id}:${d.next++}`);
    } catch (error) {
      this.deps.logger.warn('rolling briefing not updated', { meetingId, error: String(error) });
    }
  }

  private async status(event: StatusEvent, d: Deliveries): Promise<void> {
    const subscribers = await this.deps.connections.subscribers(meetingTopic(event.meetingId));
    await this.deliver(d, event.meetingId, subscribers, [
      { type: 'status', meetingId: event.meetingId, status: event.status, timestamp: event.at },
    ]);
    if (event.status === 'ended') {
      await this.rollingBriefing(d, event.meetingId, () => this.deps.rolling?.afterEnd(event.meetingId));
    }
  }

  /**
   * Posts `messages` to every subscriber: one frame each to those that take batched frames
   * (core/realtime/batch-frames.ts), one frame a message to the others. Both must succeed
   * before the caller goes on (a final is marked delivered after this).
   */
  private async deliver(
    d: Deliveries,
    topicId: string,
    subscribers: readonly Subscriber[],
    messages: ServerMessage[],
  ): Promise<void> {
    // The shard messages' deduplication key: the same for the same delivery of a redelivered record.
    const key = `${d.id}:${d.next++}`;
    const batchers = messages.length > 1 ? subscribers.filter((s) => s.batch) : [];
    if (batchers.length === 0) return this.deliverTo(key, topicId, subscribers, messages);
    const outcomes = await Promise.allSettled([
      this.deliverTo(
        key,
        topicId,
        subscribers.filter((s) => !s.batch),
        messages,
      ),
      this.deliverTo(`${key}b`, topicId, batchers, packMessages(messages)),
    ]);
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
  }

  /**
   * Posts `messages` to shard 0 and hands the other shards to the shard queue, at once. Both
   * must succeed before the caller goes on.
   */
  private async deliverTo(
    key: string,
    topicId: string,
    subscribers: readonly Subscriber[],
    messages: ServerMessage[],
  ): Promise<void> {
    if (subscribers.length === 0) return;
    const { first, others } = splitShards(subscribers);
    const shards = this.deps.shards;
    if (others.size === 0 || !shards) {
      return this.delivery.deliver(
        subscribers.map((s) => s.connectionId),
        messages,
      );
    }
    const [sent, posted] = await Promise.allSettled([
      shards.dispatch(topicId, others, messages, key),
      this.delivery.deliver(first, messages),
    ]);
    if (sent.status === 'rejected') throw sent.reason;
    if (posted.status === 'rejected') throw posted.reason;
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

/**
 * Like Promise.all, but waits for every promise to settle before throwing the first failure:
 * no DynamoDB call of a failed record is still running when the record is retried.
 */
async function allOrFirstFailure<T extends readonly unknown[]>(
  promises: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const outcomes = await Promise.allSettled(promises);
  for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
  return outcomes.map((o) => (o as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
