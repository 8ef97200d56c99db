/**
 * The logic behind every WebSocket route. Lambda handlers (lambdas/ws-*) validate the event
 * and call one of these; replies go back over the management API.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ParleyError } from '../errors';
import { jobView } from '../jobs/model';
import type { JobRepository } from '../jobs/repository';
import { applyLifecycleCommand, recordStatusChange } from '../meetings/commands';
import { canControl, canRead, planCommand } from '../meetings/lifecycle';
import type { Meeting, MeetingStatus } from '../meetings/model';
import type { MeetingRepository } from '../meetings/repository';
import type { PipelineEvent } from '../pipeline/events';
import type { RecallClient } from '../recall/client';
import type { SegmentRepository } from '../transcript/segment-repository';
import type { ConnectionFanout } from './connection-fanout';
import { type ConnectionRepository, jobTopic, meetingTopic } from './connection-repository';
import type { CommandMessage, ServerMessage, SubscribeMessage } from './protocol';

export interface RouteContext {
  connectionId: string;
  userId: string;
}

export interface RealtimeDeps {
  meetings: MeetingRepository;
  segments: SegmentRepository;
  connections: ConnectionRepository;
  jobs: JobRepository;
  fanout: ConnectionFanout;
  publish: (event: PipelineEvent) => Promise<void>;
  recall: () => Promise<RecallClient | undefined>;
  logger: Logger;
}

/** Typed failure of a route; the handler turns it into an `error` message. */
export class RouteError extends ParleyError {}

export class RealtimeRoutes {
  constructor(private readonly deps: RealtimeDeps) {}

  async connect(ctx: RouteContext): Promise<void> {
    await this.deps.connections.add(ctx.connectionId, ctx.userId);
  }

  async disconnect(ctx: Pick<RouteContext, 'connectionId'>): Promise<void> {
    await this.deps.connections.remove(ctx.connectionId);
  }

  /**
   * Subscribe, then replay stored finals after `lastSeq` in order. The subscription is written
   * first, so a final stored meanwhile reaches the client live, in the replay, or both (the
   * client drops a final whose seq it already has); never neither.
   */
  async subscribe(ctx: RouteContext, msg: SubscribeMessage): Promise<void> {
    const meeting = await this.readableMeeting(msg.meetingId, ctx.userId);
    await this.deps.connections.subscribe(meetingTopic(meeting.meetingId), ctx.connectionId, ctx.userId);
    const after = msg.lastSeq ?? 0;
    const reply = (m: ServerMessage) => this.deps.fanout.post(ctx.connectionId, m);
    if (
      !(await reply({
        type: 'subscribed',
        meetingId: meeting.meetingId,
        status: meeting.status,
        lastSeq: meeting.lastSeq ?? 0,
      }))
    )
      return;
    let count = 0;
    let last = after;
    for await (const s of this.deps.segments.all(meeting.meetingId, after)) {
      const { deliveredAt: _d, meetingId: _m, ...segment } = s;
      if (
        !(await reply({
          type: 'transcript',
          meetingId: meeting.meetingId,
          transcript: { ...segment, isFinal: true },
        }))
      )
        return;
      count++;
      last = s.seq;
    }
    await reply({ type: 'replay_complete', meetingId: meeting.meetingId, lastSeq: last, count });
  }

  async unsubscribe(ctx: RouteContext, meetingId: string): Promise<void> {
    await this.deps.connections.unsubscribe(meetingTopic(meetingId), ctx.connectionId);
    await this.deps.fanout.post(ctx.connectionId, { type: 'unsubscribed', meetingId });
  }

  async command(ctx: RouteContext, msg: CommandMessage): Promise<void> {
    const meeting = await this.readableMeeting(msg.meetingId, ctx.userId);
    if (!canControl(meeting, ctx.userId)) {
      throw new RouteError('FORBIDDEN', 'Only the meeting owner can control the meeting', 403);
    }
    let status: MeetingStatus = meeting.status;
    if (msg.command === 'configure') {
      if (!msg.config || (msg.config.keywords === undefined && msg.config.language === undefined)) {
        throw new RouteError(
          'INVALID_MESSAGE',
          'configure needs config.keywords and/or config.language',
          400,
        );
      }
      planCommand(meeting.status, 'configure'); // an ended meeting keeps its keywords
      await this.deps.meetings.configure(meeting.meetingId, msg.config);
    } else {
      status = await applyLifecycleCommand(meeting, msg.command, this.deps);
    }
    await recordStatusChange(meeting, status, this.deps);
    await this.deps.fanout.post(ctx.connectionId, {
      type: 'command_ack',
      meetingId: meeting.meetingId,
      command: msg.command,
      status,
      ...(msg.requestId ? { requestId: msg.requestId } : {}),
    });
  }

  async subscribeJob(ctx: RouteContext, jobId: string): Promise<void> {
    const job = await this.deps.jobs.get(jobId);
    if (!job || job.ownerId !== ctx.userId)
      throw new RouteError('JOB_NOT_FOUND', `Job ${jobId} not found`, 404);
    await this.deps.connections.subscribe(jobTopic(jobId), ctx.connectionId, ctx.userId);
    await this.deps.fanout.post(ctx.connectionId, { type: 'job_subscribed', jobId });
    await this.deps.fanout.post(ctx.connectionId, { type: 'state', jobId, state: jobView(job) });
  }

  async getState(ctx: RouteContext, target: { meetingId: string } | { jobId: string }): Promise<void> {
    if ('jobId' in target) {
      const job = await this.deps.jobs.get(target.jobId);
      if (!job || job.ownerId !== ctx.userId)
        throw new RouteError('JOB_NOT_FOUND', `Job ${target.jobId} not found`, 404);
      await this.deps.fanout.post(ctx.connectionId, { type: 'state', jobId: job.jobId, state: jobView(job) });
      return;
    }
    const m = await this.readableMeeting(target.meetingId, ctx.userId);
    await this.deps.fanout.post(ctx.connectionId, {
      type: 'state',
      meetingId: m.meetingId,
      state: {
        status: m.status,
        lastSeq: m.lastSeq ?? 0,
        title: m.title,
        keywords: m.keywords,
        language: m.language,
        paused: m.desiredState === 'pause',
      },
    });
  }

  async ping(ctx: RouteContext, timestamp: number | undefined): Promise<void> {
    await this.deps.fanout.post(ctx.connectionId, {
      type: 'pong',
      ...(timestamp !== undefined ? { timestamp } : {}),
      serverTime: Date.now(),
    });
  }

  /** The same answer for "no such meeting" and "not yours": nothing leaks. */
  private async readableMeeting(meetingId: string, userId: string): Promise<Meeting> {
    const meeting = await this.deps.meetings.get(meetingId);
    if (!meeting || !canRead(meeting, userId)) {
      throw new RouteError('MEETING_NOT_FOUND', `Meeting ${meetingId} not found`, 404);
    }
    return meeting;
  }
}
