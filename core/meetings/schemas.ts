/**
 * Validation of a meeting's client-set fields, shared by the REST API (core/rest/schemas.ts,
 * classic zod wraps them: `z.optional(KeywordsSchema).describe(…)`), the WebSocket `command`
 * route (core/realtime/client-messages.ts) and the pipeline events. Written with `zod/mini`
 * because the WebSocket routes load it at cold start (docs/benchmarks.md).
 */
import * as z from 'zod/mini';
import { MEETING_STATUSES } from './model';

export const MeetingStatusSchema = z.enum(MEETING_STATUSES);

export const KeywordsSchema = z.pipe(
  z.array(z.string().check(z.trim(), z.minLength(1), z.maxLength(64))).check(z.maxLength(50)),
  z.transform((words: string[]) => [...new Set(words.map((w) => w.toLowerCase()))]),
);

export const LanguageSchema = z
  .string()
  .check(z.regex(/^[a-z]{2,3}(-[A-Za-z]{2,4})?$/, 'language must be a BCP-47 tag such as "en" or "en-US"'));
