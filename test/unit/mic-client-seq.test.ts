/**
 * The microphone client never reuses a seq for different audio after a reload, whatever moment
 * the tab died at: the chunk and the stream's next seq are journaled in one IndexedDB
 * transaction, a journal found with a chunk past its saved next seq continues after the chunk,
 * and a gateway holding seqs the journal lost moves the next seq past them.
 */
import 'fake-indexeddb/auto';
import { MIC_LIMITS } from '../../core/audio/chunk-protocol';
import { MicClient, type StoredChunk, type WebSocketLike } from '../../core/audio/mic-client';
import { IndexedDbJournal, MemoryJournal } from '../../core/audio/mic-journal';

const SESSION = 'ab'.repeat(16);
const CHUNK = 8_000;

/** A socket the test answers for the gateway; it records the seqs of the chunks sent. */
class GatewaySocket implements WebSocketLike {
  binaryType = 'arraybuffer';
  readyState = 1;
  bufferedAmount = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sentSeqs: number[] = [];
  send(data: Uint8Array | string): void {
    if (typeof data !== 'string') this.sentSeqs.push(new DataView(data.buffer, data.byteOffset).getUint32(1));
  }
  close(): void {
    this.readyState = 3;
  }
  ready(lastSeq: number): void {
    this.onmessage?.({
      data: JSON.stringify({ type: 'ready', sessionId: SESSION, lastSeq, state: 'live', limits: MIC_LIMITS }),
    });
  }
}

function client(journal: MemoryJournal | IndexedDbJournal) {
  const sockets: GatewaySocket[] = [];
  const mic = new MicClient({
    streamUrl: 'ws://gateway.invalid/browser/m1',
    meetingId: 'm1',
    token: () => 'token',
    journal,
    connect: () => {
      const s = new GatewaySocket();
      sockets.push(s);
      return s;
    },
  });
  return { mic, sockets };
}

const pcm = (fill: number) => new Uint8Array(CHUNK).fill(fill);
const seqsIn = async (j: { after(m: string, s: number): Promise<StoredChunk[]> }) =>
  (await j.after('m1', 0)).map((c) => c.seq);

async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the microphone client after a reload', () => {
  it('continues after a journaled chunk whose next seq was not saved (the tab died between the two writes)', async () => {
    // A journal without the one-transaction write, left as a crash between put and setSession.
    const journal = new MemoryJournal();
    await journal.setSession('m1', { sessionId: SESSION, nextSeq: 3 });
    for (const seq of [1, 2, 3]) await journal.put('m1', { seq, pcm: pcm(seq) });
    const { mic, sockets } = client(journal);
    await mic.start();
    sockets[0]?.ready(0);
    await mic.push(pcm(4));
    expect(await seqsIn(journal)).toEqual([1, 2, 3, 4]);
    // Chunk 3 keeps its own audio; the new audio is chunk 4.
    const chunks = await journal.after('m1', 0);
    expect(chunks[2]?.pcm[0]).toBe(3);
    expect(chunks[3]?.pcm[0]).toBe(4);
    await waitFor('all four sent', () => sockets[0]?.sentSeqs.length === 4);
    expect(sockets[0]?.sentSeqs).toEqual([1, 2, 3, 4]);
    mic.close();
  });

  it('moves past seqs the gateway holds that the journal lost', async () => {
    const journal = new MemoryJournal();
    await journal.setSession('m1', { sessionId: SESSION, nextSeq: 2 });
    const { mic, sockets } = client(journal);
    await mic.start();
    sockets[0]?.ready(5);
    await waitFor('the ready handled', async () => (await journal.session('m1'))?.nextSeq === 6);
    await mic.push(pcm(6));
    await waitFor('the chunk sent', () => sockets[0]?.sentSeqs.length === 1);
    expect(sockets[0]?.sentSeqs).toEqual([6]);
    mic.close();
  });

  it('journals a chunk and the next seq in one IndexedDB transaction', async () => {
    const journal = new IndexedDbJournal(indexedDB, 'parley-mic-unit');
    await journal.putWithSession('m1', { seq: 7, pcm: pcm(7) }, { sessionId: SESSION, nextSeq: 8 });
    expect(await journal.session('m1')).toEqual({ sessionId: SESSION, nextSeq: 8 });
    expect(await seqsIn(journal)).toEqual([7]);
    // A client started on it cuts the next chunk as 8.
    const { mic, sockets } = client(journal);
    await mic.start();
    sockets[0]?.ready(6);
    await mic.push(pcm(8));
    expect(await seqsIn(journal)).toEqual([7, 8]);
    mic.close();
    await journal.close();
  });
});
