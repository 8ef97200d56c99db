/**
 * The logic behind every WebSocket route, one function per route. Each takes only the
 * dependencies that route calls (a `Pick` of RealtimeDeps), so each Lambda handler
 * (lambdas/ws-*) builds only those repositories and clients: its bundle loads only the SDK
 * clients it uses and it reads only its own settings. Replies go back over the management API.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { EMPTY_DELTA, publicBriefing } from '../briefing/rolling-model';
import type { RollingBriefingRepository } from '../briefing/rolling-repository';
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
import { FrameWriter } from './batch-frames';
import type { ConnectionFanout } from './connection-fanout';
import type { ConnectionRepository } from './connection-repository';
import type { CommandMessage, ServerMessage, SubscribeMessage } from './protocol';
import { jobTopic, meetingTopic } from './topics';

export interface RouteContext {
  connectionId: string;
  userId: string;
}

/** Everything some route uses; each route function names the part it needs. */
export interface RealtimeDeps {
  meetings: Pick<MeetingRepository, 'get' | 'configure' | 'appendCommand' | 'setStatusIf'>;
  segments: Pick<SegmentRepository, 'all'>;
  connections: Pick<ConnectionRepository, 'add' | 'remove' | 'subscribe' | 'unsubscribe'>;
  jobs: Pick<JobRepository, 'get'>;
  fanout: Pick<ConnectionFanout, 'post'>;
  publish: (event: PipelineEvent) => Promise<void>;
  recall: () => Promise<RecallClient | undefined>;
  logger: Logger;
}

export type ConnectDeps = { connections: Pick<ConnectionRepository, 'add'> };
export type DisconnectDeps = { connections: Pick<ConnectionRepository, 'remove'> };
export type SubscribeDeps = Pick<RealtimeDeps, 'meetings' | 'segments' | 'fanout'> & {
  connections: Pick<ConnectionRepository, 'subscribe'>;
  /** The meeting's rolling briefing, sent after the replay (absent: none is sent). */
  briefings?: Pick<RollingBriefingRepository, 'get'>;
  /**
   * Fan-out shards (core/pipeline/fanout-shards.ts): the subscription takes the meeting's next
   * slot and is in shard `floor(slot / size)`. Absent: every subscription is in shard 0.
   */
  shards?: { size: number; meetings: Pick<MeetingRepository, 'takeSubscriptionSlot'> };
};
export type UnsubscribeDeps = Pick<RealtimeDeps, 'fanout'> & {
  connections: Pick<ConnectionRepository, 'unsubscribe'>;
};
export type CommandDeps = Pick<RealtimeDeps, 'meetings' | 'fanout' | 'publish' | 'recall' | 'logger'>;
export type SubscribeJobDeps = Pick<RealtimeDeps, 'jobs' | 'fanout'> & {
  connections: Pick<ConnectionRepository, 'subscribe'>;
};
export type GetStateDeps = Pick<RealtimeDeps, 'jobs' | 'meetings' | 'fanout'> & {
  /** The meeting's rolling briefing, sent after its `state` (absent: none is sent). */
  briefings?: Pick<RollingBriefingRepository, 'get'>;
};

/** Typed failure of a route; the handler turns it into an `error` message. */
export class RouteError extends ParleyError {}

export async function connect(deps: ConnectDeps, ctx: RouteContext): Promise<void> {
  await deps.connections.add(ctx.connectionId, ctx.userId);
}

export async function disconnect(
  deps: DisconnectDeps,
  ctx: Pick<RouteContext, 'connectionId'>,
): Promise<void> {
  await deps.connections.remove(ctx.connectionId);
}

/**
 * Subscribe, then replay stored finals after `lastSeq` in order. The subscription is written
 * first, so a final stored meanwhile reaches the client live, in the replay, or both (the
 * client drops a final whose seq it already has); never neither.
 */
export async function subscribe(
  deps: SubscribeDeps,
  ctx: RouteContext,
  msg: SubscribeMessage,
): Promise<void> {
  const meeting = await readableMeeting(deps.meetings, msg.meetingId, ctx.userId);
  const shard = deps.shards
    ? Math.floor((await deps.shards.meetings.takeSubscriptionSlot(meeting.meetingId)) / deps.shards.size)
    : 0;
  const topic = meetingTopic(meeting.meetingId);
  const batch = msg.batch === true;
  await deps.connections.subscribe(topic, ctx.connectionId, ctx.userId, new Date(), shard, batch);
  const after = msg.lastSeq ?? 0;
  // A client that takes batched frames gets its replay packed, 32 KB a frame (batch-frames.ts).
  const writer = new FrameWriter((m) => deps.fanout.post(ctx.connectionId, m), batch);
  const reply = (m: ServerMessage) => writer.add(m);
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
  for await (const s of deps.segments.all(meeting.meetingId, after)) {
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
  if (!(await reply({ type: 'replay_complete', meetingId: meeting.meetingId, lastSeq: last, count }))) return;
  // A late joiner gets the current rolling briefing; later updates arrive live.
  const briefing = await currentBriefing(deps.briefings, meeting.meetingId);
  if (briefing) await reply(briefing);
  await writer.flush();
}

export async function unsubscribe(
  deps: UnsubscribeDeps,
  ctx: RouteContext,
  meetingId: string,
): Promise<void> {
  await deps.connections.unsubscribe(meetingTopic(meetingId), ctx.connectionId);
  await deps.fanout.post(ctx.connectionId, { type: 'unsubscribed', meetingId });
}

export async function command(deps: CommandDeps, ctx: RouteContext, msg: CommandMessage): Promise<void> {
  const meeting = await readableMeeting(deps.meetings, msg.meetingId, ctx.userId);
  if (!canControl(meeting, ctx.userId)) {
    throw new RouteError('FORBIDDEN', 'Only the meeting owner can control the meeting', 403);
  }
  let status: MeetingStatus = meeting.status;
  if (msg.command === 'configure') {
    if (!msg.config || (msg.config.keywords === undefined && msg.config.language === undefined)) {
      throw new RouteError('INVALID_MESSAGE', 'configure needs config.keywords and/or config.language', 400);
    }
    planCommand(meeting.status, 'configure'); // an ended meeting keeps its keywords
    await deps.meetings.configure(meeting.meetingId, msg.config);
  } else {
    status = await applyLifecycleCommand(meeting, msg.command, deps);
  }
  await recordStatusChange(meeting, status, deps);
  await deps.fanout.post(ctx.connectionId, {
    type: 'command_ack',
    meetingId: meeting.meetingId,
    command: msg.command,
    status,
    ...(msg.requestId ? { requestId: msg.requestId } : {}),
  });
}

export async function subscribeJob(deps: SubscribeJobDeps, ctx: RouteContext, jobId: string): Promise<void> {
  const job = await deps.jobs.get(jobId);
  if (!job || job.ownerId !== ctx.userId)
    throw new RouteError('JOB_NOT_FOUND', `Job ${jobId} not found`, 404);
  await deps.connections.subscribe(jobTopic(jobId), ctx.connectionId, ctx.userId);
  await deps.fanout.post(ctx.connectionId, { type: 'job_subscribed', jobId });
  await deps.fanout.post(ctx.connectionId, { type: 'state', jobId, state: jobView(job) });
}

export async function getState(
  deps: GetStateDeps,
  ctx: RouteContext,
  target: { meetingId: string } | { jobId: string },
): Promise<void> {
  if ('jobId' in target) {
    const job = await deps.jobs.get(target.jobId);
    if (!job || job.ownerId !== ctx.userId)
      throw new RouteError('JOB_NOT_FOUND', `Job ${target.jobId} not found`, 404);
    await deps.fanout.post(ctx.connectionId, { type: 'state', jobId: job.jobId, state: jobView(job) });
    return;
  }
  const m = await readableMeeting(deps.meetings, target.meetingId, ctx.userId);
  await deps.fanout.post(ctx.connectionId, {
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
  // The stored briefing may be newer than the last one pushed (pushes are spaced for large audiences).
  const briefing = await currentBriefing(deps.briefings, m.meetingId);
  if (briefing) await deps.fanout.post(ctx.connectionId, briefing);
}

/** The meeting's stored rolling briefing as a `briefing_update` with nothing marked new. */
async function currentBriefing(
  briefings: Pick<RollingBriefingRepository, 'get'> | undefined,
  meetingId: string,
): Promise<ServerMessage | undefined> {
  const briefing = await briefings?.get(meetingId);
  if (!briefing) return undefined;
  return { type: 'briefing_update', meetingId, briefing: publicBriefing(briefing), added: EMPTY_DELTA };
}

/** The same answer for "no such meeting" and "not yours": nothing leaks. */
async function readableMeeting(
  meetings: Pick<MeetingRepository, 'get'>,
  meetingId: string,
  userId: string,
): Promise<Meeting> {
  const meeting = await meetings.get(meetingId);
  if (!meeting || !canRead(meeting, userId)) {
    throw new RouteError('MEETING_NOT_FOUND', `Meeting ${meetingId} not found`, 404);
  }
  return meeting;
}
