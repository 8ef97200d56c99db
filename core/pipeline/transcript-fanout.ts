/**
 * What the fan-out Lambda does with one pipeline event: store a final once, detect keyword
 * alerts, and post transcript / alert / status messages to every subscriber of the meeting.
 * A thrown error fails the record (the batch processor then retries it and the rest of its
 * meeting's group); a gone connection does not.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { MeetingRepository } from '../meetings/repository';
import type { ConnectionFanout } from '../realtime/connection-fanout';
import { type ConnectionRepository, jobTopic, meetingTopic } from '../realtime/connection-repository';
import { findKeywords } from '../realtime/keywords';
import { jobServerMessage, type ServerMessage } from '../realtime/protocol';
import type { SegmentRepository } from '../transcript/segment-repository';
import type { JobEvent, PipelineEvent, StatusEvent, TranscriptEvent } from './events';

export interface TranscriptFanoutDeps {
  meetings: Pick<MeetingRepository, 'get' | 'advanceLastSeq'>;
  segments: Pick<SegmentRepository, 'putFinal' | 'markDelivered'>;
  connections: Pick<ConnectionRepository, 'subscribers'>;
  fanout: Pick<ConnectionFanout, 'broadcast'>;
  logger: Logger;
}

export class DeliveryError extends Error {
  constructor(
    readonly failed: number,
    readonly firstError: unknown,
  ) {
    super(`${failed} connection(s) could not be reached: ${String(firstError)}`);
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
    return this.transcript(event);
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
    const { meetingId, segment } = event;
    if (segment.isFinal) {
      const stored = await this.deps.segments.putFinal(meetingId, segment);
      if (stored === 'delivered') {
        this.deps.logger.debug('duplicate final skipped', { meetingId, seq: segment.seq });
        return;
      }
    }
    // Subscribers are read after the final is stored, so a client subscribing meanwhile
    // finds it either here or in its replay: never in neither.
    const subscribers = await this.deps.connections.subscribers(meetingTopic(meetingId));
    const messages: ServerMessage[] = [{ type: 'transcript', meetingId, transcript: segment }];
    if (segment.isFinal) {
      const keywords = await this.keywords(meetingId);
      for (const hit of findKeywords(segment.text, keywords)) {
        messages.push({
          type: 'keyword_alert',
          meetingId,
          keyword: hit.keyword,
          segmentId: segment.id,
          seq: segment.seq,
          text: segment.text,
          timestamp: segment.timestamp,
        });
      }
    }
    await this.deliver(
      subscribers.map((s) => s.connectionId),
      messages,
    );
    if (segment.isFinal) {
      await this.deps.segments.markDelivered(meetingId, segment.seq);
      await this.deps.meetings.advanceLastSeq(meetingId, segment.seq);
    }
  }

  private async status(event: StatusEvent): Promise<void> {
    const subscribers = await this.deps.connections.subscribers(meetingTopic(event.meetingId));
    await this.deliver(
      subscribers.map((s) => s.connectionId),
      [{ type: 'status', meetingId: event.meetingId, status: event.status, timestamp: event.at }],
    );
  }

  private async deliver(connectionIds: string[], messages: ServerMessage[]): Promise<void> {
    if (connectionIds.length === 0) return;
    let targets = connectionIds;
    for (const message of messages) {
      const result = await this.deps.fanout.broadcast(targets, message);
      if (result.failed.length > 0) throw new DeliveryError(result.failed.length, result.failed[0]?.error);
      if (result.gone.length > 0) targets = targets.filter((id) => !result.gone.includes(id));
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
