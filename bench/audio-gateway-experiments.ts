/**
 * Candidate optimisations of the audio gateway's hot path, applied at run time inside the bench's
 * process under test (`--experiment a,b` on bench/audio-gateway.ts). Nothing in core/ changes:
 * these exist to measure a change before anyone makes it. Must run before the gateway modules load.
 *
 * - `lean-base64`: decodeStrictBase64 without its regular expression. The re-encode comparison
 *   alone already rejects everything the expression rejects (Node's encoder only writes canonical,
 *   padded, standard-alphabet base64, so `decode(text).toString('base64') === text` holds only for
 *   such text); the expression is a second, slower pass over the same 856 characters.
 * - `block-ring`: AudioRing copies each 640-byte frame into per-stream 16 KB blocks (recycled)
 *   instead of keeping the decoded Buffer. The decoded Buffers then die young; before, each one
 *   lived until the next final (seconds), survived scavenges, was promoted, and pinned its 8 KB
 *   pool slab. Applied since (core/audio/audio-ring.ts, 8 KB blocks shared by every ring); kept
 *   here as the record of what was measured. `lean-base64` is applied too (core/recall/base64.ts).
 */
import { AudioRing } from '../core/audio/audio-ring';
import { bytesToMs, msToBytes } from '../core/audio/pcm';

export const EXPERIMENTS = ['lean-base64', 'block-ring'] as const;
export type Experiment = (typeof EXPERIMENTS)[number];

/** The candidate decodeStrictBase64: one decode, one re-encode, one comparison. */
export function leanDecodeStrictBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

const BLOCK_BYTES = 16_000; // 0.5 s of 16 kHz S16LE

/** Same contract as AudioRing (startMs, endMs, push, releaseUntil, snapshot), block storage. */
class BlockRingState {
  blocks: Buffer[] = [];
  spare: Buffer[] = [];
  /** Stream byte of blocks[0][0]. */
  firstBlockByte = 0;
  startByte = 0;
  endByte = 0;

  constructor(readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const blockIndex = Math.floor((this.endByte - this.firstBlockByte) / BLOCK_BYTES);
      while (this.blocks.length <= blockIndex)
        this.blocks.push(this.spare.pop() ?? Buffer.allocUnsafeSlow(BLOCK_BYTES));
      const offset = (this.endByte - this.firstBlockByte) % BLOCK_BYTES;
      const n = Math.min(BLOCK_BYTES - offset, chunk.length - at);
      chunk.copy(this.blocks[blockIndex] as Buffer, offset, at, at + n);
      at += n;
      this.endByte += n;
    }
    if (this.endByte - this.startByte > this.maxBytes) this.dropUntil(this.endByte - this.maxBytes);
  }

  dropUntil(byte: number): void {
    this.startByte = Math.max(this.startByte, Math.min(byte, this.endByte));
    while (this.blocks.length > 1 && this.firstBlockByte + BLOCK_BYTES <= this.startByte) {
      const block = this.blocks.shift() as Buffer;
      if (this.spare.length < 2) this.spare.push(block);
      this.firstBlockByte += BLOCK_BYTES;
    }
  }

  snapshot(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.blocks.length; i++) {
      const blockStart = this.firstBlockByte + i * BLOCK_BYTES;
      const from = Math.max(this.startByte, blockStart);
      const to = Math.min(this.endByte, blockStart + BLOCK_BYTES);
      if (to > from)
        out.push(Buffer.from((this.blocks[i] as Buffer).subarray(from - blockStart, to - blockStart)));
    }
    return out;
  }
}

const STATE = Symbol('blockRing');
/** An AudioRing instance as the patch sees it (maxMs is its private constructor parameter). */
type Patched = { [STATE]?: BlockRingState; maxMs?: number };

function state(ring: Patched): BlockRingState {
  let s = ring[STATE];
  if (!s) {
    s = new BlockRingState(msToBytes(ring.maxMs ?? 60_000));
    ring[STATE] = s;
  }
  return s;
}

function patchAudioRing(): void {
  const proto = AudioRing.prototype as unknown as Record<string, unknown>;
  Object.defineProperty(proto, 'startMs', {
    get(this: Patched) {
      return bytesToMs(state(this).startByte);
    },
  });
  Object.defineProperty(proto, 'endMs', {
    get(this: Patched) {
      return bytesToMs(state(this).endByte);
    },
  });
  proto.push = function push(this: Patched, chunk: Buffer) {
    state(this).push(chunk);
  };
  proto.releaseUntil = function releaseUntil(this: Patched, ms: number) {
    state(this).dropUntil(msToBytes(ms));
  };
  proto.snapshot = function snapshot(this: Patched) {
    return state(this).snapshot();
  };
}

function patchBase64(): void {
  const path = require.resolve('../core/recall/base64');
  const original = require('../core/recall/base64') as Record<string, unknown>;
  const cached = require.cache[path];
  if (!cached) throw new Error('core/recall/base64 is not in require.cache');
  if (Object.keys(require.cache).some((p) => p.endsWith('realtime-schema.ts'))) {
    throw new Error('lean-base64 must be applied before core/recall/realtime-schema loads');
  }
  cached.exports = { ...original, decodeStrictBase64: leanDecodeStrictBase64 };
}

export function applyExperiments(names: readonly string[]): void {
  for (const name of names) {
    if (name === 'lean-base64') patchBase64();
    else if (name === 'block-ring') patchAudioRing();
    else throw new TypeError(`unknown experiment "${name}" (${EXPERIMENTS.join(', ')})`);
  }
}
