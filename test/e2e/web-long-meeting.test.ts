/**
 * A long meeting in the web console (Chromium, headless, the real local stack): 1,000 finals
 * fed into the open meeting's store through the test hook (`sessionStorage.parleyTestHooks`).
 * The transcript is windowed by block (web/src/components/Transcript.tsx), so this checks what
 * windowing must not break: every line reachable by scrolling, an alert or citation of a line
 * far out of view scrolls to it and focuses it, "Jump to live", keyword highlighting, alert
 * counts and the ARIA live region. (Its speed is measured by `npm run bench:web`, not here.)
 */
import { MeetingRepository } from '../../core/meetings/repository';
import type { LocalStack } from '../../local/stack';
import { type Browser, enableTestHooks, newContext, signIn, until, waitForText } from '../helpers/browser';
import { endedMeeting } from '../helpers/meetings';
import { startWebRig, stopWebRig } from '../helpers/web-rig';

jest.setTimeout(300_000);

const FINALS = 1_000;
const BASE = 500_000;

describe('a 1,000-line meeting in the web console', () => {
  let stack: LocalStack;
  let browser: Browser;

  beforeAll(async () => {
    ({ stack, browser } = await startWebRig({ speed: 1 }));
  }, 240_000);
  afterAll(() => stopWebRig({ stack, browser }));

  it('renders only the lines near the view, yet reaches every line by scrolling, alerts and jump to live', async () => {
    // Prepare: an ended meeting of alice's with a keyword, opened with the test hook on.
    const meeting = endedMeeting('long-meeting-1', new Date(), {
      ownerId: 'alice',
      title: 'A long meeting',
      meetingUrl: 'https://meet.example.com/long',
      keywords: ['amiable'],
    });
    await new MeetingRepository().create(meeting);
    const context = await enableTestHooks(await newContext(browser));
    const page = await signIn(context, `${stack.urls.web}/meetings/${meeting.meetingId}`, 'alice');
    await page.getByRole('heading', { name: meeting.title }).waitFor();
    await page.waitForFunction(() => {
      const hooks = (window as unknown as { parleyTestHooks?: { stores: Map<string, unknown> } })
        .parleyTestHooks;
      return hooks !== undefined && hooks.stores.size > 0;
    });
    // The keywords come from the REST API: the store highlights with them once they are set.
    await page.locator('.keyword-counts').getByText('amiable').waitFor();

    // Act: 1,000 finals, 20 a frame; every 10th names the keyword.
    await page.evaluate('globalThis.__name = globalThis.__name || ((f) => f)');
    await page.evaluate(
      async ({ finals, base }) => {
        const hooks = (
          window as unknown as { parleyTestHooks: { stores: Map<string, { addFinal(s: object): void }> } }
        ).parleyTestHooks;
        const store = [...hooks.stores.values()][0] as { addFinal(s: object): void };
        for (let i = 0; i < finals; i++) {
          store.addFinal({
            seq: base + i,
            speaker: i % 2 ? 'Bob' : 'Alice',
            text: i % 10 === 0 ? `line ${i}, an amiable one` : `line ${i} of the long meeting`,
            startMs: i * 3000,
          });
          if (i % 20 === 19) await new Promise((r) => requestAnimationFrame(r));
        }
      },
      { finals: FINALS, base: BASE },
    );
    await waitForText(page.locator('#transcript-heading .count'), `(${FINALS} lines)`);

    // Assess: the newest lines are rendered, the oldest not; far fewer than all of them.
    const lines = page.locator('.lines > li.line');
    const last = page.locator(`#line-${BASE + FINALS - 1}`);
    const first = page.locator(`#line-${BASE}`);
    await last.waitFor();
    await until('the oldest block windowed out', async () => (await first.count()) === 0);
    const rendered = await lines.count();
    expect(rendered).toBeGreaterThan(0);
    expect(rendered).toBeLessThan(FINALS / 2);
    expect(await page.locator('.lines > li.block-spacer').count()).toBeGreaterThan(0);
    // Keyword highlight, alert counts and the live region still cover every line.
    expect(await last.locator('mark').count()).toBe(0);
    expect(await page.locator(`#line-${BASE + FINALS - 10} mark`).textContent()).toBe('amiable');
    await waitForText(page.locator('.keyword-counts li', { hasText: 'amiable' }).locator('.count'), '100');
    await waitForText(page.getByTestId('live-region'), `Bob: line ${FINALS - 1} of the long meeting`);

    // Scrolling to the top reaches the first line; the live edge offers "Jump to live".
    const scroller = page.locator('section.transcript');
    for (let tries = 0; tries < 200 && (await scroller.evaluate((el) => el.scrollTop)) > 0; tries++) {
      await scroller.evaluate((el) => {
        el.scrollTop = Math.max(0, el.scrollTop - el.clientHeight * 3);
      });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    }
    await first.waitFor();
    expect(await first.locator('.text').textContent()).toBe('line 0, an amiable one');
    await until('the first line at the top of the view', async () =>
      first.evaluate((el) => {
        const box = el.getBoundingClientRect();
        const view = (el.closest('section.transcript') as HTMLElement).getBoundingClientRect();
        return box.top >= view.top && box.bottom <= view.bottom;
      }),
    );
    const jump = page.getByRole('button', { name: 'Jump to live' });
    await jump.waitFor();
    await jump.click();
    await until('the live edge in view', async () =>
      last.evaluate((el) => {
        const box = el.getBoundingClientRect();
        const view = (el.closest('section.transcript') as HTMLElement).getBoundingClientRect();
        return box.bottom <= view.bottom + 1 && box.top >= view.top - 1;
      }),
    );
    await until('the oldest block windowed out again', async () => (await first.count()) === 0);

    // An alert of the first line (out of view, not rendered) scrolls to it and focuses it.
    await page.getByRole('button', { name: `“amiable” in line ${BASE}`, exact: true }).click();
    await until('the first line focused', () =>
      page.evaluate((id) => document.activeElement?.id === id, `line-${BASE}`),
    );
    await until('the first line in view', async () =>
      first.evaluate((el) => {
        const box = el.getBoundingClientRect();
        const view = (el.closest('section.transcript') as HTMLElement).getBoundingClientRect();
        return box.top >= view.top - 1 && box.bottom <= view.bottom + 1;
      }),
    );
    await context.close();
  });
});
