import {
  MAX_RECALL_FRAME_BYTES,
  MAX_RECALL_MESSAGE_CHARS,
  parseRecallMessage,
  parseRecallMessageWithSchema,
  RECALL_REJECT_REASONS,
  type RecallRejectReason,
} from '../../core/recall/realtime-schema';

// Event factories, shaped as https://docs.recall.ai/docs/real-time-event-payloads shows them.
const refs = {
  realtime_endpoint: { id: 'rt-1', metadata: {} },
  recording: { id: 'rec-1', metadata: {} },
  bot: { id: 'bot-1', metadata: { meetingId: 'm-1' } },
};
const timestamp = { relative: 1.02, absolute: '2026-11-22T10:00:01.020Z' };
const alice = { id: 1, name: 'Alice', is_host: true, platform: 'desktop', extra_data: {}, email: null };

function pcmBase64(bytes: number): string {
  return Buffer.alloc(bytes, 1).toString('base64');
}

function mixed(buffer: unknown = pcmBase64(640), overrides: Record<string, unknown> = {}) {
  return {
    event: 'audio_mixed_raw.data',
    data: { data: { buffer, timestamp }, ...refs, audio_mixed: { id: 'am-1', metadata: {} }, ...overrides },
  };
}

function separate(participant: unknown = alice, buffer: unknown = pcmBase64(640)) {
  return {
    event: 'audio_separate_raw.data',
    data: { data: { buffer, timestamp, participant }, ...refs, audio_separate: { id: 'as-1', metadata: {} } },
  };
}

function participantEvent(event: string, data: unknown = null, participant: unknown = alice) {
  return {
    event,
    data: {
      data: { participant, timestamp, data },
      ...refs,
      participant_events: { id: 'pe-1', metadata: {} },
    },
  };
}

function rejectionOf(input: unknown): { reason: RecallRejectReason; detail: string } {
  const text = typeof input === 'string' ? input : JSON.stringify(input);
  const result = parseRecallMessage(text);
  if (result.ok) throw new Error(`expected a rejection, got ${result.message.event}`);
  return result;
}

describe('parseRecallMessage', () => {
  describe('valid messages', () => {
    it('decodes mixed audio into a PCM buffer with its timestamp and resources', () => {
      // Prepare
      const pcm = Buffer.from([1, 0, 255, 127, 0, 128]);
      // Act
      const result = parseRecallMessage(JSON.stringify(mixed(pcm.toString('base64'))));
      // Assess
      expect(result.ok).toBe(true);
      if (!result.ok || result.message.kind !== 'audio') throw new Error('unreachable');
      expect(result.message.event).toBe('audio_mixed_raw.data');
      expect(Buffer.isBuffer(result.message.pcm)).toBe(true);
      expect(result.message.pcm.equals(pcm)).toBe(true);
      expect(result.message.timestamp).toEqual(timestamp);
      expect(result.message.participant).toBeNull();
      expect(result.message.resources.bot).toEqual({ id: 'bot-1', metadata: { meetingId: 'm-1' } });
      expect(result.message.resources.realtimeEndpoint.id).toBe('rt-1');
      expect(result.message.resources.recording.id).toBe('rec-1');
    });

    it('decodes separate audio with its participant', () => {
      const result = parseRecallMessage(JSON.stringify(separate()));
      if (!result.ok || result.message.event !== 'audio_separate_raw.data') throw new Error('expected audio');
      expect(result.message.participant).toMatchObject({ id: 1, name: 'Alice', is_host: true });
      expect(result.message.pcm.length).toBe(640);
    });

    it('accepts an empty buffer, which Recall sends for unmuted silent participants', () => {
      const result = parseRecallMessage(JSON.stringify(mixed('')));
      if (!result.ok || result.message.kind !== 'audio') throw new Error('expected audio');
      expect(result.message.pcm.length).toBe(0);
    });

    it('accepts exactly the maximum frame size', () => {
      const result = parseRecallMessage(JSON.stringify(mixed(pcmBase64(MAX_RECALL_FRAME_BYTES))));
      expect(result.ok).toBe(true);
    });

    it.each([
      'participant_events.join',
      'participant_events.leave',
      'participant_events.update',
      'participant_events.speech_on',
      'participant_events.speech_off',
      'participant_events.webcam_on',
    ])('parses %s', (event) => {
      const result = parseRecallMessage(JSON.stringify(participantEvent(event)));
      if (!result.ok || result.message.kind !== 'participant_event') throw new Error('expected an event');
      expect(result.message.event).toBe(event);
      expect(result.message.participant.name).toBe('Alice');
      expect(result.message.chat).toBeNull();
    });

    it('tolerates chat messages and returns their text', () => {
      const result = parseRecallMessage(
        JSON.stringify(participantEvent('participant_events.chat_message', { text: 'hi', to: 'everyone' })),
      );
      if (!result.ok || result.message.kind !== 'participant_event') throw new Error('expected an event');
      expect(result.message.chat).toEqual({ text: 'hi', to: 'everyone' });
    });

    it('fills defaults for optional participant fields and ignores unknown fields', () => {
      const result = parseRecallMessage(
        JSON.stringify({
          ...participantEvent('participant_events.join', null, { id: 7, name: null }),
          extra: 1,
        }),
      );
      if (!result.ok || result.message.kind !== 'participant_event') throw new Error('expected an event');
      expect(result.message.participant).toEqual({
        id: 7,
        name: null,
        is_host: false,
        platform: null,
        extra_data: {},
        email: null,
      });
    });

    it('accepts a message without the optional bot reference', () => {
      const message = mixed();
      const { bot: _bot, ...withoutBot } = message.data;
      const result = parseRecallMessage(JSON.stringify({ ...message, data: withoutBot }));
      if (!result.ok) throw new Error(result.detail);
      expect(result.message.resources.bot).toBeNull();
    });
  });

  describe('malformed messages', () => {
    it.each<[string, unknown, RecallRejectReason]>([
      ['plain text', 'hello', 'bad_json'],
      ['truncated JSON', '{"event":"audio_mixed_raw.data"', 'bad_json'],
      ['an empty string', '', 'bad_json'],
      ['JSON null', 'null', 'invalid_shape'],
      ['a JSON array', '[]', 'invalid_shape'],
      ['a JSON number', '42', 'invalid_shape'],
      ['a JSON string', '"audio_mixed_raw.data"', 'invalid_shape'],
      ['no event', { data: {} }, 'invalid_shape'],
      ['a numeric event', { event: 7, data: {} }, 'invalid_shape'],
      ['an unknown event', { event: 'audio_mixed_raw.dat', data: {} }, 'unknown_event'],
      [
        'a v1.10 header frame',
        { protocol_version: 1, bot_id: 'b', separate_streams: false },
        'invalid_shape',
      ],
      ['a transcript (not consumed)', { event: 'transcript.data', data: {} }, 'unsupported_event'],
      ['no data', { event: 'audio_mixed_raw.data' }, 'invalid_shape'],
      ['no inner data', { event: 'audio_mixed_raw.data', data: refs }, 'invalid_shape'],
      ['a numeric buffer', mixed(1234), 'invalid_shape'],
      ['a null buffer', mixed(null), 'invalid_shape'],
      ['no realtime_endpoint', mixed(undefined, { realtime_endpoint: undefined }), 'invalid_shape'],
      ['a recording without id', mixed(undefined, { recording: { metadata: {} } }), 'invalid_shape'],
      ['base64 with a space', mixed('AAAA AAAA'), 'bad_base64'],
      ['base64 with a newline', mixed('AAAA\nAAAA'), 'bad_base64'],
      ['URL-safe base64', mixed('AA-_'), 'bad_base64'],
      ['unpadded base64', mixed('AAA'), 'bad_base64'],
      ['padding in the middle', mixed('AA==AAAA'), 'bad_base64'],
      ['non-canonical padding bits', mixed('AB=='), 'bad_base64'],
      ['non-ASCII characters', mixed('AAAé'), 'bad_base64'],
      ['an odd byte count', mixed(Buffer.alloc(3).toString('base64')), 'odd_length_pcm'],
      ['one byte', mixed(Buffer.alloc(1).toString('base64')), 'odd_length_pcm'],
      ['a frame over 1 s', mixed(pcmBase64(MAX_RECALL_FRAME_BYTES + 2)), 'oversize'],
      ['separate audio without participant', separate(null), 'invalid_shape'],
      ['a participant id that is a string', separate({ ...alice, id: '1' }), 'invalid_shape'],
      ['a participant id that is fractional', separate({ ...alice, id: 1.5 }), 'invalid_shape'],
      [
        'a negative relative timestamp',
        {
          ...mixed(),
          data: { ...mixed().data, data: { buffer: '', timestamp: { relative: -1, absolute: 'x' } } },
        },
        'invalid_shape',
      ],
      [
        'a string relative timestamp',
        {
          ...mixed(),
          data: { ...mixed().data, data: { buffer: '', timestamp: { relative: '1', absolute: 'x' } } },
        },
        'invalid_shape',
      ],
      ['no timestamp', { ...mixed(), data: { ...mixed().data, data: { buffer: '' } } }, 'invalid_shape'],
      [
        'a participant event without participant',
        participantEvent('participant_events.join', null, null),
        'invalid_shape',
      ],
      [
        'a chat message without text',
        participantEvent('participant_events.chat_message', { to: 'x' }),
        'invalid_shape',
      ],
      [
        'a chat message with null data',
        participantEvent('participant_events.chat_message', null),
        'invalid_shape',
      ],
    ])('rejects %s', (_name, input, reason) => {
      expect(rejectionOf(input).reason).toBe(reason);
    });

    it('rejects a message too large to be a Recall frame without parsing it', () => {
      const text = `{"event":"audio_mixed_raw.data","pad":"${'x'.repeat(MAX_RECALL_MESSAGE_CHARS)}"}`;
      expect(rejectionOf(text).reason).toBe('message_too_large');
    });

    it('never throws, even for input that is not a string', () => {
      for (const input of [undefined, null, 42, {}, Symbol('x'), Buffer.from('{}')]) {
        expect(() => parseRecallMessage(input as unknown as string)).not.toThrow();
        expect(parseRecallMessage(input as unknown as string).ok).toBe(false);
      }
    });

    it('is not fooled by __proto__ keys', () => {
      const text = '{"__proto__":{"event":"audio_mixed_raw.data"},"data":{}}';
      expect(rejectionOf(text).reason).toBe('invalid_shape');
    });

    it('gives a detail that names the failing field and never echoes the audio', () => {
      const secretish = pcmBase64(600);
      const { detail } = rejectionOf(separate({ id: 'x' }, secretish));
      expect(detail).toMatch(/participant/);
      expect(detail).not.toContain(secretish);
    });

    it('only ever answers with a reason from the documented list', () => {
      const inputs: unknown[] = ['', '{', '[]', mixed('!!!!'), mixed(pcmBase64(3)), { event: 'x' }];
      for (const input of inputs) {
        expect(RECALL_REJECT_REASONS).toContain(rejectionOf(input).reason);
      }
    });
  });
});

describe('the fast path for mixed audio', () => {
  /** Every path to a value in `value` (objects only; arrays are leaves). */
  function paths(value: unknown, prefix: string[] = []): string[][] {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
    return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  }

  function withValue(base: unknown, path: string[], value: unknown): unknown {
    const copy = structuredClone(base) as Record<string, unknown>;
    if (path.length === 0) return value;
    let at = copy;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
    const last = path[path.length - 1] as string;
    if (value === REMOVE) delete at[last];
    else at[last] = value;
    return copy;
  }

  const REMOVE = Symbol('remove');
  const replacements: unknown[] = [
    REMOVE,
    null,
    0,
    -1,
    -0.5,
    1.5,
    7 * 24 * 3600 + 1,
    '',
    'x',
    'AAAA',
    'AA-_',
    'AB==',
    true,
    [],
    [1],
    {},
    { id: 'r' },
    { id: 'r', metadata: null },
    { id: 'r', metadata: [] },
    { id: 'r', metadata: 'm' },
    { id: '', metadata: {} },
    { relative: 1, absolute: 'now' },
    { relative: -1, absolute: 'now' },
  ];

  it('agrees with the full schema on every mutation of a mixed-audio frame, accepted or rejected', () => {
    // Arrange: a frame with every optional part present, and one without the optional parts.
    const full = mixed();
    const { bot: _bot, audio_mixed: _am, ...bare } = full.data;
    const frames: string[] = [];
    for (const base of [full, { ...full, data: bare }]) {
      for (const path of paths(base)) {
        for (const value of replacements) frames.push(JSON.stringify(withValue(base, path, value)));
        const node = path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], base);
        if (typeof node === 'object' && node !== null && !Array.isArray(node))
          frames.push(JSON.stringify(withValue(base, [...path, 'extra'], 1)));
      }
    }
    // Texts JSON.stringify cannot write: an infinite time, a __proto__ key in metadata.
    const text = JSON.stringify(full);
    frames.push(text.replace('"relative":1.02', '"relative":1e400'));
    frames.push(text.replace('"metadata":{"meetingId":"m-1"}', '"metadata":{"__proto__":{"a":1}}'));
    frames.push(text.replace('"metadata":{"meetingId":"m-1"}', '"metadata":{"a":1,"a":2}'));
    // Act + Assess
    let accepted = 0;
    for (const frame of frames) {
      const fast = parseRecallMessage(frame);
      const schema = parseRecallMessageWithSchema(frame);
      expect({ frame, result: fast }).toEqual({ frame, result: schema });
      if (fast.ok) accepted++;
    }
    // Both kinds were exercised: many mutations are tolerated, many rejected.
    expect(frames.length).toBeGreaterThan(500);
    expect(accepted).toBeGreaterThan(50);
    expect(frames.length - accepted).toBeGreaterThan(200);
  });

  it("gives the schema's reason and detail for every malformed mixed-audio frame of the list above", () => {
    const inputs = [mixed(1234), mixed(null), mixed('AA-_'), mixed(pcmBase64(3)), mixed('AB==')];
    for (const input of inputs) {
      const text = JSON.stringify(input);
      expect(parseRecallMessage(text)).toEqual(parseRecallMessageWithSchema(text));
      expect(parseRecallMessage(text).ok).toBe(false);
    }
  });
});
