/**
 * The web console in a real browser (Chromium, headless) against the real local stack: sign-in
 * through the dev issuer, a meeting from the new-meeting form to its end, sharing, a dropped
 * WebSocket, owner controls, briefing, questions and export. The tests share one stack and run
 * in order (the second meeting's controls run while the first one's readers are checked); each
 * test opens its own browser contexts. Screenshots for docs/images are taken along the way.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MeetingRepository } from '../../core/meetings/repository';
import type { LocalStack } from '../../local/stack';
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
import { startWebRig, stopWebRig } from '../helpers/web-rig';

jest.setTimeout(300_000);

/** Words of the sample recording; any of them recognised raises an alert. */
const KEYWORDS = 'amiable, ill disposed, young man, dashwood, respectable';
/** oidc-client-ts renews 60 s before expiry, so a 70 s token is renewed about every 10 s. */
const TOKEN_LIFETIME_SECONDS = 70;
/** Where oidc-client-ts keeps the signed-in user (sessionStorage). */
const userKey = (stack: LocalStack) => `oidc.user:${stack.urls.issuer}:parley-web`;

describe('the web console in Chromium on the local stack', () => {
  let stack: LocalStack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** The meeting created from the form in the second test; later tests read it. */
  let meetingId = '';
  /** The meeting the controls test stops; the delete test deletes it. */
  let stoppedId = '';

  beforeAll(async () => {
    ({ stack, browser } = await startWebRig({
      speed: 1,
      reconnectGraceMs: 1_500,
      recallReconnect: { intervalMs: 200 },
      // Short-lived access tokens: the app renews them (refresh token) throughout these tests.
      webTokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS,
    }));
  }, 240_000);
  afterAll(() => stopWebRig({ stack, browser }));
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  async function context(options?: { width?: number; height?: number }): Promise<BrowserContext> {
    const created = await newContext(browser, options);
    contexts.push(created);
    return created;
  }

  const finals = (page: Page) => page.locator('.lines > li.line:not(.interim)');
  const seqsOn = (page: Page) =>
    finals(page).evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset.seq)));
  const statusBadge = (page: Page) => page.locator('.meeting-head .badge');

  async function createMeeting(page: Page, title: string, keywords: string): Promise<string> {
    await page.getByRole('link', { name: 'New meeting' }).first().click();
    await page.getByLabel('Recording to play (local mode)').selectOption({ label: 'Sample meeting' });
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Keywords').fill(keywords);
    await page.getByRole('button', { name: 'Start meeting' }).click();
    await page.waitForURL(/\/meetings\/[A-Za-z0-9_-]+$/);
    await page.getByRole('heading', { name: title }).waitFor();
    return new URL(page.url()).pathname.split('/').pop() as string;
  }

  async function storedSeqs(id: string): Promise<number[]> {
    const token = await stack.issuer.mintToken('alice');
    const res = await fetch(`${stack.urls.rest}/meetings/${id}/transcript?limit=500`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as { segments: { seq: number }[] };
    return body.segments.map((s) => s.seq);
  }

  it('signs a user in through the dev issuer login page and shows their meetings', async () => {
    const page = await signIn(await context(), stack.urls.web, 'alice');
    await page.getByRole('heading', { name: 'Your meetings' }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'meetings.png') });
  });

  it('renews the access token silently with the refresh token, staying on the page', async () => {
    const page = await signIn(await context(), `${stack.urls.web}/new`, 'alice');
    const key = userKey(stack);
    const tokenNow = () =>
      page.evaluate(
        (k) => (JSON.parse(sessionStorage.getItem(k) ?? '{}') as { access_token?: string }).access_token,
        key,
      );
    const first = await tokenNow();
    expect(first).toBeTruthy();
    await until('a renewed access token', async () => (await tokenNow()) !== first, 90_000);
    expect(new URL(page.url()).pathname).toBe('/new');
    await page.getByRole('heading', { name: 'New meeting' }).waitFor();
  });

  it('sends an expired session back to sign in and then to the page it was on', async () => {
    const ctx = await context();
    const page = await signIn(ctx, `${stack.urls.web}/new`, 'alice');
    // The access token expired and the refresh token is gone (revoked, or the issuer restarted).
    await page.evaluate((k) => {
      const user = JSON.parse(sessionStorage.getItem(k) ?? '{}') as Record<string, unknown>;
      user.expires_at = 1;
      delete user.refresh_token;
      sessionStorage.setItem(k, JSON.stringify(user));
    }, userKey(stack));
    // No refresh token, nothing to renew with: straight to sign in, no hidden-iframe attempt
    // (oidc-client-ts's prompt=none fallback), which nothing answers and which would hold the
    // page for its 10 s timeout.
    const framesAttached: string[] = [];
    page.on('frameattached', (frame) => framesAttached.push(frame.url() || 'a blank iframe'));
    await page.goto(`${stack.urls.web}/meetings?from=expired`);
    await page.getByRole('heading', { name: 'Sign in to Parley (local)' }).waitFor();
    expect(framesAttached).toEqual([]);
    await page.getByRole('button', { name: 'Sign in as alice' }).click();
    await page.getByRole('heading', { name: 'Your meetings' }).waitFor();
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/meetings?from=expired');
  });

  it('refuses a meeting form with a bad link inline, next to the field', async () => {
    const page = await signIn(await context(), `${stack.urls.web}/new`, 'alice');
    await page.getByLabel('Meeting link').fill('ftp://example.com/meeting');
    await page.getByRole('button', { name: 'Start meeting' }).click();
    await waitForText(page.locator('#meetingUrl-error'), 'meetingUrl');
    expect(await page.getByLabel('Meeting link').getAttribute('aria-invalid')).toBe('true');
    expect(page.url()).toMatch(/\/new$/);
  });

  it('creates a meeting with keywords and shows live lines, speakers and a keyword alert', async () => {
    const page = await signIn(await context(), stack.urls.web, 'alice');
    meetingId = await createMeeting(page, 'Web test: the Dashwoods', KEYWORDS);
    await waitForText(page.getByTestId('connection'), 'Connected');
    await waitForText(statusBadge(page), 'Live', 90_000);
    await finals(page).first().waitFor({ timeout: 180_000 });
    await page.locator('.lines mark').first().waitFor({ timeout: 120_000 });
    await until('an alert counted', async () => (await page.locator('.alert-list li').count()) > 0);
    // The live region announces the newest final for screen readers.
    await until(
      'the live region to speak',
      async () => (await page.getByTestId('live-region').innerText()) !== '',
    );
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'meeting-live.png') });
  });

  it('shows a second user nothing until the meeting is shared, then shows it read-only', async () => {
    const bob = await signIn(await context(), `${stack.urls.web}/meetings/${meetingId}`, 'bob');
    await waitForText(bob.getByRole('alert'), 'not shared with you');

    const alice = await signIn(await context(), `${stack.urls.web}/meetings/${meetingId}`, 'alice');
    await alice.getByLabel('User id').fill('bob');
    await alice.getByRole('button', { name: 'Share', exact: true }).click();
    await alice.getByRole('button', { name: 'Stop sharing with bob' }).waitFor();

    await bob.reload();
    await waitForText(bob.locator('.meeting-head'), 'shared with you (read only)');
    await finals(bob).first().waitFor({ timeout: 180_000 });
    expect(await bob.getByRole('heading', { name: 'Controls' }).count()).toBe(0);
    expect(await bob.getByRole('button', { name: 'Pause' }).count()).toBe(0);
    expect(await bob.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    expect(await bob.getByRole('heading', { name: 'Sharing' }).count()).toBe(0);
    // The meetings list remembers what was shared with bob.
    await bob.getByRole('link', { name: 'Meetings', exact: true }).click();
    await bob.getByRole('link', { name: 'Web test: the Dashwoods' }).waitFor();
  });

  it('shows "reconnecting" when the WebSocket drops and resumes without a duplicate or missing line', async () => {
    const page = await signIn(await context(), `${stack.urls.web}/meetings/${meetingId}`, 'alice');
    await waitForText(page.getByTestId('connection'), 'Connected');
    await finals(page).first().waitFor({ timeout: 180_000 });

    await stack.restartWsGateway();
    await waitForText(page.getByTestId('connection'), /Reconnecting|Connecting/, 30_000);
    await waitForText(page.getByTestId('connection'), 'Connected', 60_000);

    await waitForText(statusBadge(page), 'Ended', 180_000);
    const stored = await storedSeqs(meetingId);
    await until('every stored line on the page', async () => (await seqsOn(page)).length >= stored.length);
    expect(await seqsOn(page)).toEqual(stored);
  });

  it('pauses (no new finals), resumes and stops a meeting with confirmation', async () => {
    const page = await signIn(await context(), stack.urls.web, 'alice');
    const id = await createMeeting(page, 'Web test: controls', 'amiable');
    await waitForText(statusBadge(page), 'Live', 90_000);
    // A running meeting cannot be deleted (409 MEETING_NOT_OVER): the page does not offer it.
    expect(await page.getByRole('button', { name: 'Delete meeting' }).count()).toBe(0);
    const botId = (await new MeetingRepository().get(id))?.botId as string;

    // Pause early: the recording is 30 s long and the speech engine may lag on a busy machine.
    await page.getByRole('button', { name: 'Pause' }).click();
    await waitForText(statusBadge(page), 'Paused');
    const pausedAtMs = stack.recall.bot(botId)?.positionMs ?? 0;
    await until(
      'meeting time to pass while paused',
      () => (stack.recall.bot(botId)?.positionMs ?? 0) > pausedAtMs + 6_000,
    );
    const resumedAtMs = stack.recall.bot(botId)?.positionMs ?? 0;
    await page.getByRole('button', { name: 'Resume' }).click();
    await waitForText(statusBadge(page), 'Live');

    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await waitForText(page.getByRole('dialog', { name: 'Stop this meeting?' }), 'The bot leaves the call.');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'stop-confirm.png') });
    await page.getByRole('button', { name: 'Stop meeting' }).click();
    await waitForText(statusBadge(page), 'Ended', 90_000);

    // Nothing said while paused became a final (one that began before may end inside it).
    const starts = await finals(page).evaluateAll((els) =>
      els.map((el) => Number((el as HTMLElement).dataset.startMs)),
    );
    for (const start of starts) expect(start > pausedAtMs + 1_000 && start < resumedAtMs).toBe(false);
    expect(await page.getByRole('button', { name: 'Pause' }).count()).toBe(0);
    stoppedId = id;
  });

  it('deletes an ended meeting only once the owner confirms, and it leaves the meetings list', async () => {
    // Prepare: the meeting the controls test stopped, shared with bob, open in alice's browser.
    expect(stoppedId).not.toBe('');
    const title = 'Web test: controls';
    const token = await stack.issuer.mintToken('alice');
    const shared = await fetch(`${stack.urls.rest}/meetings/${stoppedId}/shares`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'bob' }),
    });
    expect(shared.ok).toBe(true);
    const bobPage = await signIn(await context(), `${stack.urls.web}/meetings/${stoppedId}`, 'bob');
    await waitForText(statusBadge(bobPage), 'Ended');
    const page = await signIn(await context(), `${stack.urls.web}/meetings/${stoppedId}`, 'alice');
    await waitForText(statusBadge(page), 'Ended');

    // A reader is never offered deletion.
    expect(await bobPage.getByRole('button', { name: 'Delete meeting' }).count()).toBe(0);

    // Act 1: open the dialog and keep the meeting.
    await page.getByRole('button', { name: 'Delete meeting' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this meeting?' });
    await waitForText(dialog, 'This cannot be undone.');
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    await until('the dialog closed', async () => !(await dialog.isVisible()));

    // Assess 1: nothing was deleted.
    expect(await new MeetingRepository().get(stoppedId)).toBeDefined();

    // Act 2: confirm.
    await page.getByRole('button', { name: 'Delete meeting' }).click();
    await dialog.getByRole('button', { name: 'Delete meeting' }).click();

    // Assess 2: back on the meetings list, which no longer has it; the API says it is gone.
    await page.waitForURL(`${stack.urls.web}/`);
    await page.getByRole('heading', { name: 'Your meetings' }).waitFor();
    await until('the list loaded', async () => (await page.locator('.meeting-list a').count()) > 0);
    expect(await page.locator('.meeting-list a', { hasText: title }).count()).toBe(0);
    expect(await new MeetingRepository().get(stoppedId)).toBeUndefined();
    const gone = await fetch(`${stack.urls.rest}/meetings/${stoppedId}`, {
      headers: { authorization: `Bearer ${await stack.issuer.mintToken('alice')}` },
    });
    expect(gone.status).toBe(404);
  });

  it('shows a briefing, answers a question with citations that scroll to the line, and exports', async () => {
    const page = await signIn(
      await context({ width: 360, height: 740 }),
      `${stack.urls.web}/meetings/${meetingId}`,
      'alice',
    );
    await finals(page).first().waitFor({ timeout: 60_000 });

    await page.getByRole('button', { name: 'Get briefing' }).click();
    await until('a summary', async () => (await page.getByTestId('brief-summary').count()) > 0);
    await page.getByRole('button', { name: 'Regenerate briefing' }).waitFor();

    // Ask with the longest words the speech engine recognised (they vary on a busy machine).
    const texts = await finals(page).locator('.text').allTextContents();
    const words = [
      ...new Set(
        texts
          .join(' ')
          .toLowerCase()
          .match(/[a-z]{6,}/g) ?? [],
      ),
    ]
      .slice(0, 4)
      .join(' ');
    await page.getByLabel('Question').fill(`What was said about ${words}?`);
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    await page.locator('.ask .answer, .ask [role="alert"]').first().waitFor({ timeout: 60_000 });
    expect(await page.locator('.ask').innerText()).not.toMatch(/error|failed|cannot/i);
    const citation = page.locator('.citation').first();
    if (!(await citation.count()))
      throw new Error(`no citation in: ${await page.locator('.ask').innerText()}`);
    const seq = Number((await citation.innerText()).replace(/\D/g, ''));
    await citation.click();
    await until('the cited line to be focused and in view', async () =>
      page.evaluate((s) => {
        const el = document.getElementById(`line-${s}`);
        const box = el?.closest('.transcript')?.getBoundingClientRect();
        const r = el?.getBoundingClientRect();
        return (
          !!el && document.activeElement === el && !!box && !!r && r.top >= box.top && r.bottom <= box.bottom
        );
      }, seq),
    );
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'meeting-mobile-ask.png'), fullPage: true });

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Text (.txt)' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/\.txt$/);
    const text = await readFile((await file.path()) as string, 'utf8');
    expect(text).toContain('Web test: the Dashwoods');
    expect(text).toMatch(/\[\d\d:\d\d:\d\d\] \w+: /);
  });
});
