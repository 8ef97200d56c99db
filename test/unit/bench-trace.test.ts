import {
  kindOf,
  longTaskCauses,
  mainThreadTasks,
  summarizeTasks,
  type TraceEvent,
  timeStamps,
  verdict,
} from '../../bench/lib-trace';

const MAIN = { pid: 1, tid: 7 };
const OTHER = { pid: 1, tid: 9 };

function thread(name: string, at: { pid: number; tid: number }): TraceEvent {
  return { name: 'thread_name', ph: 'M', ts: 0, ...at, args: { name } };
}

function x(
  name: string,
  ts: number,
  dur: number,
  tdur?: number,
  at = MAIN,
  data?: Record<string, unknown>,
): TraceEvent {
  return {
    name,
    ph: 'X',
    ts,
    dur,
    ...(tdur === undefined ? {} : { tdur }),
    ...at,
    ...(data ? { args: { data } } : {}),
  };
}

const names = [thread('CrRendererMain', MAIN), thread('Compositor', OTHER)];

describe('reading a Chromium trace', () => {
  it('gives trace events a kind of work by their name', () => {
    expect(kindOf('FunctionCall')).toBe('script');
    expect(kindOf('FireAnimationFrame')).toBe('script');
    expect(kindOf('v8.compile')).toBe('script');
    expect(kindOf('V8.GCScavenger')).toBe('gc');
    expect(kindOf('MinorGC')).toBe('gc');
    expect(kindOf('BlinkGC.AtomicPhase')).toBe('gc');
    expect(kindOf('UpdateLayoutTree')).toBe('style');
    expect(kindOf('Layout')).toBe('layout');
    expect(kindOf('PrePaint')).toBe('paint');
    expect(kindOf('Commit')).toBe('paint');
    expect(kindOf('ParseHTML')).toBe('parse');
    expect(kindOf('HitTest')).toBe('other');
  });

  it('splits each main-thread task into self time by kind that adds up to its duration', () => {
    // Prepare: a 20 ms frame task (rAF callback 6 ms with a 2 ms forced layout inside, style 3 ms,
    // layout 5 ms, paint 4 ms), a 1 ms timer task, and a task on another thread.
    const events = [
      ...names,
      x('RunTask', 1000, 20_000, 19_000),
      x('FireAnimationFrame', 1500, 6000, 6000, MAIN, { id: 1 }),
      x('FunctionCall', 1600, 5000, 5000, MAIN, { functionName: 'flush' }),
      x('Layout', 3000, 2000, 2000),
      x('UpdateLayoutTree', 8000, 3000, 3000),
      x('Layout', 11_000, 5000, 5000),
      x('Paint', 16_000, 4000, 3000),
      x('RunTask', 30_000, 1000, 900),
      x('TimerFire', 30_100, 800, 800),
      x('RunTask', 1000, 50_000, 50_000, OTHER),
    ];

    // Act
    const tasks = mainThreadTasks(events);

    // Assess
    expect(tasks).toHaveLength(2);
    const frame = tasks[0];
    expect(frame?.wallMs).toBe(20);
    expect(frame?.cpuMs).toBe(19);
    expect(frame?.wall.script).toBeCloseTo(4);
    expect(frame?.wall.layout).toBeCloseTo(7);
    expect(frame?.wall.style).toBeCloseTo(3);
    expect(frame?.wall.paint).toBeCloseTo(4);
    expect(frame?.wall.task).toBeCloseTo(2);
    const sum = Object.values(frame?.wall ?? {}).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(20);
    expect(frame?.cpu.paint).toBeCloseTo(3);
    expect(frame?.entries).toEqual([{ name: 'FireAnimationFrame', ms: 6 }]);
    expect(tasks[1]?.entries).toEqual([{ name: 'TimerFire', ms: 0.8 }]);
  });

  it('says a long task waited for a core when its thread time was under the budget', () => {
    // Prepare: 40 ms of wall time, 5 ms on a core; and 30 ms of layout on a core.
    const events = [
      ...names,
      x('RunTask', 0, 40_000, 5000),
      x('Layout', 100, 39_000, 4500),
      x('RunTask', 50_000, 31_000, 30_500),
      x('Layout', 50_100, 30_000, 30_000),
      x('RunTask', 90_000, 2000, 2000),
    ];

    // Act
    const tasks = mainThreadTasks(events);
    const causes = longTaskCauses(tasks, 16);

    // Assess
    expect(verdict(tasks[0] as never, 16)).toBe('waited for a core');
    expect(verdict(tasks[1] as never, 16)).toBe('layout');
    // As many of each: the one with the longest task first.
    expect(causes.map((c) => [c.cause, c.count])).toEqual([
      ['waited for a core', 1],
      ['layout', 1],
    ]);
    const summary = summarizeTasks(tasks, 16);
    expect(summary).toMatchObject({ tasks: 3, longWall: 2, longCpu: 1, max: 40 });
  });

  it('names the script entry of a long script task, and keeps only tasks that start in the window', () => {
    const events = [
      ...names,
      x('RunTask', 0, 25_000, 24_000),
      x('EventDispatch', 10, 24_000, 23_900, MAIN, { type: 'scroll' }),
      x('RunTask', 100_000, 30_000, 30_000),
    ];

    const inWindow = mainThreadTasks(events, 0, 50_000);

    expect(inWindow).toHaveLength(1);
    expect(verdict(inWindow[0] as never, 16)).toBe('script: EventDispatch(scroll)');
  });

  it('finds the marks the page left (console.timeStamp or performance.mark) by their label', () => {
    const events: TraceEvent[] = [
      { name: 'TimeStamp', ph: 'I', ts: 500, ...MAIN, args: { data: { message: 'feed-start' } } },
      { name: 'TimeStamp', ph: 'I', ts: 700, ...MAIN, args: { data: { message: 'feed-start' } } },
      { name: 'feed-end', cat: 'blink.user_timing', ph: 'R', ts: 900, ...MAIN },
    ];
    expect(timeStamps(events)).toEqual(
      new Map([
        ['feed-start', 500],
        ['feed-end', 900],
      ]),
    );
  });
});
