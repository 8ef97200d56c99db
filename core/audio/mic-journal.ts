/**
 * ChunkJournal implementations for the microphone client (core/audio/mic-client.ts):
 * IndexedDB in the browser (survives a reload or a crashed tab), memory for Node tools.
 */
import type { ChunkJournal, StoredChunk } from './mic-client';

const DB_VERSION = 1;
const CHUNKS = 'chunks';
const STREAMS = 'streams';

/**
 * Unacknowledged chunks in IndexedDB: object store `chunks` keyed by [meetingId, seq], and
 * `streams` keyed by meetingId ({ sessionId, nextSeq }).
 */
export class IndexedDbJournal implements ChunkJournal {
  private db: Promise<IDBDatabase> | undefined;

  constructor(
    private readonly factory: IDBFactory = globalThis.indexedDB,
    private readonly name = 'parley-mic',
  ) {}

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const request = this.factory.open(this.name, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(CHUNKS)) db.createObjectStore(CHUNKS);
        if (!db.objectStoreNames.contains(STREAMS)) db.createObjectStore(STREAMS);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return this.db;
  }

  private async run<T>(
    stores: string[],
    mode: IDBTransactionMode,
    fn: (tx: IDBTransaction) => IDBRequest<T> | undefined,
  ): Promise<T | undefined> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(stores, mode);
      const request = fn(tx);
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  async session(meetingId: string): Promise<{ sessionId: string; nextSeq: number } | undefined> {
    return (await this.run([STREAMS], 'readonly', (tx) => tx.objectStore(STREAMS).get(meetingId))) as
      | { sessionId: string; nextSeq: number }
      | undefined;
  }

  async setSession(meetingId: string, value: { sessionId: string; nextSeq: number }): Promise<void> {
    await this.run([STREAMS], 'readwrite', (tx) => tx.objectStore(STREAMS).put(value, meetingId));
  }

  async put(meetingId: string, chunk: StoredChunk): Promise<void> {
    await this.run([CHUNKS], 'readwrite', (tx) =>
      tx.objectStore(CHUNKS).put(chunk.pcm, [meetingId, chunk.seq]),
    );
  }

  async putWithSession(
    meetingId: string,
    chunk: StoredChunk,
    session: { sessionId: string; nextSeq: number },
  ): Promise<void> {
    await this.run([CHUNKS, STREAMS], 'readwrite', (tx) => {
      tx.objectStore(CHUNKS).put(chunk.pcm, [meetingId, chunk.seq]);
      return tx.objectStore(STREAMS).put(session, meetingId);
    });
  }

  async after(meetingId: string, afterSeq: number): Promise<StoredChunk[]> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const out: StoredChunk[] = [];
      const tx = db.transaction([CHUNKS], 'readonly');
      const range = IDBKeyRange.bound(
        [meetingId, afterSeq],
        [meetingId, Number.MAX_SAFE_INTEGER],
        true,
        false,
      );
      const request = tx.objectStore(CHUNKS).openCursor(range);
      request.onsuccess = () => {
        const cursor = request.result;
        if (!cursor) return;
        const key = cursor.key as [string, number];
        out.push({ seq: key[1], pcm: new Uint8Array(cursor.value as ArrayBufferLike) });
        cursor.continue();
      };
      tx.oncomplete = () => resolve(out);
      tx.onerror = () => reject(tx.error);
    });
  }

  async ackUpTo(meetingId: string, seq: number): Promise<void> {
    await this.run([CHUNKS], 'readwrite', (tx) => {
      tx.objectStore(CHUNKS).delete(IDBKeyRange.bound([meetingId, 0], [meetingId, seq]));
      return undefined;
    });
  }

  async clear(meetingId: string): Promise<void> {
    await this.run([CHUNKS, STREAMS], 'readwrite', (tx) => {
      tx.objectStore(CHUNKS).delete(IDBKeyRange.bound([meetingId, 0], [meetingId, Number.MAX_SAFE_INTEGER]));
      tx.objectStore(STREAMS).delete(meetingId);
      return undefined;
    });
  }

  /** Close the database (tests reopen it to simulate a reloaded page). */
  async close(): Promise<void> {
    if (this.db) (await this.db).close();
    this.db = undefined;
  }
}

/** In memory: for Node tools and benchmarks (nothing survives the process). */
export class MemoryJournal implements ChunkJournal {
  private readonly streams = new Map<string, { sessionId: string; nextSeq: number }>();
  private readonly chunks = new Map<string, Map<number, Uint8Array>>();

  async session(meetingId: string) {
    return this.streams.get(meetingId);
  }
  async setSession(meetingId: string, value: { sessionId: string; nextSeq: number }) {
    this.streams.set(meetingId, { ...value });
  }
  async put(meetingId: string, chunk: StoredChunk) {
    const m = this.chunks.get(meetingId) ?? new Map<number, Uint8Array>();
    this.chunks.set(meetingId, m);
    m.set(chunk.seq, chunk.pcm);
  }
  async after(meetingId: string, afterSeq: number) {
    const m = this.chunks.get(meetingId) ?? new Map<number, Uint8Array>();
    return [...m.entries()]
      .filter(([seq]) => seq > afterSeq)
      .sort((a, b) => a[0] - b[0])
      .map(([seq, pcm]) => ({ seq, pcm }));
  }
  async ackUpTo(meetingId: string, seq: number) {
    const m = this.chunks.get(meetingId);
    if (m) for (const k of [...m.keys()]) if (k <= seq) m.delete(k);
  }
  async clear(meetingId: string) {
    this.chunks.delete(meetingId);
    this.streams.delete(meetingId);
  }
}
