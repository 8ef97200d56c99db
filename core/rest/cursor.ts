/**
 * Opaque paging cursors: base64url JSON of what the next page starts after, tagged with the
 * listing it belongs to. Clients pass them back unchanged; anything else is INVALID_CURSOR.
 */
import * as z from 'zod';
import { FieldValidationError } from './errors';

const OwnKey = z.strictObject({
  meetingId: z.string().min(1),
  ownerId: z.string().min(1),
  createdAt: z.string().min(1),
});
const ShareKey = z.strictObject({ readerId: z.string().min(1), meetingKey: z.string().min(1) });
/** Before shared meetings were listed: the byOwner key only. */
const MeetingsCursor = z.strictObject({ l: z.literal('meetings'), k: OwnKey });
/** Own and shared meetings, merged: where each of the two listings resumes. */
const MeetingsCursorV2 = z.strictObject({
  l: z.literal('meetings2'),
  o: z.union([OwnKey, z.literal('start'), z.literal('end')]),
  s: z.union([ShareKey, z.literal('start'), z.literal('end')]),
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

export type MeetingsPageKey = z.infer<typeof OwnKey>;
export type SharesPageKey = z.infer<typeof ShareKey>;
/** Where a listing resumes: after a key, from the start, or nothing left. */
export type ListPosition<K> = K | 'start' | 'end';
export interface MeetingsPosition {
  own: ListPosition<MeetingsPageKey>;
  shared: ListPosition<SharesPageKey>;
}

/** The cursor of the next page, or null when both listings are done. */
export function encodeMeetingsCursor(position: MeetingsPosition): string | null {
  if (position.own === 'end' && position.shared === 'end') return null;
  const own = position.own;
  const shared = position.shared;
  return encode({
    l: 'meetings2',
    o:
      typeof own === 'string'
        ? own
        : {
            meetingId: String(own.meetingId),
            ownerId: String(own.ownerId),
            createdAt: String(own.createdAt),
          },
    s: typeof shared === 'string' ? shared : { readerId: shared.readerId, meetingKey: shared.meetingKey },
  });
}

/** Where both listings resume; the cursor must belong to `userId`. */
export function decodeMeetingsCursor(cursor: string, userId: string): MeetingsPosition {
  const value = decode(cursor, z.union([MeetingsCursorV2, MeetingsCursor]));
  if (value.l === 'meetings') {
    if (value.k.ownerId !== userId) throw invalid();
    return { own: value.k, shared: 'end' };
  }
  if (typeof value.o === 'object' && value.o.ownerId !== userId) throw invalid();
  if (typeof value.s === 'object' && value.s.readerId !== userId) throw invalid();
  return { own: value.o, shared: value.s };
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
