import { RecallFrameReader } from '../../core/recall/frame-reader';
import { MAX_RECALL_FRAME_BYTES, parseRecallMessageWithSchema } from '../../core/recall/realtime-schema';

// A mixed-audio frame shaped as https://docs.recall.ai/docs/real-time-event-payloads shows it.
function frameObject(buffer: string, relative: number, absolute: string) {
  return {
    event: 'audio_mixed_raw.data',
    data: {
      data: { buffer, timestamp: { relative, absolute } },
      realtime_endpoint: { id: 'rt-1', metadata: {} },
      recording: { id: 'rec-1', metadata: null },
      bot: { id: 'bot-1', metadata: { meetingId: 'm-1', name: 'Parley "notes"' } },
      audio_mixed: { id: 'am-1', metadata: {} },
    },
  };
}

function pcm(k: number, bytes = 640): string {
  return Buffer.alloc(bytes, k & 0xff).toString('base64');
}

function frame(k: number): string {
  return JSON.stringify(frameObject(pcm(k), k * 0.02, new Date(1_790_000_000_000 + k * 20).toISOString()));
}

/** Frame k with one slot's text replaced (the text JSON.stringify would not write, too). */
function withSlot(k: number, slot: 'buffer' | 'relative' | 'absolute', raw: string): string {
  const text = frame(k);
  if (slot === 'buffer') return text.replace(/"buffer":"[^"]*"/, `"buffer":"${raw}"`);
  if (slot === 'relative') return text.replace(/"relative":[^,}]*/, `"relative":${raw}`);
  return text.replace(/"absolute":"[^"]*"/, `"absolute":"${raw}"`);
}

describe('RecallFrameReader', () => {
  it('answers frames that differ only in audio and time from the template, without a full parse', () => {
    // Arrange
    const reader = new RecallFrameReader();
    // Act
    const results = Array.from({ length: 50 }, (_, k) => ({ k, result: reader.read(frame(k)) }));
    // Assess
    for (const { k, result } of results) expect(result).toEqual(parseRecallMessageWithSchema(frame(k)));
    expect(reader.stats).toEqual({ templated: 49, parsed: 1, templates: 1 });
  });

  it('gives the schema path answer for every slot value, valid or not, on a connection with a template', () => {
    // Arrange: mutations of each value slot; each follows a valid frame so the template is live.
    const slots: Array<['buffer' | 'relative' | 'absolute', string]> = [
      ['buffer', ''],
      ['buffer', 'AAAA'],
      ['buffer', 'AA-_'],
      ['buffer', 'AB=='],
      ['buffer', 'AA=='],
      ['buffer', 'AAA'],
      ['buffer', 'AA\\"A'],
      ['buffer', 'AAA\\u0041'],
      ['buffer', 'AA\u0001A'],
      ['buffer', pcm(1, 3)],
      ['buffer', pcm(1, MAX_RECALL_FRAME_BYTES)],
      ['buffer', pcm(1, MAX_RECALL_FRAME_BYTES + 2)],
      ['relative', '0'],
      ['relative', '-0'],
      ['relative', '-1'],
      ['relative', '1e400'],
      ['relative', '01'],
      ['relative', '1.'],
      ['relative', '.5'],
      ['relative', '+1'],
      ['relative', '1e5'],
      ['relative', '1.5E+2'],
      ['relative', '604800'],
      ['relative', '604800.001'],
      ['relative', '1-2'],
      ['relative', '"1"'],
      ['relative', 'null'],
      ['relative', ''],
      ['absolute', ''],
      ['absolute', 'x'],
      ['absolute', 'ü 2026'],
      ['absolute', 'a\\"b'],
      ['absolute', 'a\\\\b'],
      ['absolute', 'a\\u0041'],
      ['absolute', 'a\u0001b'],
      ['absolute', 'a\u2028b'],
    ];
    const reader = new RecallFrameReader();
    let k = 0;
    // Act + Assess
    for (const [slot, raw] of slots) {
      const valid = frame(k++);
      expect(reader.read(valid)).toEqual(parseRecallMessageWithSchema(valid));
      const mutated = withSlot(k++, slot, raw);
      expect({ mutated, result: reader.read(mutated) }).toEqual({
        mutated,
        result: parseRecallMessageWithSchema(mutated),
      });
    }
    // Both answers occurred: some slot values were taken from the template, some were not.
    expect(reader.stats.templated).toBeGreaterThan(slots.length);
    expect(reader.stats.parsed).toBeGreaterThan(10);
  });

  it('gives the schema path answer when the text around the values changes', () => {
    const base = frame(3);
    const variants = [
      base.replace('"bot-1"', '"bot-2"'),
      base.replace('"id":"rt-1"', '"id":""'),
      base.replace('"metadata":null', '"metadata":[]'),
      base.replace('{"event"', '{ "event"'),
      base.replace('"audio_mixed_raw.data"', '"audio_separate_raw.data"'),
      base.replace(/}$/, ',"extra":1}'),
      base.replace(/}$/, '} '),
      base.replace(/}$/, ''),
      base.slice(0, -5),
      `${base}x`,
      base.replace('"timestamp":{', '"timestamp":{"tz":"utc",'),
      JSON.stringify({ event: 'participant_events.join', data: {} }),
      'not json',
      '',
    ];
    const reader = new RecallFrameReader();
    let k = 10;
    for (const variant of variants) {
      const valid = frame(k++);
      expect(reader.read(valid)).toEqual(parseRecallMessageWithSchema(valid));
      expect({ variant, result: reader.read(variant) }).toEqual({
        variant,
        result: parseRecallMessageWithSchema(variant),
      });
      // The frame after a changed one: from the old template, the new one, or a full parse, the same answer.
      const next = frame(k++);
      expect(reader.read(next)).toEqual(parseRecallMessageWithSchema(next));
    }
  });

  it('builds no template where a value slot could be read from the wrong place', () => {
    // Arrange: frames whose real values stay the same while a decoy elsewhere changes: a repeated
    // key (JSON.parse keeps the last), the audio key in metadata with the real key spaced out, a
    // repeated time. A template whose slot sat on the decoy would answer the decoy's value.
    const real = frame(0);
    const decoys = [
      (k: number) => real.replace('"buffer":', `"buffer":"${pcm(k + 1)}","buffer":`),
      (k: number) =>
        real
          .replace('"buffer":"', '"buffer" :"')
          .replace('"name":"Parley \\"notes\\""', `"name":"x","buffer":"${pcm(k + 1)}"`),
      (k: number) => real.replace('"relative":', `"relative":${k + 1},"relative":`),
      (k: number) => real.replace('"absolute":', `"absolute":"decoy-${k}","absolute":`),
      (k: number) => real.replace('{"event"', `{"x":{"relative":${k + 1}},"event"`),
    ];
    for (const decoy of decoys) {
      const reader = new RecallFrameReader();
      for (let k = 0; k < 5; k++) {
        const text = decoy(k);
        expect(text).not.toBe(real);
        // Act + Assess
        expect({ text, result: reader.read(text) }).toEqual({
          text,
          result: parseRecallMessageWithSchema(text),
        });
      }
    }
  });

  it('stops building a template for every frame when the envelope changes every time', () => {
    // Arrange: a sender whose bot metadata counts frames, so no template ever matches
    const reader = new RecallFrameReader();
    const counted = (k: number) => frame(k).replace('"meetingId":"m-1"', `"meetingId":"m-1","n":${k}`);
    // Act
    for (let k = 0; k < 300; k++) {
      const text = counted(k);
      expect(reader.read(text)).toEqual(parseRecallMessageWithSchema(text));
    }
    // Assess: a few templates, then one every 256 full parses
    expect(reader.stats.templated).toBe(0);
    expect(reader.stats.templates).toBeLessThanOrEqual(6);
  });

  it('keeps one template per reader, so two connections never share an envelope', () => {
    const a = new RecallFrameReader();
    const b = new RecallFrameReader();
    a.read(frame(1));
    const other = frame(2).replace('"bot-1"', '"bot-9"');
    expect(b.read(other)).toEqual(parseRecallMessageWithSchema(other));
    expect(a.read(other)).toEqual(parseRecallMessageWithSchema(other));
    expect(a.stats.parsed).toBe(2);
  });
});
