/**
 * Browser tests: Debian's Chromium driven by playwright-core, headless, one fresh profile per
 * browser and a fresh context per test. Waits are on conditions in the page (Playwright's
 * auto-waiting locators), never fixed sleeps.
 */
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve(__dirname, '..', '..', 'docs', 'images');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A new browser with a new temporary profile (Playwright makes and removes it). */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

/**
 * Chromium flags for a microphone that plays `wavPath` (16-bit PCM WAV, looped) and is granted
 * without a prompt.
 */
export function fakeMicrophoneArgs(wavPath: string): string[] {
  return [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${wavPath}`,
  ];
}

export async function newContext(browser: Browser, options: { width?: number; height?: number } = {}) {
  return browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    acceptDownloads: true,
  });
}

/** Turns on the web app's test hooks (`sessionStorage.parleyTestHooks`) in every page of `context`. */
export async function enableTestHooks(context: BrowserContext): Promise<BrowserContext> {
  await context.addInitScript(() => sessionStorage.setItem('parleyTestHooks', '1'));
  return context;
}

/** The page's errors (and warnings, if asked) go to the test log: what failed inside the browser. */
export function logPage(page: Page, { warnings = false } = {}): void {
  page.on('console', (m) => {
    if (m.type() === 'error' || (warnings && m.type() === 'warning')) {
      console.log(`[page ${m.type()}] ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
}

/** Waits until the locator shows `text` (substring or pattern). */
export async function waitForText(locator: Locator, text: string | RegExp, timeout = 60_000): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible', timeout });
}

/** Waits until `check` (run in the test, polling) is true. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Opens `url`, signs in at the dev issuer's login page as `user`, and waits to be back. */
export async function signIn(context: BrowserContext, url: string, user: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.getByRole('heading', { name: 'Sign in to Parley (local)' }).waitFor({ timeout: 30_000 });
  const pick = page.getByRole('button', { name: `Sign in as ${user}` });
  if (await pick.count()) {
    await pick.click();
  } else {
    await page.getByLabel('Or type a user name').fill(user);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }
  await waitForText(page.getByTestId('user-id'), user, 30_000);
  return page;
}

export type { Browser, BrowserContext, Page };
