/**
 * `npm run bench:web`: the web console's first-load JavaScript, time from page load to the first
 * transcript line on the local stack, and rendering a long meeting, in headless Chromium.
 *
 * 1. First-load JS: every script index.html loads (entry + modulepreloads), gzip -9, against the
 *    goal of 150 KB. Baseline in the same run: Preact's own runtime, gzipped the same way.
 * 2. Page load → first transcript line: a signed-in user opens a meeting that already has finals;
 *    `performance.now()` (from navigation start) when the first line is in the DOM, median of
 *    --runs. Baseline: the reference client in Node, connect + subscribe → first final.
 * 3. Rendering: --finals finals (default 3,000) at --rate per second (default 10; a higher rate
 *    finishes sooner and is harder, not easier), each handed to the reference client's message
 *    handler as the JSON text the socket delivers (the final, then its keyword alert), with
 *    Chromium's trace recording. The sample meeting is paused first (its speech engine would load
 *    the machine). Every renderer main-thread task is listed: a frame cannot be shorter than the
 *    task that runs in it, so "no task of 16 ms or more" means every frame's work fits in 16 ms.
 *    Baseline in the same trace: the same page idle for --idle-seconds (default 15) before the
 *    feed and again after it — on a loaded machine Chromium has long tasks of its own, and those
 *    tell which are the page's. Every long task is attributed (bench/lib-trace.ts): its self time
 *    by kind of work (script, GC, style, layout, paint…) and its thread time, so a task that was
 *    long only because it waited for a core says so. Also the first 300 lines against the last
 *    300 (a line's cost must not grow with the meeting), and frames as the page sees them
 *    (requestAnimationFrame gaps, Long Tasks, long animation frames). `--interims N` adds N
 *    interims before each final; `--trace-out FILE` keeps the trace; `--deep` adds `blink`.
 * The file-transcription pages are a chunk loaded on first use: listed, not in the first load.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import WebSocket from 'ws';
import { createLogger } from '../core/logger';
import { ParleyClient } from '../core/realtime/client';
import { startSampleMeeting } from '../local/sample-meeting';
import { type LocalStack, startLocalStack } from '../local/stack';
import { ensureWebBuild } from '../local/web-build';
import { WEB_DIST_DIR } from '../local/web-server';
import { launchChromium, newContext, signIn } from '../test/helpers/browser';
import { flagArg, machineFacts, markdownTable, numArg } from './lib-bench';
import {
  KINDS,
  type Kind,
  longTaskCauses,
  mainThreadTasks,
  rendererMainThreads,
  summarizeTasks,
  type Task,
  type TraceEvent,
  timeStamps,
  verdict,
  workPerLine,
} from './lib-trace';

const RUNS = numArg('runs', 5);
const FINALS = numArg('finals', 3000);
const RATE = numArg('rate', 10);
const FRAME_BUDGET_MS = 16;
/** The idle baseline: the same page with nothing arriving, this long before and again after the feed. */
const IDLE_MS = numArg('idle-seconds', 15) * 1000;
/** `--interims N`: N interims (growing prefixes of the line) before each final; 0 by default (the goal counts finals). */
const INTERIMS = numArg('interims', 0);
/** `--deep`: also record the `blink` trace category (finer events, more tracing overhead). */
const DEEP = flagArg('deep');
/** `--trace-out FILE`: keep the feed's Chromium trace (open it in DevTools → Performance). */
const TRACE_OUT = process.argv.find((_a, i) => process.argv[i - 1] === '--trace-out');

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

interface FrameWindow {
  frames: number[];
  longTasks: number[];
  longFrames: number[];
}

/** requestAnimationFrame gaps over one or more windows (gaps between windows not counted). */
function frameStats(windows: readonly FrameWindow[]): (string | number)[] {
  const gaps = windows.flatMap((f) => f.frames.slice(1).map((t, i) => t - (f.frames[i] as number)));
  // The display's frame interval: the median gap (16.7 ms at 60 Hz).
  const interval = median(gaps);
  const dropped = gaps.reduce((n, g) => n + Math.max(0, Math.round(g / interval) - 1), 0);
  const seconds = windows.reduce((s, f) => s + ((f.frames.at(-1) ?? 0) - (f.frames[0] ?? 0)) / 1000, 0);
  const frames = windows.reduce((n, f) => n + f.frames.length, 0);
  const longTasks = windows.flatMap((f) => f.longTasks);
  const longFrames = windows.flatMap((f) => f.longFrames);
  return [
    seconds.toFixed(0),
    frames,
    interval.toFixed(1),
    `${dropped} (${((dropped / Math.max(1, frames + dropped)) * 100).toFixed(1)} %)`,
    (gaps.length ? Math.max(...gaps) : 0).toFixed(0),
    `${longTasks.length}${longTasks.length ? ` (max ${Math.max(...longTasks).toFixed(0)} ms)` : ''}`,
    `${longFrames.length}${longFrames.length ? ` (max ${Math.max(...longFrames).toFixed(0)} ms)` : ''}`,
  ];
}

function fmtLoad(load: number[]): string {
  return load.map((l) => l.toFixed(2)).join(' / ');
}

/** `script 3.1, layout 9.0, …`: the kinds over 0.5 ms, largest first. */
function breakdown(by: Record<Kind, number>): string {
  return (
    KINDS.filter((k) => by[k] >= 0.5)
      .sort((a, b) => by[b] - by[a])
      .map((k) => `${k} ${by[k].toFixed(1)}`)
      .join(', ') || '–'
  );
}

/** Pauses the meeting as its owner (alice) and waits for the acknowledgement. */
async function pauseMeeting(stack: LocalStack, meetingId: string): Promise<void> {
  const owner = new ParleyClient({
    url: stack.urls.ws,
    token: () => stack.issuer.mintToken('alice'),
    WebSocketImpl: WebSocket as never,
  });
  try {
    await new Promise<void>((resolve) => {
      owner.on('open', () => resolve());
      owner.connect();
    });
    await owner.command(meetingId, 'pause');
  } finally {
    owner.close();
  }
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
    // The sample meeting is paused first: its speech engine would otherwise transcribe the
    // recording on the same two cores while the page is measured (our own load, not the page's),
    // and its live lines would arrive in the idle baseline.
    await pauseMeeting(stack, meeting.meetingId);
    await context.addInitScript(() => sessionStorage.setItem('parleyTestHooks', '1'));
    await page.goto(meetingUrl);
    await page.waitForFunction(() => {
      const hooks = (window as unknown as { parleyTestHooks?: { stores: Map<string, unknown> } })
        .parleyTestHooks;
      return hooks !== undefined && hooks.stores.size > 0;
    });
    // The keywords come from the REST API; alerts are highlighted once they are set.
    await page.locator('.keyword-counts').getByText('amiable').waitFor();
    // Frames as the page sees them: requestAnimationFrame timestamps (a gap of n frame
    // intervals drops n - 1 frames), long tasks (≥ 50 ms, the Long Tasks API) and long
    // animation frames (≥ 50 ms, LoAF).
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
        const probe = (window as unknown as { frameProbe: FrameWindow }).frameProbe;
        const taken = { frames: probe.frames, longTasks: probe.longTasks, longFrames: probe.longFrames };
        probe.frames = [];
        probe.longTasks = [];
        probe.longFrames = [];
        return taken;
      });
    const mark = (label: string) => page.evaluate((l) => console.timeStamp(l), label);
    /** The same page, nothing arriving, for IDLE_MS: the machine's own long tasks. */
    const idleWindow = async (name: string) => {
      await takeFrames();
      await mark(`parley:${name}:start`);
      await page.waitForTimeout(IDLE_MS);
      await mark(`parley:${name}:end`);
      return takeFrames();
    };
    await browser.startTracing(page, {
      categories: [
        'devtools.timeline',
        'disabled-by-default-devtools.timeline',
        'toplevel',
        ...(DEEP ? ['blink'] : []),
      ],
    });
    const loadBefore = loadavg();
    const idleBefore = await idleWindow('idle1');
    await takeFrames();
    const feed = await page.evaluate(
      async ({ finals, rate, interims, marksAt }) => {
        const hooks = (
          window as unknown as {
            parleyTestHooks: {
              client: { onMessage?: (raw: string) => void };
              stores: Map<string, { meetingId: string; addFinal(s: object): void }>;
            };
          }
        ).parleyTestHooks;
        const store = [...hooks.stores.values()][0] as { meetingId: string; addFinal(s: object): void };
        const meetingId = store.meetingId;
        // The path a line takes from the socket on (JSON parse, the client's order and
        // duplicate checks, the store, the latency panel), as the server sends it: the final,
        // then its keyword alert. The store's own entry if the client's handler is gone.
        const client = hooks.client;
        const viaClient = typeof client.onMessage === 'function';
        const deliver = (message: object) => client.onMessage?.call(client, JSON.stringify(message));
        const speakers = ['Alice', 'Bob', 'Carol', 'Dan'];
        const text =
          'we agreed to move the launch date and the budget review to next week, pending the amiable vendor';
        const words = text.split(' ');
        const base = 1_000_000;
        const interval = 1000 / rate;
        const start = performance.now();
        console.timeStamp('parley:feed:start');
        for (let i = 0; i < finals; i++) {
          const seq = base + i;
          const segment = (isFinal: boolean, partial: string) => {
            const now = Date.now();
            return {
              id: `${meetingId}:${seq}`,
              seq,
              revision: 0,
              text: partial,
              speaker: speakers[i % 4],
              confidence: 0.9,
              startMs: i * 4000,
              endMs: i * 4000 + 3500,
              timestamp: new Date(now).toISOString(),
              isFinal,
              timing: {
                audioEndAt: now - 700,
                resultAt: now - 400,
                publishedAt: now - 390,
                fanoutAt: now - 120,
                sentAt: now - 5,
              },
            };
          };
          // Interims (growing prefixes of the line) spread over the interval before the final.
          for (let k = 0; k <= interims; k++) {
            const due = start + i * interval + (k * interval) / (interims + 1);
            const wait = due - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            const lineText = `${text} (${i})`;
            if (k < interims) {
              const partial = words.slice(0, Math.ceil((words.length * (k + 1)) / (interims + 1))).join(' ');
              if (viaClient) deliver({ type: 'transcript', meetingId, transcript: segment(false, partial) });
              continue;
            }
            if (marksAt.includes(i)) console.timeStamp(`parley:line:${i}`);
            if (!viaClient) {
              store.addFinal({ seq, speaker: speakers[i % 4], text: lineText, startMs: i * 4000 });
              continue;
            }
            deliver({ type: 'transcript', meetingId, transcript: segment(true, lineText) });
            deliver({
              type: 'keyword_alert',
              meetingId,
              keyword: 'amiable',
              segmentId: `${meetingId}:${seq}`,
              seq,
              text: lineText,
              timestamp: new Date().toISOString(),
              alertId: `${meetingId}:${seq}:amiable:0`,
              occurrence: 0,
              state: 'confirmed',
            });
          }
        }
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        console.timeStamp('parley:feed:end');
        return { viaClient, seconds: (performance.now() - start) / 1000 };
      },
      {
        finals: FINALS,
        rate: RATE,
        interims: INTERIMS,
        marksAt: [0, Math.min(299, FINALS - 1), Math.max(0, FINALS - 300), FINALS - 1],
      },
    );
    const feedFrames = await takeFrames();
    const loadAfter = loadavg();
    const idleAfter = await idleWindow('idle2');
    const traceBuffer = await browser.stopTracing();
    if (TRACE_OUT) writeFileSync(TRACE_OUT, traceBuffer);
    const events = (JSON.parse(traceBuffer.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
    const lineCount = await page.locator('.lines li.line').count();
    const heading = (await page.locator('#transcript-heading .count').textContent()) ?? '';
    const marks = timeStamps(events);
    const at = (label: string) => {
      const ts = marks.get(`parley:${label}`);
      if (ts === undefined) throw new Error(`the trace has no mark parley:${label} (console.timeStamp)`);
      return ts;
    };
    const tasksIn = (from: string, to: string) => mainThreadTasks(events, at(from), at(to));
    const idleTasks = [...tasksIn('idle1:start', 'idle1:end'), ...tasksIn('idle2:start', 'idle2:end')];
    const idleSeconds =
      (at('idle1:end') - at('idle1:start') + at('idle2:end') - at('idle2:start')) / 1_000_000;
    const feedTasks = tasksIn('feed:start', 'feed:end');
    const feedSeconds = (at('feed:end') - at('feed:start')) / 1_000_000;
    const firstTo = `line:${Math.min(299, FINALS - 1)}`;
    const lastFrom = `line:${Math.max(0, FINALS - 300)}`;
    const lastTo = `line:${FINALS - 1}`;
    const windowSeconds = (from: string, to: string) => (at(to) - at(from)) / 1_000_000;
    const taskRow = (label: string, tasks: Task[], seconds: number) => {
      const s = summarizeTasks(tasks, FRAME_BUDGET_MS);
      return [
        label,
        seconds.toFixed(0),
        s.tasks,
        s.p50.toFixed(2),
        s.p99.toFixed(2),
        s.max.toFixed(2),
        s.longWall,
        ((s.longWall / seconds) * 60).toFixed(1),
        s.longCpu ?? '–',
      ];
    };
    const budget = `≥ ${FRAME_BUDGET_MS} ms`;
    out.push(
      `### Rendering ${FINALS} finals at ${RATE}/s${INTERIMS ? ` with ${INTERIMS} interims before each` : ''} (renderer main-thread tasks from the trace)`,
      '',
      `Fed ${feed.viaClient ? "through the reference client's message handler (JSON text as the socket delivers it: the final, then its keyword alert)" : "into the store (the client's handler was not found)"}; load average ${fmtLoad(loadBefore)} before the feed, ${fmtLoad(loadAfter)} after it.`,
      '',
    );
    out.push(
      markdownTable(
        [
          'tasks during',
          'seconds',
          'tasks',
          'p50 (ms)',
          'p99 (ms)',
          'max (ms)',
          `${budget} (wall)`,
          `${budget} per minute`,
          `${budget} on a core (thread time)`,
        ],
        [
          taskRow(
            `(baseline) the same page idle, ${IDLE_MS / 1000} s before + after`,
            idleTasks,
            idleSeconds,
          ),
          taskRow('the first 300 lines', tasksIn('line:0', firstTo), windowSeconds('line:0', firstTo)),
          taskRow('the last 300 lines', tasksIn(lastFrom, lastTo), windowSeconds(lastFrom, lastTo)),
          taskRow('the whole feed', feedTasks, feedSeconds),
        ],
      ),
      '',
      `At the end the transcript says ${heading.trim()}; lines in the DOM: ${lineCount} (full blocks out of view are windowed).`,
      '',
    );
    // What the long tasks were: each one's self time by kind of work, grouped by its cause.
    const feedCauses = longTaskCauses(feedTasks, FRAME_BUDGET_MS);
    const idleCauses = new Map(longTaskCauses(idleTasks, FRAME_BUDGET_MS).map((c) => [c.cause, c]));
    const causeNames = [...new Set([...feedCauses.map((c) => c.cause), ...idleCauses.keys()])];
    const feedByCause = new Map(feedCauses.map((c) => [c.cause, c]));
    const ms1 = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(1));
    out.push(`Tasks ${budget} (wall time) by cause, feed against the idle page:`, '');
    out.push(
      markdownTable(
        [
          'cause',
          'feed: tasks',
          'idle: tasks',
          'feed: median wall / thread (ms)',
          'feed: max wall (ms)',
          'feed: mean thread time by kind (ms)',
        ],
        causeNames.map((cause) => {
          const f = feedByCause.get(cause);
          return [
            cause,
            f?.count ?? 0,
            idleCauses.get(cause)?.count ?? 0,
            f ? `${ms1(f.medianWallMs)} / ${ms1(f.medianCpuMs)}` : '–',
            f ? ms1(f.maxWallMs) : '–',
            f ? breakdown(f.meanBy) : '–',
          ];
        }),
      ),
      '',
    );
    // The work a line costs, by kind, against the idle page over the same time (1/rate s a line).
    const idleSpans: [string, string][] = [
      ['idle1:start', 'idle1:end'],
      ['idle2:start', 'idle2:end'],
    ];
    const idleWork = idleSpans.map(([from, to]) =>
      workPerLine(events, tasksIn(from, to), at(from), at(to), idleSeconds * RATE),
    );
    const sumWork = (works: ReturnType<typeof workPerLine>[]) => ({
      us: Object.fromEntries(KINDS.map((k) => [k, works.reduce((s, w) => s + w.us[k], 0)])) as Record<
        Kind,
        number
      >,
      style: works.reduce((s, w) => s + w.style, 0),
      layout: works.reduce((s, w) => s + w.layout, 0),
      paint: works.reduce((s, w) => s + w.paint, 0),
    });
    const lineWork = (from: string, to: string) =>
      workPerLine(events, tasksIn(from, to), at(from), at(to), Math.min(300, FINALS));
    const workRow = (label: string, w: ReturnType<typeof workPerLine>) => [
      label,
      ...KINDS.map((k) => w.us[k].toFixed(0)),
      KINDS.reduce((s, k) => s + w.us[k], 0).toFixed(0),
      w.style.toFixed(2),
      w.layout.toFixed(2),
      w.paint.toFixed(2),
    ];
    out.push(
      'Main-thread time per line fed, by kind (thread time, µs), and style / layout / paint passes per line:',
      '',
    );
    out.push(
      markdownTable(
        ['window', ...KINDS, 'total', 'style passes', 'layouts', 'paints'],
        [
          workRow(`(baseline) the idle page, per ${(1000 / RATE).toFixed(0)} ms`, sumWork(idleWork)),
          workRow('the first 300 lines', lineWork('line:0', firstTo)),
          workRow('the last 300 lines', lineWork(lastFrom, lastTo)),
        ],
      ),
      '',
      '(`task`: time inside a task outside every traced event — scheduling and untraced work.)',
      '',
    );
    const worst = [...feedTasks].sort((a, b) => b.wallMs - a.wallMs).slice(0, 10);
    const feedStart = at('feed:start');
    out.push('The 10 longest tasks of the feed:', '');
    out.push(
      markdownTable(
        [
          'at (s into the feed)',
          'wall (ms)',
          'thread (ms)',
          'cause',
          'self time by kind (ms, thread time if known)',
          'script entries (ms)',
        ],
        worst.map((t) => [
          ((t.ts - feedStart) / 1_000_000).toFixed(1),
          t.wallMs.toFixed(1),
          ms1(t.cpuMs),
          verdict(t, FRAME_BUDGET_MS),
          breakdown(t.cpuMs !== undefined ? t.cpu : t.wall),
          t.entries
            .filter((e) => e.ms >= 0.5)
            .map((e) => `${e.name} ${e.ms.toFixed(1)}`)
            .join(', ') || '–',
        ]),
      ),
      '',
    );
    // Where the time went: self time per trace event, per line fed, first 300 against last 300.
    const threads = rendererMainThreads(events);
    const mainEvents = events.filter((e) => threads.has(`${e.pid}:${e.tid}`));
    const firstSelf = selfTimeByName(mainEvents, at('line:0'), at(firstTo));
    const lastSelf = selfTimeByName(mainEvents, at(lastFrom), at(lastTo));
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
          [
            `(baseline) the same page idle, ${IDLE_MS / 1000} s before + after`,
            ...frameStats([idleBefore, idleAfter]),
          ],
          ['the whole feed', ...frameStats([feedFrames])],
        ],
      ),
      '',
    );
    const feedSummary = summarizeTasks(feedTasks, FRAME_BUDGET_MS);
    const idleSummary = summarizeTasks(idleTasks, FRAME_BUDGET_MS);
    out.push(
      `Goal (no renderer task ${budget} while the finals arrive): **${feedSummary.longWall === 0 ? 'met' : 'not met'}** — ` +
        `${feedSummary.longWall} of ${feedSummary.tasks} tasks (${((feedSummary.longWall / feedSeconds) * 60).toFixed(1)} a minute), ` +
        `${feedSummary.longCpu ?? '?'} of them ${budget} on a core; the idle page in the same run: ${idleSummary.longWall} ` +
        `(${((idleSummary.longWall / idleSeconds) * 60).toFixed(1)} a minute), ${idleSummary.longCpu ?? '?'} on a core.`,
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
