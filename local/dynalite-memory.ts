/**
 * Two ways dynalite 4.0.0's in-memory store (memory-level 3 on abstract-level 3) used far more
 * memory than the data it holds, both corrected here in local mode only (docs/local-mode-aws.md):
 *
 * - **Query and Scan never closed their store iterators.** dynalite wraps each iterator in a Node
 *   stream whose `destroy()` calls `iterator.return()`, a method these iterators lack (they have
 *   `close()`); a stream read to its end calls nothing at all. Every Query left an open iterator
 *   in the store's resource set for good, each keeping a snapshot of the whole table tree as it
 *   was (every item version written since stays reachable) and the 8 KB Buffer-pool slab its key
 *   bound was cut from. In the soak that was ~90 % of the stack process's memory growth
 *   (docs/benchmarks.md, soak section): ~50 iterators a second, ~9 KB each. `closeDynaliteIterators`
 *   gives the iterators the `return()` dynalite calls, so the streams' destroy (on an early stop,
 *   and, Node's autoDestroy, after their end) closes them.
 * - **Every stored key and value kept an 8 KB slab.** The store encodes each key and JSON value
 *   with `Buffer.from(string)`, which cuts small Buffers from Node's shared 8 KB pool; a kept
 *   Buffer keeps its whole slab, and between two writes the process fills the rest of it with
 *   other (dead) data, so an item of 300 bytes held ~8 KB. `storeDynaliteItemsCompactly` copies a
 *   pooled key or value into a Buffer of its own size before the store keeps it.
 *
 * Both patch the classes dynalite's store uses (resolved from dynalite itself), once per process;
 * each throws if the library's layout changed rather than silently doing nothing.
 */
import { dirname } from 'node:path';

interface IteratorPrototype {
  close(): Promise<void>;
  return?: () => Promise<{ done: true; value: undefined }>;
}

interface StorePrototype {
  _put(key: unknown, value: unknown, options: unknown): Promise<void>;
  _batch(operations: Array<{ type: string; key: unknown; value?: unknown }>, options: unknown): Promise<void>;
}

const resolveFrom = (id: string, file: string) => require.resolve(id, { paths: [dirname(file)] });

/** memory-level and abstract-level as dynalite resolves them (not whichever ones we would). */
export function dynalitesStore(): {
  AbstractIterator: { prototype: object };
  AbstractLevel: { prototype: object };
  MemoryLevel: { prototype: object };
} {
  const memoryLevel = resolveFrom('memory-level', require.resolve('dynalite'));
  const { AbstractIterator, AbstractLevel } = require(resolveFrom('abstract-level', memoryLevel));
  const { MemoryLevel } = require(memoryLevel);
  return { AbstractIterator, AbstractLevel, MemoryLevel };
}

export function closeDynaliteIterators(): void {
  // Keys, values and entries iterators all extend this common base.
  const common = Object.getPrototypeOf(dynalitesStore().AbstractIterator.prototype) as IteratorPrototype;
  if (typeof common.close !== 'function') {
    throw new Error('abstract-level layout changed: iterators have no close(); see local/dynalite-memory.ts');
  }
  if (common.return) return;
  common.return = async function (this: IteratorPrototype) {
    await this.close();
    return { done: true, value: undefined };
  };
}

const compacted = Symbol('parley.compactStore');

/** A Buffer that shares its memory with others (a pool slice) → a copy of its own size. */
function own(value: unknown): unknown {
  if (!Buffer.isBuffer(value) || value.byteLength === value.buffer.byteLength) return value;
  const copy = Buffer.allocUnsafeSlow(value.byteLength);
  value.copy(copy);
  return copy;
}

export function storeDynaliteItemsCompactly(): void {
  const store = dynalitesStore().MemoryLevel.prototype as StorePrototype & { [compacted]?: true };
  if (typeof store._put !== 'function' || typeof store._batch !== 'function') {
    throw new Error('memory-level layout changed: no _put/_batch; see local/dynalite-memory.ts');
  }
  if (store[compacted]) return;
  store[compacted] = true;
  const { _put: put, _batch: batch } = store;
  store._put = function (this: StorePrototype, key, value, options) {
    return put.call(this, own(key), own(value), options);
  };
  store._batch = function (this: StorePrototype, operations, options) {
    const copies = operations.map((op) => ({ ...op, key: own(op.key), value: own(op.value) }));
    return batch.call(this, copies, options);
  };
}

/** Both corrections (local/aws-emulators.ts applies them before starting dynalite). */
export function fixDynaliteMemory(): void {
  closeDynaliteIterators();
  storeDynaliteItemsCompactly();
}
