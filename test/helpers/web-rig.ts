/** What the browser tests run against: the web build, the whole local stack and one Chromium. */
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';
import { ensureWebBuild } from '../../local/web-build';
import { type Browser, launchChromium } from './browser';

export interface WebRig {
  stack: LocalStack;
  browser: Browser;
}

/** Builds the web console if needed, starts the local stack, then Chromium (with `chromiumArgs`). */
export async function startWebRig(
  stackOptions: LocalStackOptions,
  chromiumArgs: readonly string[] = [],
): Promise<WebRig> {
  await ensureWebBuild();
  const stack = await startLocalStack(stackOptions);
  try {
    return { stack, browser: await launchChromium(chromiumArgs) };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** Closes the browser, then stops the stack (either may be missing if the start failed). */
export async function stopWebRig(rig: Partial<WebRig>): Promise<void> {
  await rig.browser?.close();
  await rig.stack?.stop();
}
