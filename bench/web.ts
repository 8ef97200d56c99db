/**
 * `npm run bench:web`: the web console's first-load JavaScript, time from page load to the first
 * transcript line on the local stack, and rendering a long meeting, in headless Chromium.
 *
 * 1. First-load JS: every script index.html loads (entry + modulepreloads), gzip -9, against the
 *    goal of 150 KB. Baseline in the same run: Preact's own runtime, gzipped the same way.
 * 2. Page load → first transcript line: a signed-in user opens a meeting that already has finals;
 *    `performance.now()` (from navigation start) when the first line is in the DOM, median of
 *    --runs. Baseline: the reference client in Node, connect + subscribe → first final.
 * 3. Rendering: --finals finals (default 3,000) fed into the open meeting's store through the
 *    test hook at --rate per second (default 10; pass a higher rate to finish faster: that is
 *    harder, not easier), with Chromium's trace recording; every renderer main-thread task during
 *    the feed is listed. A frame cannot be shorter than the task that runs in it, so "every task
 *    under 16 ms" means every frame's work fits in 16 ms. Baseline: the first 300 lines against
 *    the last 300 (the cost of a line must not grow with the meeting).
 *    Frames as the page sees them during the same feed: requestAnimationFrame gaps (dropped
 *    frames), Long Tasks (≥ 50 ms) and long animation frames; baseline: the same page idle for
 *    --idle-seconds (default 20) just before, on the same loaded machine.
 * The file-transcription pages are a chunk loaded on first use: listed, not in the first load.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import WebSocket from 'ws';
import { createLogger } from '../core/logger';
import { ParleyClient } from '../core/realtime/client';
import { startSampleMeeting } from '../local/sample-meeting';
import { startLocalStack } from '../local/stack';
import { ensureWebBuild } from '../local/web-build';
import { WEB_DIST_DIR } from '../local/web-server';
import { launchChromium, newContext, signIn } from '../test/helpers/browser';
import { flagArg, machineFacts, markdownTable, numArg } from './lib-bench';

const RUNS = numArg('runs', 5);
const FINALS = numArg('finals', 3000);
const RATE = numArg('rate', 10);
const FRAME_BUDGET_MS = 16;
const IDLE_MS = numArg('idle-seconds', 20) * 1000;
/** `--deep`: also record the `blink` trace category (finer events, more tracing overhead). */
const DEEP = flagArg('deep');
/** `--trace-out FILE`: keep the feed's Chromium trace (open it in DevTools → Performance). */
const TRACE_OUT = process.argv.find((_a, i) => process.argv[i - 1] === '--trace-out');

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string };
}

/**
 * Where the renderer's main thread spent its time between `fromTs` and `toTs` (trace µs): the
 * self time of every complete event (its duration minus its children's), summed by name, in ms.
 */
function selfTimeByName(events: readonly TraceEvent[], fromTs: number, toTs: number): Map<string, number> {
  const inWindow = events
    .filter((e) => e.ph === 'X' && e.ts >= fromTs && e.ts <= toTs)
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const self = new Map<string, number>();
  const stack: { end: number; name: string }[] = [];
  for (const e of inWindow) {
    const dur = e.dur ?? 0;
    while (stack.length > 0 && (stack.at(-1) as { end: number }).end <= e.ts) stack.pop();
    const parent = stack.at(-1);
    if (parent && e.ts + dur <= parent.end) self.set(parent.name, (self.get(parent.name) ?? 0) - dur / 1000);
    self.set(e.name, (self.get(e.name) ?? 0) + dur / 1000);
    stack.push({ end: e.ts + dur, name: e.name });
  }
  return self;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface JsFile {
  name: string;
  gzip: number;
  raw: number;
}

function firstLoadJs(): { files: JsFile[]; preact: number; lazy: JsFile[] } {
  const html = readFileSync(path.join(WEB_DIST_DIR, 'index.html'), 'utf8');
  const srcs = [
    ...html.matchAll(/<(?:script[^>]+src|link[^>]+rel="modulepreload"[^>]+href)="([^"]+\.js)"/g),
  ].map((m) => m[1] as string);
  const files = srcs.map((src) => {
    const body = readFileSync(path.join(WEB_DIST_DIR, src));
    return { name: src, raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
  });
  const preactDir = path.join(__dirname, '..', 'node_modules', 'preact', 'dist');
  const preact = ['preact.mjs', path.join('..', 'hooks', 'dist', 'hooks.mjs')]
    .map((f) => gzipSync(readFileSync(path.join(preactDir, f)), { level: 9 }).length)
    .reduce((a, b) => a + b, 0);
  // Chunks index.html does not load: pages loaded on first use (the file-transcription pages).
  const firstLoad = new Set(srcs.map((src) => path.basename(src)));
  const lazy = readdirSync(path.join(WEB_DIST_DIR, 'assets'))
    .filter((name) => name.endsWith('.js') && !firstLoad.has(name))
    .map((name) => {
      const body = readFileSync(path.join(WEB_DIST_DIR, 'assets', name));
      return { name: `/assets/${name}`, raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
    });
  return { files, preact, lazy };
}

async function main(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  const out: string[] = [];
  const flush = () => {
    process.stdout.write(`${out.join('\n')}\n`);
    out.length = 0;
  };
  out.push('Machine:', machineFacts(), '');
  if (await ensureWebBuild()) out.push('(built web/dist first)', '');

  // ---- 1. first-load JavaScript ----
  const js = firstLoadJs();
  const total = js.files.reduce((s, f) => s + f.gzip, 0);
  out.push('### First-load JavaScript (gzip -9)', '');
  out.push(
    markdownTable(
      ['file', 'raw (KB)', 'gzip (KB)'],
      [
        ...js.files.map((f) => [f.name, (f.raw / 1024).toFixed(1), (f.gzip / 1024).toFixed(1)]),
        ['(baseline: preact + preact/hooks alone)', '—', (js.preact / 1024).toFixed(1)],
        ['**total first load**', '', `**${(total / 1024).toFixed(1)}** (goal ≤ 150)`],
        ...js.lazy.map((f) => [
          `${f.name} (loaded on first use, not in the first load)`,
          (f.raw / 1024).toFixed(1),
          (f.gzip / 1024).toFixed(1),
        ]),
      ],
    ),
    '',
  );
  flush();

  const stack = await startLocalStack({ speed: 1 });
  const browser = await launchChromium();
  try {
    const logger = createLogger('bench');
    const meeting = await startSampleMeeting(stack, logger);
    const meetingUrl = `${stack.urls.web}/meetings/${meeting.meetingId}`;

    // Wait for the meeting to have a stored final, so both clients measure the load path only.
    const probe = new ParleyClient({
      url: stack.urls.ws,
      token: () => stack.issuer.mintToken('alice'),
      WebSocketImpl: WebSocket as never,
    });
    await new Promise<void>((resolve) => {
      probe.on('final', () => resolve());
      probe.subscribe(meeting.meetingId);
      probe.connect();
    });
    probe.close();

    // ---- 2a. baseline: the reference client in Node ----
    const nodeTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const client = new ParleyClient({
        url: stack.urls.ws,
        token: () => stack.issuer.mintToken('alice'),
        WebSocketImpl: WebSocket as never,
      });
      await new Promise<void>((resolve) => {
        client.on('final', () => resolve());
        client.subscribe(meeting.meetingId);
        client.connect();
      });
      nodeTimes.push(performance.now() - started);
      client.close();
    }

    // ---- 2b. the web console ----
    const context = await newContext(browser);
    await context.addInitScript(() => {
      const w = window as unknown as { __firstLine?: number };
      new MutationObserver((_, observer) => {
        if (document.querySelector('.lines li.line')) {
          w.__firstLine = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    // The same tab: oidc-client-ts keeps the session in sessionStorage, which is per tab.
    const page = await signIn(context, stack.urls.web, 'alice');
    const webTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await page.goto(meetingUrl);
      await page.waitForFunction(
        () => (window as unknown as { __firstLine?: number }).__firstLine !== undefined,
      );
      webTimes.push(await page.evaluate(() => (window as unknown as { __firstLine: number }).__firstLine));
    }
    out.push(`### Page load → first transcript line (median of ${RUNS})`, '');
    out.push(
      markdownTable(
        ['client', 'median (ms)', 'all runs (ms)'],
        [
          [
            '(baseline: reference client in Node, connect → first final)',
            median(nodeTimes).toFixed(0),
            nodeTimes.map((t) => t.toFixed(0)).join(', '),
          ],
          [
            'web console (navigation start → first line in the DOM)',
            median(webTimes).toFixed(0),
            webTimes.map((t) => t.toFixed(0)).join(', '),
          ],
        ],
      ),
      '',
      'Goal: ≤ 1,000 ms.',
      '',
    );
    flush();

    // ---- 3. rendering a long meeting ----
    await context.addInitScript(() => sessionStorage.setItem('parleyTestHooks', '1'));
    await page.goto(meetingUrl);
    await page.waitForFunction(() => {
      const hooks = (window as unknown as { parleyTestHooks?: { stores: Map<string, unknown> } })
        .parleyTestHooks;
      return hooks !== undefined && hooks.stores.size > 0;
    });
    // Frames as the page sees them: requestAnimationFrame timestamps (a gap of n frame
    // intervals drops n - 1 frames), long tasks (≥ 50 ms, the Long Tasks API) and long
    // animation frames (≥ 50 ms, LoAF). Baseline: the same page idle for IDLE_MS first.
    // tsx (esbuild, keepNames) wraps named functions in __name(), which the page lacks.
    await page.evaluate('globalThis.__name = globalThis.__name || ((f) => f)');
    await page.evaluate(() => {
      const w = window as unknown as { frameProbe: FrameProbe };
      interface FrameProbe {
        frames: number[];
        longTasks: number[];
        longFrames: number[];
        running: boolean;
      }
      const probe: FrameProbe = { frames: [], longTasks: [], longFrames: [], running: true };
      w.frameProbe = probe;
      const tick = (t: number) => {
        probe.frames.push(t);
        if (probe.running) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      for (const type of ['longtask', 'long-animation-frame']) {
        try {
          new PerformanceObserver((list) => {
            for (const entry of list.getEntries())
              (type === 'longtask' ? probe.longTasks : probe.longFrames).push(entry.duration);
          }).observe({ type, buffered: false });
        } catch {
          // Not supported by this Chromium: that column stays empty.
        }
      }
    });
    const takeFrames = () =>
      page.evaluate(() => {
        const probe = (
          window as unknown as { frameProbe: { frames: number[]; longTasks: number[]; longFrames: number[] } }
        ).frameProbe;
        const taken = { frames: probe.frames, longTasks: probe.longTasks, longFrames: probe.longFrames };
        probe.frames = [];
        probe.longTasks = [];
        probe.longFrames = [];
        return taken;
      });
    await takeFrames();
    await page.waitForTimeout(IDLE_MS);
    const idleFrames = await takeFrames();
    await browser.startTracing(page, {
      categories: [
        'devtools.timeline',
        'disabled-by-default-devtools.timeline',
        'toplevel',
        ...(DEEP ? ['blink'] : []),
      ],
    });
    const marks = await page.evaluate(
      async ({ finals, rate }) => {
        const hooks = (
          window as unknown as {
            parleyTestHooks: { stores: Map<string, { addFinal(s: object): void }> };
          }
        ).parleyTestHooks;
        const store = [...hooks.stores.values()][0] as { addFinal(s: object): void };
        const speakers = ['Alice', 'Bob', 'Carol', 'Dan'];
        const text =
          'we agreed to move the launch date and the budget review to next week, pending the amiable vendor';
        const base = 1_000_000;
        const interval = 1000 / rate;
        const start = performance.now();
        const at: number[] = [];
        for (let i = 0; i < finals; i++) {
          const due = start + i * interval;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          store.addFinal({
            seq: base + i,
            speaker: speakers[i % 4],
            text: `${text} (${i})`,
            startMs: i * 4000,
          });
          at.push(performance.now());
        }
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return { start: performance.timeOrigin + start, at: at.map((t) => performance.timeOrigin + t) };
      },
      { finals: FINALS, rate: RATE },
    );
    const traceBuffer = await browser.stopTracing();
    if (TRACE_OUT) writeFileSync(TRACE_OUT, traceBuffer);
    const trace = JSON.parse(traceBuffer.toString('utf8')) as { traceEvents: TraceEvent[] };
    const feedFrames = await takeFrames();
    const lineCount = await page.locator('.lines li.line').count();
    const heading = (await page.locator('#transcript-heading .count').textContent()) ?? '';
    const events = trace.traceEvents;
    const mainThreads = new Set(
      events
        .filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
        .map((e) => `${e.pid}:${e.tid}`),
    );
    const tasks = events.filter(
      (e) =>
        e.ph === 'X' &&
        (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') &&
        mainThreads.has(`${e.pid}:${e.tid}`),
    );
    // Trace timestamps are microseconds on the same monotonic clock the page's timeOrigin uses
    // only approximately; align on the feed's duration instead: take the tasks within the feed.
    const sortedTs = tasks.map((t) => t.ts).sort((a, b) => a - b);
    const feedMs = (marks.at.at(-1) as number) - marks.start;
    const lastTs = sortedTs.at(-1) ?? 0;
    const feedTasks = tasks.filter((t) => t.ts >= lastTs - feedMs * 1000 - 200_000);
    const durations = feedTasks.map((t) => (t.dur ?? 0) / 1000);
    const tasksBetween = (from: number, to: number) => {
      const fromTs = lastTs - feedMs * 1000 + ((marks.at[from] as number) - marks.start) * 1000;
      const toTs = lastTs - feedMs * 1000 + ((marks.at[to] as number) - marks.start) * 1000;
      return tasks.filter((t) => t.ts >= fromTs && t.ts <= toTs).map((t) => (t.dur ?? 0) / 1000);
    };
    const windowTs = (from: number, to: number): [number, number] => [
      lastTs - feedMs * 1000 + ((marks.at[from] as number) - marks.start) * 1000,
      lastTs - feedMs * 1000 + ((marks.at[to] as number) - marks.start) * 1000,
    ];
    const mainEvents = events.filter((e) => mainThreads.has(`${e.pid}:${e.tid}`));
    const firstSelf = selfTimeByName(mainEvents, ...windowTs(0, Math.min(299, FINALS - 1)));
    const lastSelf = selfTimeByName(mainEvents, ...windowTs(Math.max(0, FINALS - 300), FINALS - 1));
    const firstPart = tasksBetween(0, Math.min(299, FINALS - 1));
    const lastPart = tasksBetween(Math.max(0, FINALS - 300), FINALS - 1);
    const stats = (d: number[]) => {
      const sorted = [...d].sort((a, b) => a - b);
      return [
        d.length,
        (sorted[Math.floor(sorted.length * 0.5)] ?? 0).toFixed(2),
        (sorted[Math.floor(sorted.length * 0.99)] ?? 0).toFixed(2),
        (sorted.at(-1) ?? 0).toFixed(2),
        d.filter((x) => x >= FRAME_BUDGET_MS).length,
      ];
    };
    out.push(`### Rendering ${FINALS} finals at ${RATE}/s (renderer main-thread tasks from the trace)`, '');
    out.push(
      markdownTable(
        ['tasks during', 'tasks', 'p50 (ms)', 'p99 (ms)', 'max (ms)', `≥ ${FRAME_BUDGET_MS} ms`],
        [
          ['(baseline) the first 300 lines', ...stats(firstPart)],
          ['the last 300 lines', ...stats(lastPart)],
          [`the whole feed (${(feedMs / 1000).toFixed(0)} s)`, ...stats(durations)],
        ],
      ),
      '',
      `At the end the transcript says ${heading.trim()}; lines in the DOM: ${lineCount} (full blocks out of view are windowed).`,
      '',
    );
    // Where the time went: self time per trace event, per line fed, first 300 against last 300.
    const names = [...new Set([...firstSelf.keys(), ...lastSelf.keys()])]
      .map((name) => ({ name, first: firstSelf.get(name) ?? 0, last: lastSelf.get(name) ?? 0 }))
      .sort((a, b) => b.last + b.first - (a.last + a.first))
      .slice(0, 12);
    const perLine = (totalMs: number) => ((totalMs / Math.min(300, FINALS)) * 1000).toFixed(0);
    out.push('Renderer main-thread self time per line fed, by trace event (the 12 largest):', '');
    out.push(
      markdownTable(
        ['trace event', '(baseline) first 300 lines (µs/line)', 'last 300 lines (µs/line)'],
        names.map((n) => [n.name, perLine(n.first), perLine(n.last)]),
      ),
      '',
    );
    const frameStats = (f: { frames: number[]; longTasks: number[]; longFrames: number[] }) => {
      const gaps = f.frames.slice(1).map((t, i) => t - (f.frames[i] as number));
      // The display's frame interval: the median gap (16.7 ms at 60 Hz).
      const interval = median(gaps);
      const dropped = gaps.reduce((n, g) => n + Math.max(0, Math.round(g / interval) - 1), 0);
      const seconds = ((f.frames.at(-1) ?? 0) - (f.frames[0] ?? 0)) / 1000;
      return [
        seconds.toFixed(0),
        f.frames.length,
        interval.toFixed(1),
        `${dropped} (${((dropped / Math.max(1, f.frames.length + dropped)) * 100).toFixed(1)} %)`,
        (gaps.length ? Math.max(...gaps) : 0).toFixed(0),
        `${f.longTasks.length}${f.longTasks.length ? ` (max ${Math.max(...f.longTasks).toFixed(0)} ms)` : ''}`,
        `${f.longFrames.length}${f.longFrames.length ? ` (max ${Math.max(...f.longFrames).toFixed(0)} ms)` : ''}`,
      ];
    };
    out.push(
      `### Frames while ${FINALS} finals arrive at ${RATE}/s (requestAnimationFrame, Long Tasks, LoAF)`,
      '',
    );
    out.push(
      markdownTable(
        [
          'window',
          'seconds',
          'frames',
          'frame interval (ms)',
          'dropped frames',
          'longest gap (ms)',
          'long tasks ≥ 50 ms',
          'long animation frames ≥ 50 ms',
        ],
        [
          [`(baseline) the same page idle for ${IDLE_MS / 1000} s`, ...frameStats(idleFrames)],
          ['the whole feed', ...frameStats(feedFrames)],
        ],
      ),
      '',
    );
    await context.close();
  } finally {
    await browser.close();
    await stack.stop();
  }
  flush();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench:web failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
