/** What the browser tests run against: the web build, the whole local stack and one Chromium. */
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';
import { ensureWebBuild } from '../../local/web-build';
import { type Browser, launchChromium } from './browser';
import { TEST_LIVE_DECODER_ARGS } from './live';

export interface WebRig {
  stack: LocalStack;
  browser: Browser;
}

/**
 * Builds the web console if needed, starts the local stack (live streams decoded with
 * TEST_LIVE_DECODER_ARGS unless `stackOptions` says otherwise), then Chromium (with `chromiumArgs`).
 */
export async function startWebRig(
  stackOptions: LocalStackOptions,
  chromiumArgs: readonly string[] = [],
): Promise<WebRig> {
  await ensureWebBuild();
  const stack = await startLocalStack({ speechLiveDecoderArgs: TEST_LIVE_DECODER_ARGS, ...stackOptions });
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
