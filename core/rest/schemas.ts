/**
 * Request and response bodies of the REST API. Handlers validate with these, responses are
 * passed through them (which drops anything internal), and core/rest/openapi.ts turns the same
 * schemas into the OpenAPI 3.1 document served at /docs.
 */
import * as z from 'zod';
import { ActionItemSchema } from '../briefing/model';
import { MEETING_SOURCES, MEETING_STATUSES } from '../meetings/model';
import { KeywordsSchema, LanguageSchema } from '../meetings/schemas';

/** Registry of named schemas (OpenAPI components). */
export const restRegistry = z.registry<{ id: string; description?: string }>();

function named<S extends z.ZodType>(schema: S, id: string, description?: string): S {
  restRegistry.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
}

/** Largest JSON body the API accepts (larger bodies get 413 PAYLOAD_TOO_LARGE). */
export const MAX_JSON_BODY_BYTES = 64 * 1024;
/** Users a meeting can be shared with. */
export const MAX_SHARES = 50;

const IsoTime = z.string().describe('ISO 8601 time');
export const MeetingIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -')
  .describe('Meeting id');
const UserIdSchema = z.string().trim().min(1).max(200).describe('User id (the `sub` of the user’s token)');

// ----- errors -----

export const ErrorResponseSchema = named(
  z.object({
    error: z.object({
      code: z.string().describe('Machine-readable code (see docs/rest-api.md)'),
      message: z.string().describe('For people; never contains secrets or stack traces'),
      field: z.string().optional().describe('The invalid field, for 400 INVALID_REQUEST'),
    }),
  }),
  'Error',
  'Every error response',
);

// ----- meetings -----

export const CreateMeetingRequestSchema = named(
  z.strictObject({
    meetingUrl: z
      .string()
      .trim()
      .min(1)
      .max(2048)
      .optional()
      .describe(
        'Zoom / Teams / Meet URL (https); required unless `source` is `microphone`. Local mode also accepts `local://sample`.',
      ),
    source: z
      .enum(MEETING_SOURCES)
      .optional()
      .describe(
        '`recall` (default): a bot joins `meetingUrl`; `microphone`: no bot, the owner streams from the browser',
      ),
    title: z.string().trim().min(1).max(200).optional().describe('Default: "Untitled meeting"'),
    keywords: z
      .optional(KeywordsSchema)
      .describe('Up to 50 words or phrases (1-64 characters) that raise keyword alerts'),
    language: z.optional(LanguageSchema).describe('BCP-47 tag; default "en"'),
    botName: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('Name the bot shows in the call; default "Parley"'),
  }),
  'CreateMeetingRequest',
);
export type CreateMeetingRequest = z.infer<typeof CreateMeetingRequestSchema>;

export const MeetingStatusEnum = z.enum(MEETING_STATUSES);

export const MeetingSchema = named(
  z.object({
    meetingId: MeetingIdSchema,
    title: z.string(),
    status: MeetingStatusEnum,
    paused: z.boolean().describe('The owner paused transcription'),
    keywords: z.array(z.string()),
    language: z.string(),
    role: z.enum(['owner', 'viewer']).describe('Your access: the owner, or a user it was shared with'),
    meetingUrl: z.string().optional().describe('Owner only'),
    sharedWith: z.array(z.string()).optional().describe('Owner only'),
    lastSeq: z.number().int().nonnegative().describe('Highest stored final transcript seq'),
    source: z.enum(MEETING_SOURCES).optional().describe('Where the audio comes from (absent: `recall`)'),
    streamUrl: z
      .string()
      .optional()
      .describe('Microphone meetings, owner only: the audio gateway socket to stream to (docs/protocol.md)'),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    endedAt: IsoTime.optional(),
  }),
  'Meeting',
  'A meeting as the API shows it (no tokens, bot ids or counters)',
);
export type MeetingView = z.infer<typeof MeetingSchema>;

export const MeetingListSchema = named(
  z.object({
    meetings: z.array(MeetingSchema),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
  }),
  'MeetingList',
);

export const ListMeetingsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(1024).optional(),
});

export const MeetingStatusSchema = named(
  z.object({
    meetingId: MeetingIdSchema,
    status: MeetingStatusEnum,
    paused: z.boolean(),
    lastSeq: z.number().int().nonnegative(),
    updatedAt: IsoTime,
    endedAt: IsoTime.optional(),
  }),
  'MeetingStatus',
);
export type MeetingStatusView = z.infer<typeof MeetingStatusSchema>;

export const ShareRequestSchema = named(z.strictObject({ userId: UserIdSchema }), 'ShareRequest');
export const SharesSchema = named(
  z.object({ meetingId: MeetingIdSchema, sharedWith: z.array(z.string()) }),
  'Shares',
);

export const MeetingPathSchema = z.object({ meetingId: MeetingIdSchema });
export const SharePathSchema = z.object({ meetingId: MeetingIdSchema, userId: UserIdSchema });

// ----- transcript -----

export const TRANSCRIPT_FORMATS = ['json', 'txt', 'srt', 'vtt'] as const;

export const TranscriptQuerySchema = z.object({
  format: z.enum(TRANSCRIPT_FORMATS).default('json'),
  limit: z.coerce.number().int().min(1).max(500).default(200).describe('JSON only'),
  cursor: z.string().min(1).max(1024).optional().describe('JSON only'),
});

export const TranscriptSegmentSchema = named(
  z.object({
    seq: z.number().int().positive(),
    speaker: z.string(),
    text: z.string(),
    startMs: z.number().int().nonnegative().describe('From meeting start'),
    endMs: z.number().int().nonnegative(),
    confidence: z.number(),
    timestamp: IsoTime,
  }),
  'TranscriptSegment',
);
export type TranscriptSegmentView = z.infer<typeof TranscriptSegmentSchema>;

export const TranscriptPageSchema = named(
  z.object({
    meetingId: MeetingIdSchema,
    segments: z.array(TranscriptSegmentSchema).describe('Final segments in seq order'),
    nextCursor: z.string().nullable(),
  }),
  'TranscriptPage',
);

// ----- briefing and questions -----

export const BriefSchema = named(
  z.object({
    summary: z.string(),
    keyPoints: z.array(z.string()),
    decisions: z.array(z.string()),
    actionItems: z.array(ActionItemSchema),
    openQuestions: z.array(z.string()),
    blockers: z.array(z.string()).describe('What stands in the way, as "<speaker>: <sentence>"'),
    topics: z.array(z.string()).describe('Short phrases naming what the meeting talked about'),
    coversSeq: z.number().int().nonnegative().describe('The briefing covers finals up to this seq'),
    engine: z.string().describe('`openai:<model>` or `embedded-extractive`'),
    generatedAt: IsoTime,
  }),
  'Brief',
);
export type Brief = z.infer<typeof BriefSchema>;

export const AskRequestSchema = named(
  z.strictObject({
    question: z.string().trim().min(1).max(1000),
    speak: z
      .boolean()
      .default(false)
      .describe('Also have the bot say the answer in the call (owner only; needs OpenAI)'),
  }),
  'AskRequest',
);

export const AskResponseSchema = named(
  z.object({
    answer: z.string(),
    citations: z
      .array(z.number().int().positive())
      .describe('Seqs of the transcript lines the answer relies on'),
    engine: z.string().describe('`openai:<model>` or `embedded-retrieval`'),
    spoken: z.boolean().describe('The bot played the answer in the call'),
  }),
  'AskResponse',
);
export type AskResponse = z.infer<typeof AskResponseSchema>;

// ----- webhooks, health -----

/** What Recall POSTs (Svix): `bot.status_change`; other events are acknowledged and ignored. */
export const RecallWebhookSchema = named(
  z.looseObject({
    event: z.string(),
    data: z.looseObject({
      bot_id: z.string().optional(),
      status: z
        .looseObject({ code: z.string(), sub_code: z.string().nullish(), created_at: z.string().optional() })
        .optional(),
    }),
  }),
  'RecallWebhook',
  'Recall bot status webhook (Svix-signed)',
);

export const WebhookAckSchema = named(
  z.object({
    received: z.literal(true),
    applied: z.boolean().describe('The meeting status changed'),
    status: MeetingStatusEnum.optional(),
  }),
  'WebhookAck',
);

export const HealthSchema = named(
  z.object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.record(
      z.string(),
      z.object({
        status: z.enum(['ok', 'error']),
        latencyMs: z.number().int().nonnegative(),
        error: z.string().optional(),
      }),
    ),
    time: IsoTime,
  }),
  'Health',
);
export type Health = z.infer<typeof HealthSchema>;

// ----- recordings -----

export const RecordingSchema = named(
  z.object({
    meetingId: MeetingIdSchema,
    url: z.string().describe('Presigned GET URL of the recording; supports Range requests'),
    expiresAt: IsoTime.describe('The URL stops working after this time'),
    contentType: z.string().describe('`audio/webm` (Opus) or `audio/wav`'),
    bytes: z.number().int().nonnegative(),
  }),
  'Recording',
  "Where to play or download a meeting's recording (its time is meeting time: seek to a segment's startMs)",
);
export type RecordingView = z.infer<typeof RecordingSchema>;
