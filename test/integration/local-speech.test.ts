import { espeakSpeech } from '../../core/briefing/espeak-speech';
import { looksLikeMp3 } from '../../core/recall/mp3';
import { decodeMp3, OutputAudioMixer } from '../../local/recall-simulator/output-audio';

/** The embedded text-to-speech (espeak-ng + ffmpeg) and the Recall simulator hearing it. */
describe('local text-to-speech and Output Audio in the simulated meeting', () => {
  it('speaks an answer as MP3 with espeak-ng and ffmpeg', async () => {
    const mp3 = await espeakSpeech()('The payment integration is late.');
    expect(looksLikeMp3(mp3)).toBe(true);
  });

  it('fails with SPEECH_FAILED, naming the program, when espeak-ng cannot run', async () => {
    const speak = espeakSpeech({ espeakPath: '/nonexistent/espeak-ng' });
    await expect(speak('hello')).rejects.toMatchObject({ code: 'SPEECH_FAILED', status: 502 });
    await expect(speak('hello')).rejects.toThrow(/espeak-ng/);
  });

  it('decodes played MP3 to 16 kHz PCM and adds it only to the meeting frames it overlaps', async () => {
    // Prepare: about a second of speech, placed 100 ms into the meeting.
    const pcm = await decodeMp3(await espeakSpeech()('Hello everyone, this is the bot.'));
    const seconds = pcm.length / 32_000;
    expect(seconds).toBeGreaterThan(0.5);
    expect(seconds).toBeLessThan(10);
    const mixer = new OutputAudioMixer();
    const endMs = mixer.add(100, pcm);
    const frame = Buffer.alloc(640); // 20 ms of silence

    // Act
    const before = mixer.mix(0, frame);
    const during: Buffer[] = [];
    for (let t = 100; t + 20 <= endMs; t += 20) during.push(mixer.mix(t, frame));
    const after = mixer.mix(Math.ceil(endMs / 20) * 20 + 20, frame);

    // Assess: untouched outside the clip, the clip's own samples inside it.
    expect(before).toBe(frame);
    expect(after).toBe(frame);
    expect(Buffer.concat(during).equals(pcm.subarray(0, during.length * 640))).toBe(true);
    expect(frame.every((b) => b === 0)).toBe(true);
  });
});
