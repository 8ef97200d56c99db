/**
 * Opaque paging cursors: base64url JSON of what the next page starts after, tagged with the
 * listing it belongs to. Clients pass them back unchanged; anything else is INVALID_CURSOR.
 */
import * as z from 'zod';
import { FieldValidationError } from './errors';

const MeetingsCursor = z.strictObject({
  l: z.literal('meetings'),
  k: z.strictObject({
    meetingId: z.string().min(1),
    ownerId: z.string().min(1),
    createdAt: z.string().min(1),
  }),
});
const TranscriptCursor = z.strictObject({
  l: z.literal('transcript'),
  m: z.string().min(1),
  a: z.number().int().nonnegative(),
});

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decode<T>(cursor: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid();
  return parsed.data;
}

function invalid(): FieldValidationError {
  return new FieldValidationError('cursor', 'cursor: not a cursor this listing issued', 'INVALID_CURSOR');
}

export type MeetingsPageKey = z.infer<typeof MeetingsCursor>['k'];

export function encodeMeetingsCursor(key: Record<string, unknown>): string {
  const k = {
    meetingId: String(key.meetingId),
    ownerId: String(key.ownerId),
    createdAt: String(key.createdAt),
  };
  return encode({ l: 'meetings', k });
}

/** The byOwner index key to resume after; it must belong to `ownerId`. */
export function decodeMeetingsCursor(cursor: string, ownerId: string): MeetingsPageKey {
  const { k } = decode(cursor, MeetingsCursor);
  if (k.ownerId !== ownerId) throw invalid();
  return k;
}

export function encodeTranscriptCursor(meetingId: string, afterSeq: number): string {
  return encode({ l: 'transcript', m: meetingId, a: afterSeq });
}

/** The seq to continue after; the cursor must belong to `meetingId`. */
export function decodeTranscriptCursor(cursor: string, meetingId: string): number {
  const { m, a } = decode(cursor, TranscriptCursor);
  if (m !== meetingId) throw invalid();
  return a;
}
