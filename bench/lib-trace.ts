/**
 * Reading a Chromium performance trace (the JSON `browser.startTracing` returns): the renderer
 * main thread's tasks, and what each long one spent its time on. Used by bench/web.ts; pure, so
 * it is unit-tested on hand-made events (test/unit/bench-trace.test.ts).
 *
 * A task is a top-level `RunTask` on a `CrRendererMain` thread: a frame's work (rAF callbacks,
 * style, layout, paint) is one such task, so a task of 16 ms or more is a frame over budget or
 * a task that delays one. Every event inside a task is given to one kind of work by its name;
 * self time (an event's duration less its children's) adds up to the task's duration exactly.
 * Chromium also records thread time (`tdur`: time the thread was on a core) for most events:
 * a task whose wall time is long but whose thread time is short waited for a core — on a loaded
 * machine that is the machine's doing, not the page's.
 */

export interface TraceEvent {
  name: string;
  cat?: string;
  ph: string;
  ts: number;
  dur?: number;
  /** Thread time (µs the thread ran), when Chromium recorded it. */
  tdur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: Record<string, unknown> };
}

export const KINDS = ['script', 'gc', 'style', 'layout', 'paint', 'parse', 'other', 'task'] as const;
/** `task`: the task's own time outside every traced event (scheduling, untraced work). */
export type Kind = (typeof KINDS)[number];

/** The kind of work a trace event is, by its name (Chromium's devtools.timeline names). */
export function kindOf(name: string): Exclude<Kind, 'task'> {
  if (/GC|Scavenge|Sweep|^ThreadState::|^V8\.Heap/.test(name)) return 'gc';
  if (
    /^(UpdateLayoutTree|RecalculateStyles|ParseAuthorStyleSheet|ScheduleStyleRecalculation)$|Style/.test(name)
  )
    return 'style';
  if (name === 'Layout' || /^(UpdateLayout|LayoutNG|LocalFrameView::layout)/.test(name)) return 'layout';
  if (/Paint|Layeriz|Composit|^Commit|UpdateLayer|Raster|Decode|^Scroll|^Animation/.test(name))
    return 'paint';
  if (name === 'ParseHTML') return 'parse';
  if (
    /^(FunctionCall|EvaluateScript|TimerFire|FireAnimationFrame|EventDispatch|FireIdleCallback|HandlePostMessage|XHRReadyStateChange|XHRLoad)$|^(v8|V8)\.|Microtask|[Cc]ompile|WebSocket/.test(
      name,
    )
  )
    return 'script';
  return 'other';
}

function key(e: Pick<TraceEvent, 'pid' | 'tid'>): string {
  return `${e.pid}:${e.tid}`;
}

/** The renderer main threads (`pid:tid`) the trace names. */
export function rendererMainThreads(events: readonly TraceEvent[]): Set<string> {
  return new Set(
    events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map(key),
  );
}

const TASK_NAMES = new Set(['RunTask', 'ThreadControllerImpl::RunTask']);

export interface Task {
  ts: number;
  /** Wall time, ms. */
  wallMs: number;
  /** Thread time, ms (undefined when the trace has none for this task). */
  cpuMs: number | undefined;
  /** Self wall time by kind, ms: sums to wallMs. */
  wall: Record<Kind, number>;
  /** Self thread time by kind, ms (from the events that carry `tdur`). */
  cpu: Record<Kind, number>;
  /** The script entries (rAF callback, timer, event) at the task's top level, with their wall ms. */
  entries: { name: string; ms: number }[];
}

function zero(): Record<Kind, number> {
  return { script: 0, gc: 0, style: 0, layout: 0, paint: 0, parse: 0, other: 0, task: 0 };
}

/** What a script entry was: `EventDispatch(scroll)`, `FunctionCall(flush)`, `TimerFire`… */
function entryName(e: TraceEvent): string {
  const data = e.args?.data ?? {};
  const detail = (data.type ?? data.functionName ?? '') as string;
  return detail ? `${e.name}(${detail})` : e.name;
}

/**
 * The renderer main-thread tasks whose start is in [fromTs, toTs) (trace µs), each with its
 * self time by kind. Nested RunTasks (a nested run loop) belong to the outer task.
 */
export function mainThreadTasks(events: readonly TraceEvent[], fromTs = -Infinity, toTs = Infinity): Task[] {
  const threads = rendererMainThreads(events);
  const mine = events
    .filter((e) => e.ph === 'X' && threads.has(key(e)))
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const tasks: Task[] = [];
  // Per thread: the open top-level task and the stack of open events inside it.
  const open = new Map<
    string,
    { task: Task; end: number; stack: { end: number; kind: Kind; hasCpu: boolean; script: boolean }[] }
  >();
  for (const e of mine) {
    const dur = e.dur ?? 0;
    const thread = key(e);
    let current = open.get(thread);
    if (current && e.ts >= current.end) {
      open.delete(thread);
      current = undefined;
    }
    if (!current) {
      if (!TASK_NAMES.has(e.name) || e.ts < fromTs || e.ts >= toTs) continue;
      const task: Task = {
        ts: e.ts,
        wallMs: dur / 1000,
        cpuMs: e.tdur === undefined ? undefined : e.tdur / 1000,
        wall: zero(),
        cpu: zero(),
        entries: [],
      };
      task.wall.task += dur / 1000;
      if (e.tdur !== undefined) task.cpu.task += e.tdur / 1000;
      tasks.push(task);
      open.set(thread, {
        task,
        end: e.ts + dur,
        stack: [{ end: e.ts + dur, kind: 'task', hasCpu: e.tdur !== undefined, script: false }],
      });
      continue;
    }
    const { task, stack } = current;
    while (stack.length > 1 && (stack.at(-1) as { end: number }).end <= e.ts) stack.pop();
    const parent = stack.at(-1) as (typeof stack)[number];
    // A nested RunTask is work of the outer task: its own time counts as the parent's kind.
    const kind: Kind = TASK_NAMES.has(e.name) ? parent.kind : kindOf(e.name);
    // An event that overruns its parent (clock rounding) is clipped to it.
    const end = Math.min(e.ts + dur, parent.end);
    const wall = (end - e.ts) / 1000;
    task.wall[parent.kind] -= wall;
    task.wall[kind] += wall;
    if (e.tdur !== undefined && parent.hasCpu) {
      const cpu = Math.min(e.tdur / 1000, wall);
      task.cpu[parent.kind] -= cpu;
      task.cpu[kind] += cpu;
    }
    const script = kind === 'script';
    if (script && !stack.some((s) => s.script)) task.entries.push({ name: entryName(e), ms: wall });
    stack.push({ end, kind, hasCpu: e.tdur !== undefined, script });
  }
  for (const task of tasks) {
    // Clipping and rounding can leave a few ns below zero.
    for (const k of KINDS) {
      task.wall[k] = Math.max(0, task.wall[k]);
      task.cpu[k] = Math.max(0, task.cpu[k]);
    }
  }
  return tasks;
}

/**
 * Why a task was long, in a few words: `waited for a core` when it ran (thread time) under the
 * budget though its wall time was over it; else the kind with the most thread time (wall time
 * when the trace has no thread time), with the script entry that took longest when it is script.
 */
export function verdict(task: Task, budgetMs: number): string {
  if (task.cpuMs !== undefined && task.cpuMs < budgetMs) return 'waited for a core';
  const by = task.cpuMs !== undefined ? task.cpu : task.wall;
  const [kind] = KINDS.map((k) => [k, by[k]] as const).sort((a, b) => b[1] - a[1])[0] as [Kind, number];
  if (kind === 'script') {
    const entry = [...task.entries].sort((a, b) => b.ms - a.ms)[0];
    return entry ? `script: ${entry.name}` : 'script';
  }
  return kind === 'task' ? 'untraced work in the task' : kind;
}

export interface TaskSummary {
  tasks: number;
  p50: number;
  p99: number;
  max: number;
  /** Tasks of budgetMs or more (wall time): what the goal counts. */
  longWall: number;
  /** Tasks of budgetMs or more of thread time (undefined when the trace has no thread time). */
  longCpu: number | undefined;
}

export function summarizeTasks(tasks: readonly Task[], budgetMs: number): TaskSummary {
  const wall = tasks.map((t) => t.wallMs).sort((a, b) => a - b);
  const at = (q: number) => wall[Math.min(wall.length - 1, Math.floor(wall.length * q))] ?? 0;
  const withCpu = tasks.filter((t) => t.cpuMs !== undefined);
  return {
    tasks: tasks.length,
    p50: at(0.5),
    p99: at(0.99),
    max: wall.at(-1) ?? 0,
    longWall: tasks.filter((t) => t.wallMs >= budgetMs).length,
    longCpu: withCpu.length === 0 ? undefined : withCpu.filter((t) => (t.cpuMs as number) >= budgetMs).length,
  };
}

export interface CauseRow {
  cause: string;
  count: number;
  maxWallMs: number;
  /** Median over the group, ms. */
  medianWallMs: number;
  medianCpuMs: number | undefined;
  /** Mean self thread (else wall) time by kind over the group, ms. */
  meanBy: Record<Kind, number>;
}

/** The long tasks (wall ≥ budget) grouped by verdict, most frequent first. */
export function longTaskCauses(tasks: readonly Task[], budgetMs: number): CauseRow[] {
  const groups = new Map<string, Task[]>();
  for (const t of tasks) {
    if (t.wallMs < budgetMs) continue;
    const cause = verdict(t, budgetMs);
    groups.set(cause, [...(groups.get(cause) ?? []), t]);
  }
  const mid = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  return [...groups]
    .map(([cause, group]) => {
      const meanBy = zero();
      for (const t of group) {
        const by = t.cpuMs !== undefined ? t.cpu : t.wall;
        for (const k of KINDS) meanBy[k] += by[k] / group.length;
      }
      const cpus = group.filter((t) => t.cpuMs !== undefined).map((t) => t.cpuMs as number);
      return {
        cause,
        count: group.length,
        maxWallMs: Math.max(...group.map((t) => t.wallMs)),
        medianWallMs: mid(group.map((t) => t.wallMs)),
        medianCpuMs: cpus.length ? mid(cpus) : undefined,
        meanBy,
      };
    })
    .sort((a, b) => b.count - a.count || b.maxWallMs - a.maxWallMs);
}

/**
 * The marks the page left in the trace, by label (trace µs of the first of each):
 * `console.timeStamp(label)` (a `TimeStamp` event) or `performance.mark(label)` (user timing).
 */
export function timeStamps(events: readonly TraceEvent[]): Map<string, number> {
  const marks = new Map<string, number>();
  for (const e of events) {
    const label =
      e.name === 'TimeStamp'
        ? e.args?.data?.message
        : e.cat?.includes('blink.user_timing') && e.ph !== 'M'
          ? e.name
          : undefined;
    if (typeof label === 'string' && !marks.has(label)) marks.set(label, e.ts);
  }
  return marks;
}

/**
 * The main thread's work per line fed over a window: thread time by kind (wall time for tasks
 * without thread time) in µs per line, and how many style recalculations, layouts and paints
 * (top-level `Paint` of the document) ran per line.
 */
export function workPerLine(
  events: readonly TraceEvent[],
  tasks: readonly Task[],
  fromTs: number,
  toTs: number,
  lines: number,
): { us: Record<Kind, number>; style: number; layout: number; paint: number } {
  const us = zero();
  for (const t of tasks) {
    const by = t.cpuMs !== undefined ? t.cpu : t.wall;
    for (const k of KINDS) us[k] += (by[k] * 1000) / lines;
  }
  const threads = rendererMainThreads(events);
  const count = (test: (e: TraceEvent) => boolean) =>
    events.filter((e) => e.ph === 'X' && e.ts >= fromTs && e.ts < toTs && threads.has(key(e)) && test(e))
      .length / lines;
  return {
    us,
    style: count((e) => e.name === 'UpdateLayoutTree'),
    layout: count((e) => e.name === 'Layout'),
    paint: count((e) => e.name === 'Paint' && e.args?.data?.nodeName === '#document'),
  };
}
