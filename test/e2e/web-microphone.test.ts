/**
 * The web console's microphone meetings and recording player in Chromium, against the real local
 * stack. Chromium's fake microphone plays a shared fixture (converted by ffmpeg to a 48 kHz
 * 16-bit WAV, so the page's AudioWorklet resamples it to 16 kHz). A meeting is recorded from the
 * record page; its socket is cut from the server side and the page is reloaded mid-stream; then
 * the archive must hold exactly the chunks the page produced (sample-exact, each once, seqs
 * 1…N), the transcript's seqs must be continuous, and the player must seek to a clicked line.
 */
process.env.RECORDING_CHUNK_MS = '2000';
process.env.RECORDING_KEEP_CHUNKS = 'true';

import path from 'node:path';
import type { S3RecordingStore } from '../../core/recordings/store';
import type { LocalStack } from '../../local/stack';
import {
  type Browser,
  type BrowserContext,
  enableTestHooks,
  logPage,
  newContext,
  type Page,
  SCREENSHOT_DIR,
  signIn,
  until,
  waitForText,
} from '../helpers/browser';
import { archivedMicAudio, startMicrophoneRig, stopMicrophoneRig } from '../helpers/microphone';

jest.setTimeout(420_000);

describe('microphone meetings and the recording player in Chromium on the local stack', () => {
  let stack: LocalStack;
  let browser: Browser;
  let store: S3RecordingStore;
  let dir: string;
  const contexts: BrowserContext[] = [];
  /** The recorded meeting (the player test plays it back). */
  let meetingId = '';

  beforeAll(async () => {
    ({ stack, browser, store, dir } = await startMicrophoneRig());
  }, 240_000);
  afterAll(async () => {
    for (const context of contexts.splice(0)) await context.close();
    await stopMicrophoneRig({ stack, browser, dir });
  });

  async function context(): Promise<BrowserContext> {
    const created = await newContext(browser);
    contexts.push(created);
    // The page reports every chunk it journals to the test (MicPanel's test tap).
    return enableTestHooks(created);
  }

  /** Waits for the microphone panel's state; a timeout says what it showed instead. */
  async function micState(page: Page, state: RegExp | string, timeout = 60_000): Promise<void> {
    try {
      await waitForText(page.getByTestId('mic-state'), state, timeout);
    } catch (error) {
      const shown = await page
        .getByTestId('mic-panel')
        .textContent({ timeout: 1_000 })
        .catch(() => '(no microphone panel)');
      throw new Error(`microphone state ${state} not shown; the panel says: ${shown}`, { cause: error });
    }
  }

  const finals = (page: Page) => page.locator('.lines > li.line:not(.interim)');
  const seqsOn = (page: Page) =>
    finals(page).evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset.seq)));
  const ingress = () => {
    const browserIngress = stack.audio.extensions.browser;
    if (!browserIngress) throw new Error('the local stack has no browser ingress');
    return browserIngress;
  };
  const serverSeq = () => ingress().stream(meetingId)?.lastSeq ?? 0;

  async function storedSeqs(id: string): Promise<number[]> {
    const res = await fetch(`${stack.urls.rest}/meetings/${id}/transcript?limit=500`, {
      headers: { authorization: `Bearer ${await stack.issuer.mintToken('alice')}` },
    });
    const body = (await res.json()) as { segments: { seq: number }[] };
    return body.segments.map((s) => s.seq);
  }

  it('records from the record page: live lines, a cut socket and a reloaded page, and the archive holds exactly what the page captured', async () => {
    const ctx = await context();
    /** Every chunk the page journaled, by seq (across the reload: the binding is the context's). */
    const tapped = new Map<number, Buffer>();
    const conflicts: number[] = [];
    await ctx.exposeBinding('parleyMicTap', (_source, _id: string, seq: number, base64: string) => {
      const pcm = Buffer.from(base64, 'base64');
      const before = tapped.get(seq);
      if (before && !before.equals(pcm)) conflicts.push(seq);
      tapped.set(seq, pcm);
    });
    const maxTapped = () => Math.max(0, ...tapped.keys());

    const page = await signIn(ctx, stack.urls.web, 'alice');
    logPage(page, { warnings: true });
    await page.getByRole('link', { name: 'Record', exact: true }).click();
    await page.getByRole('heading', { name: 'Record', exact: true }).waitFor();
    // The boot placeholder is gone once the app has rendered.
    expect(await page.locator('#app > .boot').count()).toBe(0);
    await page.getByLabel('Title').fill('Web microphone test');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'record.png') });
    await page.getByRole('button', { name: 'Start recording' }).click();
    await page.waitForURL(/\/meetings\/[A-Za-z0-9_-]+$/);
    meetingId = new URL(page.url()).pathname.split('/').pop() as string;
    await page.getByRole('heading', { name: 'Web microphone test' }).waitFor();
    await micState(page, /^Recording$/);

    // Live lines from the microphone.
    await finals(page).first().waitFor({ timeout: 120_000 });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'meeting-microphone.png') });

    // The network drops (the server side of the socket goes away without a close frame).
    await until('the gateway to hold some chunks', () => serverSeq() >= 8);
    const cutAt = serverSeq();
    expect(ingress().disconnect(meetingId)).toBe(true);
    await until('the stream to come back and go on', () => serverSeq() >= cutAt + 12, 90_000);

    // The page reloads mid-stream: the journal's backlog is sent; capturing continues on a click.
    const beforeReload = maxTapped();
    const finalsBeforeReload = Math.max(0, ...(await seqsOn(page)));
    await page.reload();
    await page.getByRole('heading', { name: 'Web microphone test' }).waitFor();
    await page.getByRole('button', { name: 'Continue recording' }).click();
    await micState(page, /^Recording$/);
    await until('new chunks after the reload', () => maxTapped() >= beforeReload + 16, 90_000);
    await until(
      'a new line after the reload',
      async () => Math.max(0, ...(await seqsOn(page))) > finalsBeforeReload,
      120_000,
    );
    await until('the gateway to hold chunks after the reload', () => serverSeq() > beforeReload + 8, 90_000);

    // Stop: the last audio is stored first, then the meeting ends.
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    // The dialog says what stopping does to a microphone meeting (no bot is in a call).
    const dialog = page.getByRole('dialog', { name: 'Stop this meeting?' });
    await waitForText(dialog, /Recording stops .* the microphone is released/);
    expect(await dialog.textContent()).not.toContain('bot');
    await page.getByRole('button', { name: 'Stop meeting' }).click();
    await waitForText(page.locator('.meeting-head .badge'), 'Ended', 90_000);
    await micState(page, 'The meeting has ended', 30_000);

    // Every chunk the page produced, each once, in order, with no seq skipped or reused…
    expect(conflicts).toEqual([]);
    const seqs = [...tapped.keys()].sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const captured = Buffer.concat(seqs.map((s) => tapped.get(s) as Buffer));
    // …is exactly the archived audio, sample for sample.
    const archived = await archivedMicAudio(store, meetingId);
    expect(archived.lastSeq).toBe(seqs.length);
    expect(archived.audio.length).toBe(captured.length);
    expect(archived.audio.equals(captured)).toBe(true);

    // The transcript's seqs are continuous, and the page shows exactly the stored lines.
    const stored = await storedSeqs(meetingId);
    expect(stored.length).toBeGreaterThan(1);
    expect(stored).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    await until(
      'the page to show every stored line',
      async () => (await seqsOn(page)).length === stored.length,
    );
    expect(await seqsOn(page)).toEqual(stored);
  });

  it('plays the recording beside the transcript: a clicked line seeks to its start and is highlighted', async () => {
    expect(meetingId).not.toBe('');
    const page = await signIn(await context(), `${stack.urls.web}/meetings/${meetingId}`, 'alice');
    logPage(page, { warnings: true });
    const audio = page.locator('[data-testid="player"] audio');
    await audio.waitFor({ timeout: 120_000 });
    // Lines become clickable once the player has a recording.
    await page.locator('.transcript.can-seek').waitFor();
    await finals(page).nth(1).waitFor();
    const line = finals(page).nth(1);
    const startMs = Number(await line.getAttribute('data-start-ms'));
    const seq = await line.getAttribute('data-seq');
    expect(startMs).toBeGreaterThan(0);

    await line.click();
    await until('the player to be at the line', async () => {
      const t = await audio.evaluate((el) => (el as HTMLAudioElement).currentTime);
      return t >= startMs / 1000 - 0.05 && t < startMs / 1000 + 5;
    });
    await waitForText(page.locator('.line.speaking'), (await line.locator('.text').textContent()) ?? '');
    expect(await page.locator('.line.speaking').getAttribute('data-seq')).toBe(seq);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'meeting-player.png') });
  });
});
