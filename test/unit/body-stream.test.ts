/**
 * The PUT body of a spooled chunk (core/recordings/body-stream.ts) on real files: the file's
 * first `fileBytes` then the tail, byte for byte across its 64 KB reads; a fresh read per call
 * (a retry sends the same bytes); its descriptor closed when it ends or is destroyed mid-read;
 * a file shorter than the body says is an error, not short audio.
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { bodyStream, SPOOL_READ_BYTES } from '../../core/recordings/body-stream';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'parley-body-stream-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `n` bytes that differ from one position to the next (so a misplaced piece shows). */
function pattern(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** This process's descriptors open on `file`. */
function descriptorsOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // closed while listed
    }
  }
  return n;
}

it('reads the file prefix then the tail, byte for byte across its 64 KB reads, afresh on every call', async () => {
  const content = pattern(2 * SPOOL_READ_BYTES + 123, 1);
  const file = path.join(dir, 'a.pcm');
  // The file holds more than the body's prefix (a write past the cut): only fileBytes are read.
  writeFileSync(file, Buffer.concat([content, pattern(5_000, 9)]));
  const tail = [pattern(8_000, 2), pattern(3_000, 3)];
  const body = { file, fileBytes: content.length, tail };
  const expected = Buffer.concat([content, ...tail]);

  const first = await readAll(bodyStream(body));
  const second = await readAll(bodyStream(body));

  expect(first.equals(expected)).toBe(true);
  expect(second.equals(expected)).toBe(true);
  expect(descriptorsOn(file)).toBe(0);
});

it('closes its descriptor when destroyed in the middle of the file', async () => {
  const file = path.join(dir, 'b.pcm');
  writeFileSync(file, pattern(4 * SPOOL_READ_BYTES, 4));
  const stream = bodyStream({ file, fileBytes: 4 * SPOOL_READ_BYTES, tail: [] });
  const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
  expect(first.equals(pattern(4 * SPOOL_READ_BYTES, 4).subarray(0, first.length))).toBe(true);

  stream.destroy();
  await new Promise((resolve) => stream.once('close', resolve));

  expect(descriptorsOn(file)).toBe(0);
});

it('fails, rather than sending short audio, when the file is shorter than the body says', async () => {
  const file = path.join(dir, 'c.pcm');
  writeFileSync(file, pattern(1_000, 5));
  const stream = bodyStream({ file, fileBytes: 2_000, tail: [pattern(100, 6)] });
  await expect(readAll(stream)).rejects.toThrow(/ends at 1000 of 2000 bytes/);
});
