/**
 * dynalite 4.0.0 never closes the LevelDB iterators behind its Query and Scan (and ListTables).
 *
 * It reads through `abstract-level` 3 iterators wrapped in Node streams whose `destroy()` calls
 * `iterator.return()`, a method those iterators do not have (they have `close()`); a stream read
 * to its end calls nothing at all. So every Query left an open iterator registered in the store's
 * resource set for good, and with memory-level each one keeps a snapshot of the whole table tree
 * as it was (every item version written since stays reachable) plus the 8 KB Buffer-pool slab its
 * key bound was cut from. In the soak that was ~90 % of the stack process's memory growth
 * (docs/benchmarks.md, soak section): ~50 iterators a second, ~9 KB each, for the life of the
 * process.
 *
 * `closeDynaliteIterators` gives the iterators the `return()` dynalite calls, closing them: the
 * streams' destroy (on an early stop, and — Node's autoDestroy — after their end) then releases
 * them. Applied once per process, to the `abstract-level` dynalite's stores use; idempotent.
 */
import { dirname } from 'node:path';

interface IteratorPrototype {
  close(): Promise<void>;
  return?: () => Promise<{ done: true; value: undefined }>;
}

/** The `abstract-level` that dynalite's in-memory store is built on (not whichever one we would resolve). */
export function dynalitesAbstractLevel(): {
  AbstractIterator: { prototype: object };
  AbstractLevel: { prototype: object };
} {
  const from = (id: string, dir: string) => require.resolve(id, { paths: [dir] });
  const memoryLevel = from('memory-level', dirname(require.resolve('dynalite')));
  return require(from('abstract-level', dirname(memoryLevel)));
}

export function closeDynaliteIterators(): void {
  const { AbstractIterator } = dynalitesAbstractLevel();
  // Keys, values and entries iterators all extend this common base.
  const common = Object.getPrototypeOf(AbstractIterator.prototype) as IteratorPrototype;
  if (typeof common.close !== 'function') {
    throw new Error(
      'abstract-level layout changed: iterators have no close(); see local/dynalite-iterators.ts',
    );
  }
  if (common.return) return;
  common.return = async function (this: IteratorPrototype) {
    await this.close();
    return { done: true, value: undefined };
  };
}
