import { silentMp3 } from '../../core/recall/mp3';
import { type MeetingFixture, parseFloorScript, parseWav } from '../../local/recall-simulator/fixture';
import { validateCreateBot, validateOutputAudio } from '../../local/recall-simulator/request-validation';
import { buildTimeline } from '../../local/recall-simulator/timeline';

function wav(options: { sampleRate?: number; channels?: number; bits?: number; data?: Buffer } = {}): Buffer {
  const data = options.data ?? Buffer.alloc(64);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(options.channels ?? 1, 22);
  header.writeUInt32LE(options.sampleRate ?? 16_000, 24);
  header.writeUInt32LE((options.sampleRate ?? 16_000) * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(options.bits ?? 16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

describe('parseWav', () => {
  it('returns the data chunk of a 16 kHz mono 16-bit WAV', () => {
    const data = Buffer.from([1, 2, 3, 4]);
    expect(parseWav(wav({ data }))).toEqual(data);
  });

  it.each([
    ['a stereo file', { channels: 2 }],
    ['a 44.1 kHz file', { sampleRate: 44_100 }],
    ['an 8-bit file', { bits: 8 }],
  ])('refuses %s with a clear message', (_name, options) => {
    expect(() => parseWav(wav(options), 'x.wav')).toThrow(/x\.wav must be 16 kHz mono 16-bit PCM/);
  });

  it('refuses something that is not a WAV', () => {
    expect(() => parseWav(Buffer.from('ID3 not a wav'), 'y.wav')).toThrow(/not a RIFF\/WAVE/);
  });
});

describe('parseFloorScript', () => {
  const script = {
    segments: [
      { speaker: 'Bob', participantId: 2, startMs: 500, endMs: 900 },
      { speaker: 'Alice', participantId: 1, startMs: 100, endMs: 400 },
    ],
  };

  it('orders segments and makes the first speaker the host', () => {
    const parsed = parseFloorScript(script, 1000);
    expect(parsed.participants).toEqual([
      { id: 1, name: 'Alice', isHost: true },
      { id: 2, name: 'Bob', isHost: false },
    ]);
    expect(parsed.segments.map((s) => s.participantId)).toEqual([1, 2]);
  });

  it('refuses overlapping segments and missing fields', () => {
    expect(() =>
      parseFloorScript(
        { segments: [...script.segments, { speaker: 'Carol', participantId: 3, startMs: 800, endMs: 950 }] },
        1000,
      ),
    ).toThrow(/overlap/);
    expect(() => parseFloorScript({ segments: [{ speaker: 'A' }] }, 1000)).toThrow(/invalid/);
  });
});

describe('buildTimeline', () => {
  const fixture: MeetingFixture = {
    pcm: Buffer.alloc(32_000), // 1 s
    durationMs: 1000,
    participants: [
      { id: 1, name: 'Alice', isHost: true },
      { id: 2, name: 'Bob', isHost: false },
    ],
    segments: [
      { participantId: 1, startMs: 100, endMs: 400 },
      { participantId: 2, startMs: 500, endMs: 900 },
    ],
  };

  it('covers the audio exactly once in frames, with events in order around it', () => {
    const timeline = buildTimeline(fixture, 30);
    const frames = timeline.filter((item) => item.kind === 'audio');
    expect(frames.reduce((sum, f) => sum + (f.kind === 'audio' ? f.length : 0), 0)).toBe(32_000);
    expect(frames.at(-1)).toMatchObject({ length: 32_000 - 33 * 960 }); // a short last frame
    const events = timeline.flatMap((item) =>
      item.kind === 'participant' ? [`${item.event.split('.')[1]}:${item.participantId}`] : [],
    );
    expect(events).toEqual([
      'join:1',
      'join:2',
      'speech_on:1',
      'speech_off:1',
      'speech_on:2',
      'speech_off:2',
      'leave:1',
      'leave:2',
    ]);
    const times = timeline.map((item) => item.t);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(timeline[0]).toMatchObject({ kind: 'participant', event: 'participant_events.join' });
    expect(timeline.at(-1)).toMatchObject({ kind: 'participant', event: 'participant_events.leave' });
  });

  it('gives each frame to the participant holding the floor', () => {
    const timeline = buildTimeline(fixture, 100);
    const holders = timeline.flatMap((item) => (item.kind === 'audio' ? [item.floorHolder] : []));
    // frames at 0..900 ms: Alice before anyone spoke, Alice until Bob starts at 500, then Bob
    expect(holders).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  });
});

describe('validateCreateBot', () => {
  const valid = {
    meeting_url: 'local://sample',
    bot_name: 'Parley',
    recording_config: {
      audio_mixed_raw: {},
      realtime_endpoints: [
        { type: 'websocket', url: 'ws://127.0.0.1:1/r?token=x', events: ['audio_mixed_raw.data'] },
      ],
    },
  };

  it('accepts a Parley create body', () => {
    const result = validateCreateBot(valid);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.value).toMatchObject({
      local: true,
      audioMixedRaw: true,
      audioSeparateRaw: false,
      botName: 'Parley',
    });
    expect(result.value.meeting).toEqual({ platform: 'local', meetingId: 'sample' });
  });

  it.each<[string, unknown, unknown]>([
    ['no meeting_url', { ...valid, meeting_url: undefined }, { meeting_url: ['This field is required.'] }],
    [
      'an unsupported meeting URL',
      { ...valid, meeting_url: 'https://example.com/x' },
      { meeting_url: [expect.stringMatching(/Invalid meeting URL/)] },
    ],
    [
      'an http realtime websocket URL',
      {
        ...valid,
        recording_config: { realtime_endpoints: [{ type: 'websocket', url: 'https://h/x', events: [] }] },
      },
      { recording_config: { realtime_endpoints: [{ url: [expect.stringMatching(/ws:\/\/ or wss:\/\//)] }] } },
    ],
    [
      'an unknown event',
      {
        ...valid,
        recording_config: {
          realtime_endpoints: [{ type: 'websocket', url: 'ws://h/x', events: ['audio.data'] }],
        },
      },
      { recording_config: { realtime_endpoints: [{ events: ['"audio.data" is not a valid choice.'] }] } },
    ],
    [
      'a WAV as automatic audio output',
      {
        ...valid,
        automatic_audio_output: {
          in_call_recording: {
            data: { kind: 'mp3', b64_data: Buffer.from('RIFF0000WAVE').toString('base64') },
          },
        },
      },
      { automatic_audio_output: { in_call_recording: { data: { b64_data: ['Data is not MP3 audio.'] } } } },
    ],
    [
      'non-string metadata',
      { ...valid, metadata: { a: 1 } },
      { metadata: [expect.stringMatching(/string or null/)] },
    ],
  ])('answers %s with DRF-style field errors', (_name, body, errors) => {
    const result = validateCreateBot(body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual(errors);
  });
});

describe('validateOutputAudio', () => {
  it('accepts base64 MP3 and refuses other kinds or lenient base64', () => {
    expect(validateOutputAudio({ kind: 'mp3', b64_data: silentMp3(50).toString('base64') }).ok).toBe(true);
    expect(validateOutputAudio({ kind: 'wav', b64_data: silentMp3(50).toString('base64') })).toEqual({
      ok: false,
      errors: { kind: ['"wav" is not a valid choice.'] },
    });
    expect(validateOutputAudio({ kind: 'mp3', b64_data: '__8=' })).toMatchObject({ ok: false });
    expect(validateOutputAudio({ kind: 'mp3', b64_data: '' })).toMatchObject({ ok: false });
  });
});
