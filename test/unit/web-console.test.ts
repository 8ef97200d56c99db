/**
 * The web console's pure parts, run in Node: formatting, keyword highlighting, and the meeting
 * store fed by the reference client (over a socket class that delivers real protocol frames).
 */
import { ParleyClient } from '../../core/realtime/client';
import type { ServerMessage } from '../../core/realtime/protocol';
import { highlight, meetingTime, speakerColour } from '../../web/src/format';
import { ALERT_BLOCK, BLOCK_SIZE, type Line, MeetingStore } from '../../web/src/meeting-store';
import { blockOf, shownBlocks } from '../../web/src/transcript-window';

// The store renders once per animation frame; in Node a macrotask stands in for the frame.
(globalThis as unknown as { requestAnimationFrame: (fn: () => void) => void }).requestAnimationFrame = (fn) =>
  setTimeout(fn, 0);

/** A socket that opens at once and lets the test deliver server frames. */
class FrameSocket {
  static last: FrameSocket | undefined;
  readyState = 0;
  sent: string[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FrameSocket.last = this;
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(code = 1000, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  deliver(message: ServerMessage): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

const MEETING = 'm1';
function transcript(seq: number, text: string, isFinal: boolean, revision = 0): ServerMessage {
  return {
    type: 'transcript',
    meetingId: MEETING,
    transcript: {
      id: `${MEETING}:${seq}`,
      seq,
      revision,
      text,
      speaker: 'Alice',
      confidence: 0.9,
      startMs: seq * 1000,
      endMs: seq * 1000 + 900,
      timestamp: new Date().toISOString(),
      isFinal,
    },
  };
}

async function connectedStore(keywords: string[] = []) {
  const client = new ParleyClient({
    url: 'ws://test/local',
    token: () => 't',
    WebSocketImpl: FrameSocket as never,
  });
  const store = new MeetingStore(MEETING);
  store.setKeywords(keywords);
  store.attach(client);
  client.subscribe(MEETING);
  client.connect();
  await new Promise((r) => setTimeout(r, 5));
  const socket = FrameSocket.last as FrameSocket;
  socket.deliver({ type: 'subscribed', meetingId: MEETING, status: 'live', lastSeq: 0 });
  socket.deliver({ type: 'replay_complete', meetingId: MEETING, lastSeq: 0, count: 0 });
  return { client, store, socket };
}

describe('web console formatting', () => {
  it('formats meeting-relative times as m:ss, and h:mm:ss past an hour', () => {
    expect(meetingTime(0)).toBe('0:00');
    expect(meetingTime(65_400)).toBe('1:05');
    expect(meetingTime(3_725_000)).toBe('1:02:05');
  });

  it('gives each speaker the same colour every time', () => {
    expect(speakerColour('Alice')).toBe(speakerColour('Alice'));
    expect(new Set(['Alice', 'Bob', 'Carol', 'Dan', 'Erin'].map(speakerColour)).size).toBeGreaterThan(1);
  });

  it('highlights whole words and phrases across punctuation, case-insensitively, not inside words', () => {
    const parts = highlight('The Deal, the ideal dealer; action, item!', ['deal', 'action item']);
    expect(parts.filter((p) => p.hit).map((p) => p.text)).toEqual(['Deal', 'action, item']);
    expect(parts.map((p) => p.text).join('')).toBe('The Deal, the ideal dealer; action, item!');
  });
});

describe('the meeting store', () => {
  it('replaces an interim in place by seq and drops it when its final arrives', async () => {
    const { store, socket, client } = await connectedStore();
    socket.deliver(transcript(1, 'hel', false, 0));
    socket.deliver(transcript(1, 'hello wor', false, 1));
    expect(store.snapshot().interims.map((l) => l.text)).toEqual(['hello wor']);
    socket.deliver(transcript(1, 'hello world', true, 2));
    const snap = store.snapshot();
    expect(snap.interims).toEqual([]);
    expect(snap.blocks.flat().map((l) => l.text)).toEqual(['hello world']);
    client.close();
  });

  it('appends finals once each, in blocks that stay the same object once full', async () => {
    const { store, socket, client } = await connectedStore();
    for (let seq = 1; seq <= BLOCK_SIZE + 5; seq++) socket.deliver(transcript(seq, `line ${seq}`, true));
    socket.deliver(transcript(3, 'line 3 again', true)); // a duplicate after a reconnect
    const before = store.snapshot();
    expect(before.finalCount).toBe(BLOCK_SIZE + 5);
    expect(before.blocks).toHaveLength(2);
    socket.deliver(transcript(BLOCK_SIZE + 6, 'one more', true));
    const after = store.snapshot();
    expect(after.blocks[0]).toBe(before.blocks[0]);
    expect(after.blocks[1]).not.toBe(before.blocks[1]);
    expect(before.blocks[1]).toHaveLength(5); // an earlier snapshot never changes
    expect(after.latest?.text).toBe('one more');
    client.close();
  });

  it('lists each keyword alert once, from live alerts and from replayed finals, and notifies live ones', async () => {
    const { store, socket, client } = await connectedStore(['budget']);
    const notified: string[] = [];
    store.onAlert((a) => notified.push(`${a.seq}:${a.keyword}`));
    socket.deliver(transcript(1, 'the Budget is fine', true));
    socket.deliver({
      type: 'keyword_alert',
      meetingId: MEETING,
      keyword: 'budget',
      segmentId: `${MEETING}:1`,
      seq: 1,
      text: 'the Budget is fine',
      timestamp: new Date().toISOString(),
      alertId: `${MEETING}:1:budget:0`,
      occurrence: 0,
      state: 'confirmed',
    });
    expect(store.snapshot().alerts).toEqual([
      { key: '1:budget:0', seq: 1, keyword: 'budget', text: 'the Budget is fine', state: 'confirmed' },
    ]);
    expect(notified).toEqual(['1:budget']);
    expect(store.snapshot().blocks[0]?.[0]?.keywords).toEqual(['budget']);
    // New keywords (configure) re-highlight the lines already shown.
    store.setKeywords(['fine']);
    expect(store.snapshot().blocks[0]?.[0]?.keywords).toEqual(['fine']);
    expect(store.snapshot().alerts.map((a) => a.keyword)).toEqual(['budget', 'fine']);
    client.close();
  });

  it('shows a provisional alert at once, keeps it when its final confirms it, and removes it when withdrawn', async () => {
    const { store, socket, client } = await connectedStore(['budget']);
    const notified: string[] = [];
    store.onAlert((a) => notified.push(`${a.key}:${a.state}`));
    const alert = (seq: number, text: string, state: 'provisional' | 'confirmed' | 'withdrawn') =>
      socket.deliver({
        type: 'keyword_alert',
        meetingId: MEETING,
        keyword: 'budget',
        segmentId: `${MEETING}:${seq}`,
        seq,
        text,
        timestamp: new Date().toISOString(),
        alertId: `${MEETING}:${seq}:budget:0`,
        occurrence: 0,
        state,
      });
    socket.deliver(transcript(1, 'the budget', false));
    alert(1, 'the budget', 'provisional');
    socket.deliver(transcript(2, 'a budge', false));
    alert(2, 'a budget', 'provisional');
    expect(store.snapshot().alerts.map((a) => `${a.key}:${a.state}`)).toEqual([
      '1:budget:0:provisional',
      '2:budget:0:provisional',
    ]);
    // Line 1's final keeps the keyword; line 2's final does not.
    socket.deliver(transcript(1, 'the budget is fine', true));
    alert(1, 'the budget is fine', 'confirmed');
    socket.deliver(transcript(2, 'a badge', true));
    alert(2, 'a badge', 'withdrawn');
    expect(store.snapshot().alerts.map((a) => `${a.key}:${a.state}:${a.text}`)).toEqual([
      '1:budget:0:confirmed:the budget is fine',
    ]);
    // Each occurrence notified once, when it was first raised.
    expect(notified).toEqual(['1:budget:0:provisional', '2:budget:0:provisional']);
    client.close();
  });

  it('keeps the newest rolling briefing and the per-hop latency of the newest line', async () => {
    const { store, socket, client } = await connectedStore();
    const briefing = (coversSeq: number, decisions: string[]) => ({
      meetingId: MEETING,
      coversSeq,
      engine: 'embedded-extractive',
      generatedAt: new Date().toISOString(),
      updates: coversSeq,
      summary: `up to ${coversSeq}`,
      keyPoints: [],
      decisions,
      actionItems: [],
      openQuestions: [],
      blockers: [],
      topics: [],
    });
    const delta = { keyPoints: [], actionItems: [], openQuestions: [], blockers: [], topics: [] };
    socket.deliver({
      type: 'briefing_update',
      meetingId: MEETING,
      briefing: briefing(5, ['ship on Friday']),
      added: { ...delta, decisions: ['ship on Friday'] },
    });
    // An older update arriving late does not replace a newer one.
    socket.deliver({
      type: 'briefing_update',
      meetingId: MEETING,
      briefing: briefing(3, []),
      added: { ...delta, decisions: [] },
    });
    expect(store.snapshot().briefing?.coversSeq).toBe(5);
    expect(store.snapshot().briefingAdded?.decisions).toEqual(['ship on Friday']);

    const now = Date.now();
    socket.deliver({
      type: 'transcript',
      meetingId: MEETING,
      transcript: {
        ...(transcript(6, 'timed line', true) as Extract<ServerMessage, { type: 'transcript' }>).transcript,
        timing: {
          audioEndAt: now - 900,
          resultAt: now - 400,
          publishedAt: now - 398,
          fanoutAt: now - 380,
          sentAt: now - 370,
        },
      },
    });
    const hops = store.snapshot().latency?.hops;
    expect(hops).toMatchObject({ speechMs: 500, gatewayMs: 2, queueMs: 18, fanoutMs: 10, totalMs: 530 });
    expect(hops?.deliveryMs).toBeGreaterThanOrEqual(370);
    client.close();
  });

  it('follows status events, drops interims when the meeting ends, and shows a reconnect countdown', async () => {
    const { store, socket, client } = await connectedStore();
    expect(store.snapshot().connection.kind).toBe('connected');
    socket.deliver(transcript(4, 'half a sen', false));
    socket.deliver({
      type: 'status',
      meetingId: MEETING,
      status: 'ended',
      timestamp: new Date().toISOString(),
    });
    expect(store.snapshot().status).toBe('ended');
    expect(store.snapshot().interims).toEqual([]);
    socket.close(1006, 'gone');
    const connection = store.snapshot().connection;
    expect(connection.kind).toBe('reconnecting');
    expect(connection.kind === 'reconnecting' && connection.at).toBeGreaterThan(Date.now());
    client.close();
  });

  it('keeps alerts in line order and counts per keyword as alerts arrive out of order, are confirmed and are withdrawn', async () => {
    const { store, socket, client } = await connectedStore(['budget', 'launch']);
    const alert = (seq: number, keyword: string, state: 'provisional' | 'confirmed' | 'withdrawn') =>
      socket.deliver({
        type: 'keyword_alert',
        meetingId: MEETING,
        keyword,
        segmentId: `${MEETING}:${seq}`,
        seq,
        text: `${keyword} ${seq}`,
        timestamp: new Date().toISOString(),
        alertId: `${MEETING}:${seq}:${keyword}:0`,
        occurrence: 0,
        state,
      });
    alert(5, 'budget', 'provisional');
    alert(2, 'launch', 'provisional');
    alert(9, 'budget', 'provisional');
    alert(2, 'budget', 'provisional');
    const before = store.snapshot();
    expect(before.alerts.map((a) => `${a.seq}:${a.keyword}`)).toEqual([
      '2:launch',
      '2:budget',
      '5:budget',
      '9:budget',
    ]);
    expect([...before.alertCounts]).toEqual([
      ['budget', 3],
      ['launch', 1],
    ]);
    alert(5, 'budget', 'confirmed');
    alert(9, 'budget', 'withdrawn');
    alert(2, 'launch', 'withdrawn');
    const after = store.snapshot();
    expect(after.alerts.map((a) => `${a.seq}:${a.keyword}:${a.state}`)).toEqual([
      '2:budget:provisional',
      '5:budget:confirmed',
    ]);
    expect([...after.alertCounts]).toEqual([['budget', 2]]);
    // A snapshot a component already holds never changes under it.
    expect(before.alerts).toHaveLength(4);
    expect(before.alerts[2]?.state).toBe('provisional');
    expect(before.alertCounts.get('budget')).toBe(3);
    client.close();
  });
  it('lists the newest 50 to 100 alerts, appending new ones so a listed alert stays put, with the total over all', async () => {
    const { store, socket, client } = await connectedStore(['budget']);
    const alert = (seq: number) =>
      socket.deliver({
        type: 'keyword_alert',
        meetingId: MEETING,
        keyword: 'budget',
        segmentId: `${MEETING}:${seq}`,
        seq,
        text: `budget ${seq}`,
        timestamp: new Date().toISOString(),
        alertId: `${MEETING}:${seq}:budget:0`,
        occurrence: 0,
        state: 'confirmed',
      });
    for (let seq = 1; seq <= 2 * ALERT_BLOCK; seq++) alert(seq * 2);
    const full = store.snapshot();
    expect(full.alertTotal).toBe(2 * ALERT_BLOCK);
    expect(full.recentAlerts).toHaveLength(2 * ALERT_BLOCK);
    alert(2 * ALERT_BLOCK * 2 + 2); // a third block starts: the oldest block leaves the list
    const next = store.snapshot();
    expect(next.recentAlerts.map((a) => a.seq)[0]).toBe(ALERT_BLOCK * 2 + 2);
    expect(next.recentAlerts).toHaveLength(ALERT_BLOCK + 1);
    alert(2 * ALERT_BLOCK * 2 + 4);
    expect(store.snapshot().recentAlerts[0]).toBe(next.recentAlerts[0]); // appended, nothing moved
    // One out of order (line 3, in the first block) and its withdrawal: order and total kept.
    alert(3);
    expect(
      store
        .snapshot()
        .alerts.slice(0, 3)
        .map((a) => a.seq),
    ).toEqual([2, 3, 4]);
    expect(store.snapshot().alertTotal).toBe(2 * ALERT_BLOCK + 3);
    socket.deliver({
      type: 'keyword_alert',
      meetingId: MEETING,
      keyword: 'budget',
      segmentId: `${MEETING}:3`,
      seq: 3,
      text: 'budge 3',
      timestamp: new Date().toISOString(),
      alertId: `${MEETING}:3:budget:0`,
      occurrence: 0,
      state: 'withdrawn',
    });
    expect(
      store
        .snapshot()
        .alerts.slice(0, 3)
        .map((a) => a.seq),
    ).toEqual([2, 4, 6]);
    expect(store.snapshot().alertTotal).toBe(2 * ALERT_BLOCK + 2);
    expect(store.snapshot().alerts).toHaveLength(2 * ALERT_BLOCK + 2);
    client.close();
  });
});

describe('the transcript window', () => {
  const block = (from: number, count: number): Line[] =>
    Array.from({ length: count }, (_, i) => ({
      seq: from + i,
      speaker: 'Alice',
      text: `line ${from + i}`,
      startMs: (from + i) * 1000,
      final: true,
      keywords: [],
    }));

  it('renders the blocks that overlap the view, and none when the view is past them all', () => {
    const heights = [1000, 500, 2000, 1000];
    expect(shownBlocks(heights, { from: -400, to: 200 })).toEqual({ from: 0, to: 0 });
    expect(shownBlocks(heights, { from: 900, to: 1600 })).toEqual({ from: 0, to: 2 });
    expect(shownBlocks(heights, { from: 1500, to: 3500 })).toEqual({ from: 2, to: 2 });
    expect(shownBlocks(heights, { from: 3400, to: 9000 })).toEqual({ from: 2, to: 3 });
    expect(shownBlocks(heights, { from: 4500, to: 9000 })).toEqual({ from: 0, to: -1 });
    expect(shownBlocks([], { from: 0, to: 100 })).toEqual({ from: 0, to: -1 });
  });

  it('finds the block holding a line, and none for a line it does not hold', () => {
    // Seqs have gaps (a line can be missing from a replay): 1–100, 150–249, 250–259.
    const blocks = [block(1, 100), block(150, 100), block(250, 10)];
    expect(blockOf(blocks, 1)).toBe(0);
    expect(blockOf(blocks, 100)).toBe(0);
    expect(blockOf(blocks, 150)).toBe(1);
    expect(blockOf(blocks, 249)).toBe(1);
    expect(blockOf(blocks, 259)).toBe(2);
    expect(blockOf(blocks, 120)).toBeUndefined();
    expect(blockOf(blocks, 0)).toBeUndefined();
    expect(blockOf(blocks, 260)).toBeUndefined();
    expect(blockOf([], 1)).toBeUndefined();
  });
});
