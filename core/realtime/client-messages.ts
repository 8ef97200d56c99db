/**
 * Client → server messages of the realtime API, validated by the WebSocket route Lambdas.
 * Written with `zod/mini` (tree-shaken, ~20 KB bundled instead of classic zod's ~90 KB) because
 * every message route loads it at cold start (docs/benchmarks.md); core/realtime/protocol.ts
 * holds the rest of the protocol and imports no zod. docs/protocol.md lists every message.
 */

import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { KeywordsSchema, LanguageSchema } from '../meetings/schemas';
import type { RouteAction } from './protocol';

// zod/mini carries no messages of its own: the same English ones classic zod configures.
z.config(en());

const MeetingId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'meetingId must be 1-64 letters, digits, _ or -'));
const JobId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'jobId must be 1-64 letters, digits, _ or -'));

export const SubscribeSchema = z.strictObject({
  action: z.literal('subscribe'),
  meetingId: MeetingId,
  lastSeq: z.optional(z.number().check(z.int(), z.nonnegative())),
  /** The client unpacks `batch` frames (docs/protocol.md "Batched frames"): several messages, one frame. */
  batch: z.optional(z.boolean()),
});
export const UnsubscribeSchema = z.strictObject({ action: z.literal('unsubscribe'), meetingId: MeetingId });
export const CommandSchema = z.strictObject({
  action: z.literal('command'),
  meetingId: MeetingId,
  command: z.enum(['pause', 'resume', 'stop', 'configure']),
  config: z.optional(
    z.strictObject({ keywords: z.optional(KeywordsSchema), language: z.optional(LanguageSchema) }),
  ),
  requestId: z.optional(z.string().check(z.maxLength(64))),
});
export const SubscribeJobSchema = z.strictObject({ action: z.literal('subscribe_job'), jobId: JobId });
export const GetStateSchema = z.union([
  z.strictObject({ action: z.literal('get_state'), meetingId: MeetingId }),
  z.strictObject({ action: z.literal('get_state'), jobId: JobId }),
]);
/**
 * API Gateway answers `ping` itself (core/realtime/ping-route.ts): nothing validates it, and
 * any other field is ignored. The schema documents the message.
 */
export const PingSchema = z.object({ action: z.literal('ping'), timestamp: z.optional(z.number()) });

export type SubscribeMessage = z.infer<typeof SubscribeSchema>;
export type CommandMessage = z.infer<typeof CommandSchema>;

/** Route key (API Gateway route) → schema of its message. */
export const ROUTE_SCHEMAS = {
  subscribe: SubscribeSchema,
  unsubscribe: UnsubscribeSchema,
  command: CommandSchema,
  subscribe_job: SubscribeJobSchema,
  get_state: GetStateSchema,
  ping: PingSchema,
} as const satisfies Record<RouteAction, z.ZodMiniType>;
