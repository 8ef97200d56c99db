/**
 * Local recordings: `local://recordings/<name>` meetings play a file from the stack's recording
 * folders, decoded with ffmpeg when it is not 16 kHz mono WAV, through the whole live path.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RECALL_PCM_BYTES_PER_SECOND } from '../../core/recall/realtime-schema';
import { parseWav } from '../../local/recall-simulator/fixture';
import {
  findRecording,
  listRecordings,
  loadRecording,
  RecordingError,
  recordingName,
  recordingUrl,
} from '../../local/recordings';
import { type LocalStack, SAMPLE_FIXTURE, startLocalStack } from '../../local/stack';
import { FAST_MEETING_STACK, RecordingClient, waitFor } from '../helpers/live';

const ffmpeg = (...args: string[]) => execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args]);

describe('local recordings', () => {
  let dir: string;
  let other: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-recordings-'));
    other = mkdtempSync(path.join(tmpdir(), 'parley-recordings-other-'));
    // The first 12 s of the sample meeting, as mp3, as a 44.1 kHz stereo WAV, and as-is.
    ffmpeg('-i', SAMPLE_FIXTURE.wavPath, '-t', '12', '-ac', '1', '-ar', '16000', path.join(dir, 'clip.wav'));
    ffmpeg('-i', path.join(dir, 'clip.wav'), path.join(dir, 'clip.mp3'));
    ffmpeg('-i', path.join(dir, 'clip.wav'), '-ac', '2', '-ar', '44100', path.join(dir, 'stereo.wav'));
    writeFileSync(path.join(dir, 'notes.txt'), 'not audio');
    writeFileSync(path.join(dir, 'broken.mp3'), 'not really an mp3 at all');
    mkdirSync(path.join(dir, 'folder.wav'));
    symlinkSync(path.join(dir, 'missing.flac'), path.join(dir, 'dangling.flac'));
    writeFileSync(
      path.join(dir, 'clip.json'),
      JSON.stringify({
        segments: [
          { speaker: 'Ann', participantId: 7, startMs: 0, endMs: 6000 },
          { speaker: 'Bo', participantId: 8, startMs: 6000, endMs: 12000 },
        ],
      }),
    );
    ffmpeg('-i', path.join(dir, 'clip.wav'), '-t', '2', path.join(other, 'clip.wav'));
    ffmpeg('-i', path.join(dir, 'clip.wav'), '-t', '2', path.join(other, 'short.ogg'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });

  it('lists the playable files of every folder by name, the earlier folder winning a shared name', async () => {
    expect(await listRecordings([dir, other])).toEqual([
      'broken.mp3',
      'clip.mp3',
      'clip.wav',
      'short.ogg',
      'stereo.wav',
    ]);
    const [clip] = await Promise.all([findRecording([other, dir], 'clip.wav')]);
    expect(clip).toBe(path.join(other, 'clip.wav'));
  });

  it('refuses names that leave the folders or are not recordings, with a typed error', async () => {
    for (const name of ['../clip.wav', 'sub/clip.wav', '..', 'notes.txt', '']) {
      await expect(findRecording([dir], name)).rejects.toMatchObject({ code: 'RECORDING_INVALID' });
    }
    await expect(findRecording([dir], 'nope.wav')).rejects.toMatchObject({ code: 'RECORDING_NOT_FOUND' });
    await expect(loadRecording([dir], 'broken.mp3')).rejects.toBeInstanceOf(RecordingError);
  });

  it('reads a 16 kHz mono WAV as it is and uses the floor script beside it', async () => {
    const recording = await loadRecording([dir], 'clip.wav');
    const expected = parseWav(execFileSync('cat', [path.join(dir, 'clip.wav')]));
    expect(recording.pcm.equals(expected)).toBe(true);
    expect(recording.participants.map((p) => p.name)).toEqual(['Ann', 'Bo']);
    expect(recording.segments).toHaveLength(2);
  });

  it('decodes other formats with ffmpeg to the same length, with the floor script of the same stem', async () => {
    const clipSeconds = (await loadRecording([dir], 'clip.wav')).pcm.length / RECALL_PCM_BYTES_PER_SECOND;
    const speakers: Record<string, string[]> = { 'stereo.wav': ['Speaker'], 'clip.mp3': ['Ann', 'Bo'] };
    for (const [name, names] of Object.entries(speakers)) {
      const recording = await loadRecording([dir], name);
      const seconds = recording.pcm.length / RECALL_PCM_BYTES_PER_SECOND;
      // mp3 encoders pad by up to a frame or two at each end.
      expect(Math.abs(seconds - clipSeconds)).toBeLessThan(0.1);
      expect(recording.participants.map((p) => p.name)).toEqual(names);
    }
    const sole = await loadRecording([dir], 'stereo.wav');
    expect(sole.segments).toEqual([{ participantId: 1, startMs: 0, endMs: sole.durationMs }]);
  });

  it('round-trips names through meeting URLs, including spaces', () => {
    expect(recordingName(recordingUrl('all hands #3.mp3'))).toBe('all hands #3.mp3');
    expect(recordingName('local://sample')).toBeUndefined();
  });

  describe('on the local stack', () => {
    let stack: LocalStack;
    beforeAll(async () => {
      // Real time: the embedded engine keeps up with one meeting even on a loaded machine.
      stack = await startLocalStack({
        ...FAST_MEETING_STACK,
        speed: 1,
        httpRoutes: undefined,
        recordingDirs: [dir],
      });
    });
    afterAll(() => stack.stop());

    const createMeeting = async (meetingUrl: string) => {
      const response = await fetch(`${stack.urls.rest}/meetings`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await stack.issuer.mintToken('rita')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ meetingUrl, title: 'Recording' }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    it('plays an mp3 into a meeting: its words arrive as finals and the meeting ends with the file', async () => {
      const created = await createMeeting(recordingUrl('clip.mp3'));
      expect(created.status).toBe(201);
      const meetingId = String(created.body.meetingId);
      const client = new RecordingClient(stack, 'rita', meetingId);
      try {
        await client.waitForStatus('ended', 120_000);
        expect(client.finals.length).toBeGreaterThan(0);
        const words = client.finals.map((f) => f.text).join(' ');
        // The clip opens the sample meeting: "and mister john dashwood had then leisure to consider …".
        expect(words).toMatch(/john|leisure|consider/i);
        const bot = stack.recall.bots().find((b) => b.metadata.parleyMeetingId === meetingId);
        expect(bot?.durationMs).toBeGreaterThan(11_500);
        expect(bot?.durationMs).toBeLessThan(12_500);
      } finally {
        client.close();
      }
    });

    it('answers an unknown recording with an error that names it, and creates no bot', async () => {
      const before = stack.recall.bots().length;
      const created = await createMeeting(recordingUrl('no-such-file.mp3'));
      expect(created.status).toBeGreaterThanOrEqual(400);
      expect(JSON.stringify(created.body)).toContain('no-such-file.mp3');
      await waitFor('no new bot', () => stack.recall.bots().length === before || undefined, 1_000).catch(
        () => undefined,
      );
      expect(stack.recall.bots().length).toBe(before);
    });
  });
});
