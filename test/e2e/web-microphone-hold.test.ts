/**
 * The microphone's backpressure in Chromium on the real local stack: the speech service goes
 * down mid-recording (its streams are dropped and new ones refused), so the gateway's speech
 * stream lags and the gateway tells the page to hold; the page shows that it waits and the
 * audio it keeps meanwhile, then, once the service is back, resumes, drains its buffer and loses
 * nothing — the archive holds exactly the chunks the page produced.
 *
 * The gateway's real thresholds are configuration (MIC_HOLD_AT_MS / MIC_RESUME_AT_MS; defaults
 * 45 s / 20 s), lowered here so that a few seconds of outage are enough.
 */
process.env.MIC_HOLD_AT_MS = '4000';
process.env.MIC_RESUME_AT_MS = '1000';
// Short chunks: the archive's own pending audio (the open chunk) stays far below the hold mark.
process.env.RECORDING_CHUNK_MS = '1000';
process.env.RECORDING_KEEP_CHUNKS = 'true';

import type { S3RecordingStore } from '../../core/recordings/store';
import type { LocalStack } from '../../local/stack';
import {
  type Browser,
  type BrowserContext,
  enableTestHooks,
  logPage,
  newContext,
  signIn,
  until,
  waitForText,
} from '../helpers/browser';
import { archivedMicAudio, startMicrophoneRig, stopMicrophoneRig } from '../helpers/microphone';

jest.setTimeout(300_000);

describe('the record page when the gateway asks the browser to hold', () => {
  let stack: LocalStack;
  let browser: Browser;
  let store: S3RecordingStore;
  let dir: string;
  let ctx: BrowserContext | undefined;

  beforeAll(async () => {
    ({ stack, browser, store, dir } = await startMicrophoneRig());
  }, 240_000);
  afterAll(async () => {
    if (stack) stack.speech.unavailable = false;
    await ctx?.close();
    await stopMicrophoneRig({ stack, browser, dir });
  });

  it('shows the hold and the audio kept in the browser, then resumes, drains the buffer and archives every chunk once', async () => {
    ctx = await enableTestHooks(await newContext(browser));
    const tapped = new Map<number, Buffer>();
    await ctx.exposeBinding('parleyMicTap', (_source, _id: string, seq: number, base64: string) => {
      tapped.set(seq, Buffer.from(base64, 'base64'));
    });
    const page = await signIn(ctx, stack.urls.web, 'alice');
    logPage(page);
    await page.getByRole('link', { name: 'Record', exact: true }).click();
    await page.getByLabel('Title').fill('Hold test');
    await page.getByRole('button', { name: 'Start recording' }).click();
    await page.waitForURL(/\/meetings\/[A-Za-z0-9_-]+$/);
    const meetingId = new URL(page.url()).pathname.split('/').pop() as string;
    const state = page.getByTestId('mic-state');
    const buffered = page.getByTestId('mic-buffered');
    const bufferedMs = async () => Number(await buffered.getAttribute('data-buffered-ms'));
    await waitForText(state, /^Recording$/);
    const ingress = stack.audio.extensions.browser;
    if (!ingress) throw new Error('the local stack has no browser ingress');
    await until('some chunks stored', () => (ingress.stream(meetingId)?.durableSeq ?? 0) >= 8, 60_000);
    const holdsBefore = ingress.stats.holds;

    // The speech service goes down: the gateway's speech stream keeps the audio and lags.
    stack.speech.unavailable = true;
    stack.speech.dropConnections();
    await waitForText(state, 'The server asked to wait (transcription is catching up)', 60_000);
    expect(ingress.stats.holds).toBe(holdsBefore + 1);
    // While held the page keeps capturing: the audio not yet stored grows past the hold mark,
    // and the panel shows it against the bound this browser keeps.
    await until('the buffer to grow while held', async () => (await bufferedMs()) > 6_000, 60_000);
    await waitForText(buffered, /Not yet stored on the server: \d+ s \(of 10 min this browser keeps\)/);
    expect(await buffered.locator('meter').evaluate((el) => (el as HTMLMeterElement).value)).toBeGreaterThan(
      6_000,
    );
    const heldAtSeq = ingress.stream(meetingId)?.lastSeq ?? 0;
    expect(Math.max(...tapped.keys())).toBeGreaterThan(heldAtSeq); // captured, not sent

    // The service is back: the gateway sends its backlog, tells the page to resume, and the page
    // drains what it kept.
    stack.speech.unavailable = false;
    await waitForText(state, /^Recording$/, 60_000);
    // Drained: what is left is only the chunk the archive has open (1 s) and its PUT.
    await until('the buffer to drain', async () => (await bufferedMs()) < 3_000, 60_000);
    expect(ingress.stream(meetingId)?.lastSeq ?? 0).toBeGreaterThan(heldAtSeq);

    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByRole('button', { name: 'Stop meeting' }).click();
    await waitForText(page.locator('.meeting-head .badge'), 'Ended', 90_000);

    // Nothing lost, nothing twice: the archive is every chunk the page produced, in seq order.
    const seqs = [...tapped.keys()].sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const { audio, lastSeq } = await archivedMicAudio(store, meetingId);
    expect(lastSeq).toBe(seqs.length);
    expect(audio.equals(Buffer.concat(seqs.map((s) => tapped.get(s) as Buffer)))).toBe(true);
  });
});
