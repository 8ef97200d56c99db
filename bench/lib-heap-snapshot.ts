/**
 * A V8 `.heapsnapshot` (what `v8.writeHeapSnapshot()` writes) read into flat typed arrays, with
 * what bench/heap-diff.ts needs: a class name per node, each node's retainer on a shortest path
 * from the root (as DevTools' "Retainers" shows first), and that path printed.
 *
 * Node ids are stable across the snapshots of one process, so the nodes of a later snapshot
 * whose id the earlier one lacks are the objects allocated in between and still alive.
 */
import { readFileSync } from 'node:fs';

interface RawSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapSnapshot {
  nodeCount: number;
  /** Per node: its V8 id (stable across snapshots of one process). */
  ids: Float64Array;
  selfSize: Float64Array;
  /** Per node: "(type) name" for non-objects, the constructor's name for objects. */
  className(node: number): string;
  /** Per node: the retaining node on a shortest strong path from the root (-1 for the root or unreachable). */
  parent: Int32Array;
  /** Per node: the name of the edge from `parent` to it. */
  parentEdge: string[];
  /** "Class.edge → Class.edge → …" from the root's side down to `node`, at most `hops` steps. */
  path(node: number, hops: number): string;
}

/** Objects, closures and arrays keep their constructor name; system and native parts say what they are. */
function classOf(type: string, name: string): string {
  if (type === 'object') return name;
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return '(string)';
  if (type === 'closure') return `(closure) ${name}`;
  if (type === 'native') return `(native) ${name}`;
  if (type === 'hidden' || type === 'code' || type === 'array' || type === 'synthetic')
    return `(${type}) ${name.slice(0, 60)}`;
  return `(${type})`;
}

export function readHeapSnapshot(file: string): HeapSnapshot {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot;
  const { meta } = raw.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [nType, nName, nId, nSize, nEdges] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const nodes = raw.nodes;
  const edges = raw.edges;
  const strings = raw.strings;
  const nodeCount = nodes.length / nf;
  const ids = new Float64Array(nodeCount);
  const selfSize = new Float64Array(nodeCount);
  const firstEdge = new Int32Array(nodeCount + 1);
  for (let i = 0, e = 0; i < nodeCount; i++) {
    ids[i] = nodes[i * nf + nId] as number;
    selfSize[i] = nodes[i * nf + nSize] as number;
    firstEdge[i] = e;
    e += (nodes[i * nf + nEdges] as number) * ef;
    firstEdge[i + 1] = e;
  }
  const edgeName = (e: number): string => {
    const type = edgeTypes[edges[e + eType] as number];
    const n = edges[e + eName] as number;
    return type === 'element' || type === 'hidden' ? `[${n}]` : (strings[n] ?? '?');
  };
  // Breadth-first from the root over strong edges: each node's first retainer is on a shortest path.
  const parent = new Int32Array(nodeCount).fill(-1);
  const parentEdge: string[] = new Array(nodeCount);
  const seen = new Uint8Array(nodeCount);
  const queue = new Int32Array(nodeCount);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  seen[0] = 1;
  while (head < tail) {
    const from = queue[head++] as number;
    for (let e = firstEdge[from] as number; e < (firstEdge[from + 1] as number); e += ef) {
      const type = edgeTypes[edges[e + eType] as number];
      if (type === 'weak' || type === 'shortcut') continue;
      const to = (edges[e + eTo] as number) / nf;
      if (seen[to]) continue;
      seen[to] = 1;
      parent[to] = from;
      parentEdge[to] = edgeName(e);
      queue[tail++] = to;
    }
  }
  const className = (node: number): string =>
    classOf(
      nodeTypes[nodes[node * nf + nType] as number] ?? '?',
      strings[nodes[node * nf + nName] as number] ?? '?',
    );
  const path = (node: number, hops: number): string => {
    const steps: string[] = [];
    for (let n = node; n > 0 && steps.length < hops; n = parent[n] as number) {
      const p = parent[n] as number;
      if (p < 0) break;
      steps.unshift(`${className(p).slice(0, 40)}.${parentEdge[n]}`);
    }
    return steps.join(' → ');
  };
  return { nodeCount, ids, selfSize, className, parent, parentEdge, path };
}
