/**
 * What grew between two heap snapshots of one process (e.g. `npm run bench:soak -- --heap-snapshots DIR`):
 *
 *   npx tsx bench/heap-diff.ts EARLIER.heapsnapshot LATER.heapsnapshot [--top 25]
 *
 * Prints (1) the size and count per class in both and the difference, (2) the objects of the later
 * snapshot that the earlier one lacks (allocated in between and still alive) per class, and
 * (3) those new objects grouped by where they hang: walking each one up its shortest retainer
 * path to the first object that already existed (the "anchor": a Map, a store, a queue…), with
 * that anchor's own retainer path, so the growth is attributed to the structure that keeps it.
 * ArrayBuffer contents appear as "(native) system / JSArrayBufferData" with their byte length, so
 * `external` memory is attributed the same way.
 */
import { markdownTable, numArg } from './lib-bench';
import { type HeapSnapshot, readHeapSnapshot } from './lib-heap-snapshot';

const TOP = numArg('top', 25);
const MB = 1024 * 1024;

interface Tally {
  count: number;
  size: number;
}

function add(map: Map<string, Tally>, key: string, size: number): Tally {
  const t = map.get(key) ?? { count: 0, size: 0 };
  t.count++;
  t.size += size;
  map.set(key, t);
  return t;
}

function byClass(s: HeapSnapshot): Map<string, Tally> {
  const out = new Map<string, Tally>();
  for (let n = 0; n < s.nodeCount; n++) add(out, s.className(n), s.selfSize[n] as number);
  return out;
}

const mb = (bytes: number) => (bytes / MB).toFixed(2);

function main(): void {
  const files = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--top');
  if (files.length !== 2) throw new TypeError('usage: heap-diff.ts EARLIER.heapsnapshot LATER.heapsnapshot');
  const [a, b] = files.map((f) => readHeapSnapshot(f)) as [HeapSnapshot, HeapSnapshot];
  const total = (s: HeapSnapshot) => s.selfSize.reduce((x, y) => x + y, 0);
  console.log(`# heap diff\n\n${files[0]}: ${mb(total(a))} MB in ${a.nodeCount} nodes`);
  console.log(`${files[1]}: ${mb(total(b))} MB in ${b.nodeCount} nodes\n`);

  const ca = byClass(a);
  const cb = byClass(b);
  const classes = [...new Set([...ca.keys(), ...cb.keys()])]
    .map((k) => ({ k, a: ca.get(k) ?? { count: 0, size: 0 }, b: cb.get(k) ?? { count: 0, size: 0 } }))
    .sort((x, y) => y.b.size - y.a.size - (x.b.size - x.a.size))
    .slice(0, TOP);
  console.log('## per class (self size)\n');
  console.log(
    markdownTable(
      ['class', 'count before', 'count after', 'MB before', 'MB after', 'Δ MB'],
      classes.map((c) => [c.k, c.a.count, c.b.count, mb(c.a.size), mb(c.b.size), mb(c.b.size - c.a.size)]),
    ),
  );

  const old = new Set<number>(a.ids);
  const isNew = new Uint8Array(b.nodeCount);
  const fresh = new Map<string, Tally>();
  for (let n = 0; n < b.nodeCount; n++) {
    if (old.has(b.ids[n] as number)) continue;
    isNew[n] = 1;
    add(fresh, b.className(n), b.selfSize[n] as number);
  }
  console.log('\n## new objects (in the later snapshot only) per class\n');
  console.log(
    markdownTable(
      ['class', 'count', 'MB'],
      [...fresh.entries()]
        .sort((x, y) => y[1].size - x[1].size)
        .slice(0, TOP)
        .map(([k, t]) => [k, t.count, mb(t.size)]),
    ),
  );

  // Each new object's anchor: the first already-existing object up its shortest retainer path.
  const anchorKey: (string | undefined)[] = new Array(b.nodeCount);
  const example = new Map<string, number>();
  /** Per anchor key: one new object of each class, to show how it hangs below the anchor. */
  const sample = new Map<string, number>();
  const anchors = new Map<string, Tally>();
  const classesUnder = new Map<string, Map<string, Tally>>();
  for (let n = 0; n < b.nodeCount; n++) {
    if (!isNew[n]) continue;
    const chain: number[] = [];
    let m = n;
    let key: string | undefined;
    while (m >= 0 && isNew[m] && key === undefined) {
      key = anchorKey[m];
      if (key === undefined) chain.push(m);
      const p = b.parent[m] as number;
      if (key === undefined && (p < 0 || !isNew[p])) {
        key = p < 0 ? '(unreachable from the root)' : `${b.className(p)}.${b.parentEdge[m]}`;
        if (p >= 0 && !example.has(key)) example.set(key, p);
      }
      m = p;
    }
    const k = key ?? '(unreachable from the root)';
    for (const c of chain) anchorKey[c] = k;
    add(anchors, k, b.selfSize[n] as number);
    const under = classesUnder.get(k) ?? new Map<string, Tally>();
    add(under, b.className(n), b.selfSize[n] as number);
    if (!sample.has(`${k}\0${b.className(n)}`)) sample.set(`${k}\0${b.className(n)}`, n);
    classesUnder.set(k, under);
  }
  console.log('\n## new objects by the existing object that retains them (anchor.edge)\n');
  for (const [k, t] of [...anchors.entries()].sort((x, y) => y[1].size - x[1].size).slice(0, TOP)) {
    const ex = example.get(k);
    const top = [...(classesUnder.get(k)?.entries() ?? [])]
      .sort((x, y) => y[1].size - x[1].size)
      .slice(0, 4)
      .map(([c, u]) => `${c} ${u.count} / ${mb(u.size)} MB`)
      .join('; ');
    console.log(`- **${mb(t.size)} MB** in ${t.count} objects under \`${k}\`: ${top}`);
    if (ex !== undefined) console.log(`  - anchor's path: ${b.path(ex, 14)}`);
    const biggest = [...(classesUnder.get(k)?.entries() ?? [])].sort((x, y) => y[1].size - x[1].size)[0];
    const one = biggest && sample.get(`${k}\0${biggest[0]}`);
    if (one !== undefined) console.log(`  - one new ${biggest?.[0]}: … → ${b.path(one, 8)}`);
  }
}

main();
