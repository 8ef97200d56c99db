/**
 * The REST API's routes, as data: which Lambda serves each method and path, whether the JWT
 * authorizer protects it, and what it takes and returns. The OpenAPI document (openapi.ts),
 * local mode's HTTP routes (local/http-routes.ts) and the CDK stack all read this one table,
 * so they cannot drift. What each Lambda needs (environment, tables, queues, secrets) is in
 * REST_LAMBDAS below. Plain data: nothing here imports an SDK or aws-cdk-lib.
 */
import type { z } from 'zod';
import type { RestErrorCode } from './errors';
import {
  AskRequestSchema,
  AskResponseSchema,
  BriefSchema,
  CreateMeetingRequestSchema,
  HealthSchema,
  ListMeetingsQuerySchema,
  MeetingListSchema,
  MeetingSchema,
  MeetingStatusSchema,
  RecallWebhookSchema,
  RecordingSchema,
  ShareRequestSchema,
  SharesSchema,
  TranscriptPageSchema,
  TranscriptQuerySchema,
  WebhookAckSchema,
} from './schemas';

export type TableAccess = 'read' | 'readWrite';

export interface RestLambdaDefinition {
  readonly description: string;
  /** Environment variables the handler reads (besides AWS_REGION, POWERTOOLS_* and LOG_LEVEL). */
  readonly env: readonly string[];
  /** Secrets by name: the stack sets `<NAME>_SECRET_ARN` and grants secretsmanager:GetSecretValue. */
  readonly secrets: readonly string[];
  /** Tables (core/resources.ts TABLES keys) and how they are used; indexes included. */
  readonly tables: Readonly<
    Partial<Record<'meetings' | 'segments' | 'briefings' | 'shares' | 'alerts', TableAccess>>
  >;
  /** `send`: sqs:SendMessage; `attributes`: sqs:GetQueueAttributes. */
  readonly queues: Readonly<Partial<Record<'transcriptEvents', readonly ('send' | 'attributes')[]>>>;
  /** Calls out of AWS (Recall.ai, OpenAI): the function needs internet egress. */
  readonly egress: readonly ('recall' | 'openai')[];
  /** Seconds; API Gateway HTTP APIs stop waiting after 30 s. */
  readonly timeoutSeconds: number;
}

const RECALL_ENV = ['RECALL_BASE_URL'] as const;
const OPENAI_ENV = [
  'OPENAI_BASE_URL',
  'OPENAI_MODEL',
  'OPENAI_TTS_MODEL',
  'OPENAI_TTS_VOICE',
  'OPENAI_CONTEXT_CHARS',
  'OPENAI_TIMEOUT_MS',
  'OPENAI_MAP_CONCURRENCY',
] as const;

/** One entry per Lambda (folder lambdas/<name>/handler.ts). */
export const REST_LAMBDAS = {
  'http-create-meeting': {
    description: 'POST /meetings: meeting, endpoint token and Recall bot',
    env: ['MEETINGS_TABLE', 'AUDIO_GATEWAY_URL', 'PARLEY_LOCAL', ...RECALL_ENV],
    secrets: ['RECALL_API_KEY'],
    tables: { meetings: 'readWrite' },
    queues: {},
    egress: ['recall'],
    timeoutSeconds: 29,
  },
  'http-list-meetings': {
    description: 'GET /meetings (byOwner index, and the shares table for meetings shared with the caller)',
    env: ['MEETINGS_TABLE', 'SHARES_TABLE'],
    secrets: [],
    tables: { meetings: 'read', shares: 'read' },
    queues: {},
    egress: [],
    timeoutSeconds: 10,
  },
  'http-get-meeting': {
    description: 'GET /meetings/{meetingId}',
    env: ['MEETINGS_TABLE'],
    secrets: [],
    tables: { meetings: 'read' },
    queues: {},
    egress: [],
    timeoutSeconds: 10,
  },
  'http-get-meeting-status': {
    description: 'GET /meetings/{meetingId}/status',
    env: ['MEETINGS_TABLE'],
    secrets: [],
    tables: { meetings: 'read' },
    queues: {},
    egress: [],
    timeoutSeconds: 10,
  },
  'http-leave-meeting': {
    description: 'POST /meetings/{meetingId}/leave: the bot leaves; status event to subscribers',
    env: ['MEETINGS_TABLE', 'TRANSCRIPT_QUEUE_URL', ...RECALL_ENV],
    secrets: ['RECALL_API_KEY'],
    tables: { meetings: 'readWrite' },
    queues: { transcriptEvents: ['send'] },
    egress: ['recall'],
    timeoutSeconds: 29,
  },
  'http-share-meeting': {
    description: 'POST /meetings/{meetingId}/shares',
    env: ['MEETINGS_TABLE', 'SHARES_TABLE'],
    secrets: [],
    tables: { meetings: 'readWrite', shares: 'readWrite' },
    queues: {},
    egress: [],
    timeoutSeconds: 10,
  },
  'http-unshare-meeting': {
    description: 'DELETE /meetings/{meetingId}/shares/{userId}',
    env: ['MEETINGS_TABLE', 'SHARES_TABLE'],
    secrets: [],
    tables: { meetings: 'readWrite', shares: 'readWrite' },
    queues: {},
    egress: [],
    timeoutSeconds: 10,
  },
  'http-delete-meeting': {
    description:
      'DELETE /meetings/{meetingId}: an ended meeting, its recording, transcript, alerts, briefings, shares',
    env: [
      'MEETINGS_TABLE',
      'SEGMENTS_TABLE',
      'ALERTS_TABLE',
      'BRIEFINGS_TABLE',
      'SHARES_TABLE',
      'MEDIA_BUCKET',
    ],
    secrets: [],
    tables: {
      meetings: 'readWrite',
      segments: 'readWrite',
      alerts: 'readWrite',
      briefings: 'readWrite',
      shares: 'readWrite',
    },
    queues: {},
    egress: [],
    timeoutSeconds: 29,
  },
  'http-get-transcript': {
    description: 'GET /meetings/{meetingId}/transcript (JSON pages, txt/srt/vtt files)',
    env: ['MEETINGS_TABLE', 'SEGMENTS_TABLE'],
    secrets: [],
    tables: { meetings: 'read', segments: 'read' },
    queues: {},
    egress: [],
    timeoutSeconds: 29,
  },
  'http-get-brief': {
    description: 'GET /meetings/{meetingId}/brief (cached in the briefings table)',
    env: ['MEETINGS_TABLE', 'SEGMENTS_TABLE', 'BRIEFINGS_TABLE', ...OPENAI_ENV],
    secrets: ['OPENAI_API_KEY'],
    tables: { meetings: 'read', segments: 'read', briefings: 'readWrite' },
    queues: {},
    egress: ['openai'],
    timeoutSeconds: 29,
  },
  'http-ask': {
    description: 'POST /meetings/{meetingId}/ask (optionally spoken in the call)',
    env: ['MEETINGS_TABLE', 'SEGMENTS_TABLE', ...OPENAI_ENV, ...RECALL_ENV],
    secrets: ['OPENAI_API_KEY', 'RECALL_API_KEY'],
    tables: { meetings: 'read', segments: 'read' },
    queues: {},
    egress: ['openai', 'recall'],
    timeoutSeconds: 29,
  },
  'http-recall-webhook': {
    description: 'POST /webhooks/recall: Svix-signed bot status webhooks (byBot index)',
    env: ['MEETINGS_TABLE', 'TRANSCRIPT_QUEUE_URL'],
    secrets: ['RECALL_WEBHOOK_SECRET'],
    tables: { meetings: 'readWrite' },
    queues: { transcriptEvents: ['send'] },
    egress: [],
    timeoutSeconds: 10,
  },
  'http-health': {
    description: 'GET /health: DynamoDB and SQS reachable',
    env: ['MEETINGS_TABLE', 'TRANSCRIPT_QUEUE_URL'],
    secrets: [],
    tables: { meetings: 'read' },
    queues: { transcriptEvents: ['attributes'] },
    egress: [],
    timeoutSeconds: 10,
  },
  'http-get-recording': {
    description: 'GET /meetings/{meetingId}/recording: presigned URL of the assembled recording',
    env: ['MEETINGS_TABLE', 'MEDIA_BUCKET'],
    secrets: [],
    tables: { meetings: 'read' },
    queues: {},
    egress: [],
    timeoutSeconds: 10,
  },
  'http-docs': {
    description: 'GET /docs and GET /docs/openapi.json',
    env: [],
    secrets: [],
    tables: {},
    queues: {},
    egress: [],
    timeoutSeconds: 10,
  },
} as const satisfies Record<string, RestLambdaDefinition>;

export type RestLambdaName = keyof typeof REST_LAMBDAS;

export interface ResponseDefinition {
  readonly description: string;
  /** JSON body schema; `text` bodies are documented as strings of the given media types. */
  readonly schema?: z.ZodType;
  readonly text?: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RestRouteDefinition {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway route path; `{name}` is a path parameter. */
  readonly path: string;
  readonly auth: boolean;
  readonly lambda: RestLambdaName;
  readonly operationId: string;
  readonly tag: 'Meetings' | 'Transcript' | 'Intelligence' | 'Webhooks' | 'Service';
  readonly summary: string;
  readonly description?: string;
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly success: { readonly status: number } & ResponseDefinition;
  readonly errors: readonly RestErrorCode[];
}

const READ_ERRORS = ['UNAUTHORIZED', 'MEETING_NOT_FOUND', 'INTERNAL_ERROR'] as const;
const BODY_ERRORS = ['INVALID_REQUEST', 'BAD_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const;

export const REST_ROUTES: readonly RestRouteDefinition[] = [
  {
    method: 'POST',
    path: '/meetings',
    auth: true,
    lambda: 'http-create-meeting',
    operationId: 'createMeeting',
    tag: 'Meetings',
    summary: 'Send a bot to a meeting and start transcribing',
    description:
      'Creates the meeting, a per-meeting secret for the bot’s audio stream, and a Recall bot that joins the call and ' +
      'streams its audio to Parley. The meeting starts as `joining`; follow it over the WebSocket API or `GET /meetings/{meetingId}/status`.',
    body: CreateMeetingRequestSchema,
    success: {
      status: 201,
      description: 'The meeting (status `joining`)',
      schema: MeetingSchema,
      headers: { Location: '/meetings/{meetingId}' },
    },
    errors: [...BODY_ERRORS, 'UNAUTHORIZED', 'RECALL_ERROR', 'INTERNAL_ERROR'],
  },
  {
    method: 'GET',
    path: '/meetings',
    auth: true,
    lambda: 'http-list-meetings',
    operationId: 'listMeetings',
    tag: 'Meetings',
    summary: 'Your meetings, newest first',
    description:
      'Meetings you own and meetings shared with you (`role: "viewer"`), newest first, a page at a time.',
    query: ListMeetingsQuerySchema,
    success: { status: 200, description: 'A page of meetings', schema: MeetingListSchema },
    errors: ['INVALID_REQUEST', 'INVALID_CURSOR', 'UNAUTHORIZED', 'INTERNAL_ERROR'],
  },
  {
    method: 'GET',
    path: '/meetings/{meetingId}',
    auth: true,
    lambda: 'http-get-meeting',
    operationId: 'getMeeting',
    tag: 'Meetings',
    summary: 'One meeting',
    success: { status: 200, description: 'The meeting', schema: MeetingSchema },
    errors: [...READ_ERRORS],
  },
  {
    method: 'GET',
    path: '/meetings/{meetingId}/status',
    auth: true,
    lambda: 'http-get-meeting-status',
    operationId: 'getMeetingStatus',
    tag: 'Meetings',
    summary: 'A meeting’s status',
    success: {
      status: 200,
      description: 'Status, pause state and transcript progress',
      schema: MeetingStatusSchema,
    },
    errors: [...READ_ERRORS],
  },
  {
    method: 'POST',
    path: '/meetings/{meetingId}/leave',
    auth: true,
    lambda: 'http-leave-meeting',
    operationId: 'leaveMeeting',
    tag: 'Meetings',
    summary: 'Make the bot leave the call (owner only; irreversible)',
    description:
      'The bot leaves and the meeting becomes `disconnecting`, then `ended` once the last words are transcribed. ' +
      'Subscribers receive a `status` event.',
    success: { status: 200, description: 'The new status', schema: MeetingStatusSchema },
    errors: [...READ_ERRORS, 'FORBIDDEN', 'INVALID_STATE', 'UPSTREAM_ERROR'],
  },
  {
    method: 'DELETE',
    path: '/meetings/{meetingId}',
    auth: true,
    lambda: 'http-delete-meeting',
    operationId: 'deleteMeeting',
    tag: 'Meetings',
    summary: 'Delete an ended meeting and everything stored for it (owner only)',
    description:
      'Deletes the recording (chunks and assembled file), transcript segments, keyword alerts, briefings and share ' +
      'items, then the meeting. Owner only: anyone else, readers included, gets `404 MEETING_NOT_FOUND`. A meeting that ' +
      'is not over (joining, live, paused, disconnecting) is refused with `409 MEETING_NOT_OVER`: stop it first. ' +
      'A failure midway can be finished by calling DELETE again; after success the meeting answers 404.',
    success: { status: 204, description: 'Deleted (no body)' },
    errors: [...READ_ERRORS, 'MEETING_NOT_OVER'],
  },
  {
    method: 'GET',
    path: '/meetings/{meetingId}/recording',
    auth: true,
    lambda: 'http-get-recording',
    operationId: 'getRecording',
    tag: 'Transcript',
    summary: 'A short-lived URL of the meeting’s recording',
    description:
      'Every meeting’s audio is archived while it is live (paused audio never is) and assembled into one file when it ' +
      'ends. The URL works for 5 minutes and supports Range requests. The file’s time is meeting time: a transcript ' +
      'segment’s `startMs` is its position. Owner and shared readers only.',
    success: { status: 200, description: 'Where to fetch the recording', schema: RecordingSchema },
    errors: [...READ_ERRORS, 'RECORDING_NOT_FOUND', 'RECORDING_NOT_READY'],
  },
  {
    method: 'GET',
    path: '/meetings/{meetingId}/transcript',
    auth: true,
    lambda: 'http-get-transcript',
    operationId: 'getTranscript',
    tag: 'Transcript',
    summary: 'The transcript: JSON pages, or a txt / srt / vtt download',
    description:
      'Final segments in seq order. `format=json` (default) pages with `limit` and `cursor`; `txt`, `srt` and `vtt` ' +
      'return the whole transcript as a file (`Content-Disposition: attachment`).',
    query: TranscriptQuerySchema,
    success: {
      status: 200,
      description: 'A page of segments, or the transcript file',
      schema: TranscriptPageSchema,
      text: ['text/plain; charset=utf-8', 'application/x-subrip; charset=utf-8', 'text/vtt; charset=utf-8'],
      headers: { 'Content-Disposition': 'attachment; filename="<title>-transcript.<format>" (files only)' },
    },
    errors: ['INVALID_REQUEST', 'INVALID_CURSOR', ...READ_ERRORS],
  },
  {
    method: 'POST',
    path: '/meetings/{meetingId}/shares',
    auth: true,
    lambda: 'http-share-meeting',
    operationId: 'shareMeeting',
    tag: 'Meetings',
    summary: 'Let another user read the meeting (owner only)',
    description:
      'The user can then read the meeting, its transcript and briefing, ask questions, and subscribe over the ' +
      'WebSocket API; only the owner can control the meeting. Idempotent.',
    body: ShareRequestSchema,
    success: { status: 200, description: 'Who the meeting is shared with', schema: SharesSchema },
    errors: [...BODY_ERRORS, ...READ_ERRORS, 'FORBIDDEN', 'TOO_MANY_SHARES'],
  },
  {
    method: 'DELETE',
    path: '/meetings/{meetingId}/shares/{userId}',
    auth: true,
    lambda: 'http-unshare-meeting',
    operationId: 'unshareMeeting',
    tag: 'Meetings',
    summary: 'Stop sharing the meeting with a user (owner only)',
    description: 'Idempotent. Open WebSocket subscriptions of that user end at their next reconnect.',
    success: { status: 200, description: 'Who the meeting is shared with', schema: SharesSchema },
    errors: [...READ_ERRORS, 'FORBIDDEN', 'CONCURRENT_UPDATE'],
  },
  {
    method: 'GET',
    path: '/meetings/{meetingId}/brief',
    auth: true,
    lambda: 'http-get-brief',
    operationId: 'getBrief',
    tag: 'Intelligence',
    summary: 'An AI briefing of the meeting so far',
    description:
      'Summary, key points, decisions, action items and open questions. Generated by OpenAI when configured, otherwise ' +
      'by the embedded extractive engine (`engine` says which). Cached until the transcript grows.',
    success: { status: 200, description: 'The briefing', schema: BriefSchema },
    errors: [...READ_ERRORS, 'AI_BAD_RESPONSE', 'AI_UNAVAILABLE', 'AI_REFUSED'],
  },
  {
    method: 'POST',
    path: '/meetings/{meetingId}/ask',
    auth: true,
    lambda: 'http-ask',
    operationId: 'askMeeting',
    tag: 'Intelligence',
    summary: 'Ask a question about the meeting (optionally spoken by the bot in the call)',
    description:
      'Answers from the transcript with the seqs of the lines it relies on. With OpenAI: a written answer; without: ' +
      'the most relevant transcript lines (`engine: embedded-retrieval`). `speak: true` (owner only) has the bot say ' +
      'the answer in the call through OpenAI text-to-speech.',
    body: AskRequestSchema,
    success: { status: 200, description: 'The answer', schema: AskResponseSchema },
    errors: [
      ...BODY_ERRORS,
      ...READ_ERRORS,
      'FORBIDDEN',
      'SPEECH_UNAVAILABLE',
      'BOT_NOT_IN_CALL',
      'AI_BAD_RESPONSE',
      'AI_UNAVAILABLE',
      'AI_REFUSED',
      'RECALL_ERROR',
    ],
  },
  {
    method: 'POST',
    path: '/webhooks/recall',
    auth: false,
    lambda: 'http-recall-webhook',
    operationId: 'recallWebhook',
    tag: 'Webhooks',
    summary: 'Recall bot status webhooks (Svix-signed; no bearer token)',
    description:
      'Verifies `webhook-id` / `webhook-timestamp` / `webhook-signature` (or `svix-*`) against RECALL_WEBHOOK_SECRET, ' +
      'rejecting timestamps more than 5 minutes off. `bot.status_change` moves the meeting forward: joining_call → joining, ' +
      'in_call_recording → live, call_ended / done → ended, fatal → failed; other codes and events are acknowledged and ignored.',
    body: RecallWebhookSchema,
    success: { status: 200, description: 'Received', schema: WebhookAckSchema },
    errors: [
      'INVALID_SIGNATURE',
      'BAD_JSON',
      'INVALID_REQUEST',
      'PAYLOAD_TOO_LARGE',
      'UNAVAILABLE',
      'INTERNAL_ERROR',
    ],
  },
  {
    method: 'GET',
    path: '/health',
    auth: false,
    lambda: 'http-health',
    operationId: 'health',
    tag: 'Service',
    summary: 'Are DynamoDB and SQS reachable? (200 or 503)',
    success: {
      status: 200,
      description: 'Every dependency answered (503 with the same body otherwise)',
      schema: HealthSchema,
    },
    errors: ['INTERNAL_ERROR'],
  },
  {
    method: 'GET',
    path: '/docs',
    auth: false,
    lambda: 'http-docs',
    operationId: 'docs',
    tag: 'Service',
    summary: 'This documentation as an HTML page',
    success: { status: 200, description: 'HTML', text: ['text/html; charset=utf-8'] },
    errors: [],
  },
  {
    method: 'GET',
    path: '/docs/openapi.json',
    auth: false,
    lambda: 'http-docs',
    operationId: 'openApiDocument',
    tag: 'Service',
    summary: 'The OpenAPI 3.1 document',
    success: { status: 200, description: 'OpenAPI 3.1 JSON', text: ['application/json'] },
    errors: [],
  },
];
