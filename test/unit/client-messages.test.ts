/**
 * The WebSocket routes validate client messages with zod/mini schemas (core/realtime/client-messages.ts):
 * nothing in this file loads classic zod, as nothing in a route's bundle does, so the replies'
 * wording here is what a client gets.
 */
import {
  CommandSchema,
  GetStateSchema,
  ROUTE_SCHEMAS,
  SubscribeJobSchema,
  SubscribeSchema,
  UnsubscribeSchema,
} from '../../core/realtime/client-messages';
import { describeZodError, ROUTE_ACTIONS } from '../../core/realtime/protocol';

function problem(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, value: unknown) {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected a validation failure');
  return describeZodError(parsed.error as Parameters<typeof describeZodError>[0]);
}

describe('client message validation (zod/mini)', () => {
  it('has a schema for every route action the protocol names, and no other', () => {
    expect(Object.keys(ROUTE_SCHEMAS).sort()).toEqual([...ROUTE_ACTIONS].sort());
  });

  it('accepts a subscribe with and without lastSeq', () => {
    expect(SubscribeSchema.parse({ action: 'subscribe', meetingId: 'm_1' })).toEqual({
      action: 'subscribe',
      meetingId: 'm_1',
    });
    expect(SubscribeSchema.parse({ action: 'subscribe', meetingId: 'm_1', lastSeq: 7 }).lastSeq).toBe(7);
  });

  it('names the field and says in English what is wrong with it', () => {
    expect(problem(SubscribeSchema, { action: 'subscribe', meetingId: 'm 1', lastSeq: 1.5 })).toBe(
      'meetingId: meetingId must be 1-64 letters, digits, _ or -; lastSeq: Invalid input: expected int, received number',
    );
    expect(problem(SubscribeSchema, { action: 'subscribe', meetingId: 'm', lastSeq: -1 })).toBe(
      'lastSeq: Too small: expected number to be >=0',
    );
    expect(problem(CommandSchema, { action: 'command', meetingId: 'm', command: 'dance' })).toBe(
      'command: Invalid option: expected one of "pause"|"resume"|"stop"|"configure"',
    );
  });

  it('refuses unknown fields by name', () => {
    expect(problem(UnsubscribeSchema, { action: 'unsubscribe', meetingId: 'm', extra: 1, more: 2 })).toBe(
      'unknown field(s) extra, more',
    );
  });

  it('normalises configure keywords (trimmed, lower-cased, once each) and checks their limits', () => {
    const ok = CommandSchema.parse({
      action: 'command',
      meetingId: 'm',
      command: 'configure',
      config: { keywords: [' Budget ', 'budget', 'Q3 plan'], language: 'en-US' },
    });
    expect(ok.config).toEqual({ keywords: ['budget', 'q3 plan'], language: 'en-US' });
    const tooMany = Array.from({ length: 51 }, (_, i) => `k${i}`);
    expect(
      problem(CommandSchema, {
        action: 'command',
        meetingId: 'm',
        command: 'configure',
        config: { keywords: tooMany },
      }),
    ).toBe('config.keywords: Too big: expected array to have <=50 items');
    expect(
      problem(CommandSchema, {
        action: 'command',
        meetingId: 'm',
        command: 'configure',
        config: { language: 'English' },
      }),
    ).toBe('config.language: language must be a BCP-47 tag such as "en" or "en-US"');
  });

  it('takes get_state for a meeting or a job, but not neither', () => {
    expect(GetStateSchema.parse({ action: 'get_state', jobId: 'j_1' })).toEqual({
      action: 'get_state',
      jobId: 'j_1',
    });
    expect(GetStateSchema.safeParse({ action: 'get_state' }).success).toBe(false);
    expect(SubscribeJobSchema.safeParse({ action: 'subscribe_job', jobId: '../x' }).success).toBe(false);
  });
});
