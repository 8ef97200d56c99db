/**
 * File transcription in the web console, in Chromium against the real local stack: a file
 * picked in the upload page goes from the browser straight to s3rver (presigned PUT, or parts),
 * s3rver's event starts the file worker, and the job page follows the stages, percent and lines
 * over the WebSocket — or, with the WebSocket blocked, by polling the REST API. Media files are
 * made in the test from the shared sample fixture with ffmpeg.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { JOB_LIMITS } from '../../core/jobs/model';
import { type LocalStack, SAMPLE_FIXTURE } from '../../local/stack';
import {
  type Browser,
  type BrowserContext,
  newContext,
  type Page,
  SCREENSHOT_DIR,
  signIn,
  until,
  waitForText,
} from '../helpers/browser';
import { MEDIA_DIR, sampleAs } from '../helpers/jobs';
import { startWebRig, stopWebRig } from '../helpers/web-rig';

jest.setTimeout(420_000);

const STAGES = ['Uploading', 'Queued', 'Decoding', 'Transcribing', 'Finalizing', 'Complete'];

/** What the page showed over time, recorded in the page by a MutationObserver. */
interface Trace {
  uploadValues: number[];
  stages: string[];
  percents: number[];
  /** Line counts seen while the stage was not yet Complete. */
  linesBeforeComplete: number;
  pollingNoticeSeen: boolean;
}

/** Starts recording what the job page shows (call before the upload starts; survives SPA navigation). */
async function recordTrace(page: Page): Promise<void> {
  await page.evaluate(() => {
    const trace = {
      uploadValues: [] as number[],
      stages: [] as string[],
      percents: [] as number[],
      linesBeforeComplete: 0,
      pollingNoticeSeen: false,
    };
    (window as unknown as { jobTrace: typeof trace }).jobTrace = trace;
    const look = () => {
      const upload = document.querySelector(
        'progress[aria-label="Upload progress"]',
      ) as HTMLProgressElement | null;
      if (upload && trace.uploadValues.at(-1) !== upload.value) trace.uploadValues.push(upload.value);
      const stage = document.querySelector('[data-testid="job-stage"]')?.textContent ?? '';
      if (stage && stage !== 'Loading…' && trace.stages.at(-1) !== stage) trace.stages.push(stage);
      const percent = Number.parseInt(
        document.querySelector('[data-testid="job-percent"]')?.textContent ?? '',
        10,
      );
      if (Number.isFinite(percent) && trace.percents.at(-1) !== percent) trace.percents.push(percent);
      const lines = document.querySelectorAll('.job-page .lines > li.line').length;
      if (stage !== 'Complete') trace.linesBeforeComplete = Math.max(trace.linesBeforeComplete, lines);
      if (document.querySelector('[data-testid="polling-notice"]')) trace.pollingNoticeSeen = true;
    };
    new MutationObserver(look).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ['value'],
    });
  });
}

const trace = (page: Page) => page.evaluate(() => (window as unknown as { jobTrace: Trace }).jobTrace);
const jobIdOf = (page: Page) => new URL(page.url()).pathname.split('/').pop() as string;

describe('file transcription in the web console (Chromium, local stack)', () => {
  let stack: LocalStack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    ({ stack, browser } = await startWebRig({ logLevel: 'WARN' }));
  }, 240_000);
  afterAll(() => stopWebRig({ stack, browser }));
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  async function context(): Promise<BrowserContext> {
    const created = await newContext(browser);
    contexts.push(created);
    return created;
  }

  async function api<T>(method: string, route: string, user = 'alice'): Promise<T> {
    const res = await fetch(`${stack.urls.rest}${route}`, {
      method,
      headers: { authorization: `Bearer ${await stack.issuer.mintToken(user)}` },
    });
    return (await res.json()) as T;
  }

  async function upload(page: Page, file: string, title?: string, screenshot?: string): Promise<string> {
    await page.getByRole('link', { name: 'Upload' }).first().click();
    await page.getByRole('heading', { name: 'Transcribe a recording' }).waitFor();
    await page.getByLabel('Audio or video file').setInputFiles(file);
    if (title) await page.getByLabel('Title (optional)').fill(title);
    if (screenshot) await page.screenshot({ path: path.join(SCREENSHOT_DIR, screenshot) });
    await recordTrace(page);
    await page.getByRole('button', { name: 'Upload and transcribe' }).click();
    await page.waitForURL(/\/jobs\/[A-Za-z0-9_-]+$/);
    return jobIdOf(page);
  }

  it('uploads a picked file with visible progress, then shows stages in order, percent to 100 and lines as they are made, and lists the job', async () => {
    const file = sampleAs('mp3');
    const page = await signIn(await context(), stack.urls.web, 'alice');
    // index.html's boot message goes once the app renders (it used to stay below every page).
    expect(await page.getByText('Loading Parley…').count()).toBe(0);
    // A slow uplink (≈ 64 KiB/s), so the upload's progress is seen between 0 and 100.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 64 * 1024,
    });
    const jobId = await upload(page, file, 'Web jobs test: the Dashwoods', 'upload-page.png');
    await waitForText(page.getByTestId('upload-status'), /^Uploaded/, 120_000);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    // For docs/images: the page mid-transcription (when this run catches it there).
    const stageNow = () => page.getByTestId('job-stage').textContent();
    const lineCount = () => page.locator('.job-page .lines > li.line').count();
    await until(
      'lines while transcribing, or later',
      async () => {
        const stage = (await stageNow()) ?? '';
        return (
          (stage === 'Transcribing' && (await lineCount()) >= 3) || ['Finalizing', 'Complete'].includes(stage)
        );
      },
      240_000,
    );
    if ((await stageNow()) === 'Transcribing')
      await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'job-progress.png') });
    await waitForText(page.getByTestId('job-stage'), 'Complete', 240_000);
    await waitForText(page.getByTestId('job-percent'), '100%');

    const seen = await trace(page);
    // The upload bar moved through values strictly between 0 and 100 and ended full.
    expect(seen.uploadValues.some((v) => v > 0 && v < 100)).toBe(true);
    expect(seen.uploadValues.at(-1)).toBe(100);
    // Stages in order, ending complete; the page joined at `uploading`.
    expect(seen.stages[0]).toBe('Uploading');
    expect(seen.stages.at(-1)).toBe('Complete');
    const order = seen.stages.map((s) => STAGES.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(seen.stages).toEqual(expect.arrayContaining(['Transcribing', 'Complete']));
    // Percent never went backwards and reached 100.
    for (let i = 1; i < seen.percents.length; i++)
      expect(seen.percents[i]).toBeGreaterThanOrEqual(seen.percents[i - 1] as number);
    expect(seen.percents.at(-1)).toBe(100);
    // Lines appeared while the job was still running, and the page ends with every stored line.
    expect(seen.linesBeforeComplete).toBeGreaterThan(0);
    const stored = await api<{ segments: { seq: number; text: string }[] }>(
      'GET',
      `/meetings/${jobId}/transcript?limit=500`,
    );
    expect(stored.segments.length).toBeGreaterThan(0);
    await until('every stored line on the page', async () => {
      const shown = await page.locator('.job-page .lines > li.line').count();
      return shown === stored.segments.length;
    });
    const shownText = await page.locator('.job-page .lines > li.line .text').allTextContents();
    expect(shownText).toEqual(stored.segments.map((s) => s.text));
    expect(await page.getByTestId('polling-notice').count()).toBe(0);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'job-complete.png'), fullPage: true });

    // Export works for a job like for a meeting.
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Text (.txt)' }).click();
    const saved = await (await download).path();
    expect(require('node:fs').readFileSync(saved, 'utf8')).toContain(stored.segments[0]?.text);

    // The jobs list shows it, complete, and links to its page.
    await page.getByRole('link', { name: 'Transcriptions' }).first().click();
    const item = page.locator(`[data-job-id="${jobId}"]`);
    await waitForText(item, 'Complete');
    await item.getByRole('link', { name: 'Web jobs test: the Dashwoods' }).click();
    await page.waitForURL(new RegExp(`/jobs/${jobId}$`));
    await waitForText(page.getByTestId('job-percent'), '100%');
    await until(
      'the lines again',
      async () => (await page.locator('.job-page .lines > li.line').count()) > 0,
    );

    // Another user neither lists it nor opens it.
    const bob = await signIn(await context(), `${stack.urls.web}/jobs/${jobId}`, 'bob');
    await waitForText(bob.getByRole('alert'), /not found/i);
    await bob.getByRole('link', { name: 'Transcriptions' }).first().click();
    await waitForText(bob.locator('.jobs-page'), 'No transcriptions yet');
  });

  it('uploads a large file in parts, retrying a failed part alone, and cancels the job, which stops it', async () => {
    // Above the multipart threshold: the sample looped to ≈ 68 MiB of 16 kHz mono wav (≈ 37 min).
    const file = path.join(MEDIA_DIR, 'long.wav');
    const copies = Math.ceil(JOB_LIMITS.multipartThresholdBytes / (16_000 * 2 * 29.5)) + 2;
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-stream_loop',
      String(copies - 1),
      '-i',
      SAMPLE_FIXTURE.wavPath,
      '-c:a',
      'pcm_s16le',
      '-ar',
      '16000',
      '-ac',
      '1',
      file,
    ]);
    expect(statSync(file).size).toBeGreaterThan(JOB_LIMITS.multipartThresholdBytes);

    const ctx = await context();
    const page = await signIn(ctx, stack.urls.web, 'alice');
    // The first try of part 2 fails on the wire; every other request goes through.
    const tries = new Map<number, number>();
    await ctx.route(
      (url) => url.searchParams.has('partNumber') && url.searchParams.has('uploadId'),
      async (route) => {
        const part = Number(new URL(route.request().url()).searchParams.get('partNumber'));
        const n = (tries.get(part) ?? 0) + 1;
        tries.set(part, n);
        if (part === 2 && n === 1) await route.abort('connectionreset');
        else await route.continue();
      },
    );
    const jobId = await upload(page, file);
    await waitForText(page.getByTestId('upload-status'), /part \d+ of [5-9]/, 120_000);
    await waitForText(page.getByTestId('upload-status'), /^Uploaded/, 240_000);
    await waitForText(page.getByTestId('upload-status'), '1 part sent again');
    const parts = Math.ceil(statSync(file).size / JOB_LIMITS.partSizeBytes);
    expect([...tries.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: parts }, (_, i) => i + 1));
    for (const [part, n] of tries) expect(n).toBe(part === 2 ? 2 : 1);

    // Once it is being transcribed, cancel it (with confirmation).
    await waitForText(page.getByTestId('job-stage'), /Decoding|Transcribing/, 120_000);
    await page.getByRole('button', { name: 'Cancel transcription' }).click();
    await page.getByRole('button', { name: 'Yes, cancel it' }).click();
    await waitForText(page.getByTestId('job-stage'), 'Cancelled', 30_000);
    expect(await page.getByRole('button', { name: 'Cancel transcription' }).count()).toBe(0);
    const cancelled = await api<{ stage: string; percent: number }>('GET', `/jobs/${jobId}`);
    expect(cancelled.stage).toBe('cancelled');
    expect(cancelled.percent).toBeLessThan(100);
    // The worker lets go of the job, well before the end of the audio, and it stays cancelled.
    await until('the worker to let go', () => stack.fileWorker.worker.activeJobs === 0, 60_000);
    const after = await api<{ stage: string; audioSecondsProcessed: number; durationSeconds: number | null }>(
      'GET',
      `/jobs/${jobId}`,
    );
    expect(after.stage).toBe('cancelled');
    expect(after.audioSecondsProcessed).toBeLessThan(copies * 29.5 * 0.9);
    await waitForText(page.locator('.job-page h1 .badge'), 'Cancelled');
  });

  it('falls back to polling when the WebSocket is unavailable, says so, and still reaches complete with every line', async () => {
    const ctx = await context();
    // Every realtime socket is refused at once (closed as it opens): only REST works.
    const wsOrigin = new URL(stack.urls.ws).host;
    await ctx.routeWebSocket(
      (url) => url.host === wsOrigin,
      (ws) => ws.close({ code: 1011, reason: 'blocked by the test' }),
    );
    const page = await signIn(ctx, stack.urls.web, 'alice');
    const jobId = await upload(page, sampleAs('ogg'));
    await waitForText(page.getByTestId('polling-notice'), 'Live updates are unavailable', 30_000);
    await waitForText(page.getByTestId('job-stage'), 'Complete', 240_000);
    await waitForText(page.getByTestId('job-percent'), '100%');
    const seen = await trace(page);
    expect(seen.pollingNoticeSeen).toBe(true);
    expect(seen.stages.at(-1)).toBe('Complete');
    for (let i = 1; i < seen.percents.length; i++)
      expect(seen.percents[i]).toBeGreaterThanOrEqual(seen.percents[i - 1] as number);
    const stored = await api<{ segments: { text: string }[] }>(
      'GET',
      `/meetings/${jobId}/transcript?limit=500`,
    );
    expect(stored.segments.length).toBeGreaterThan(0);
    await until('every stored line on the page', async () => {
      const shown = await page.locator('.job-page .lines > li.line .text').allTextContents();
      return JSON.stringify(shown) === JSON.stringify(stored.segments.map((s) => s.text));
    });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'job-polling.png') });
  });
});
