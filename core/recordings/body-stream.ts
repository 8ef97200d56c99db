/** A recording body as a byte stream (the S3 store's PUT body; the archive benchmark reads it too). */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { isSpooledBody, type RecordingBody, type SpooledBody } from './body';

/**
 * `body` as a stream of its bytes in order (a fresh read each call, so a retry sends the same
 * bytes). Destroy it when done with it: a spooled body holds a file open until it is read to
 * the end or destroyed.
 */
export function bodyStream(body: RecordingBody): Readable {
  if (body instanceof Uint8Array) return Readable.from([body], { objectMode: false });
  if (!isSpooledBody(body)) return Readable.from(body as readonly Uint8Array[], { objectMode: false });
  if (body.tail.length === 0) return fileStream(body);
  return Readable.from(spooledBytes(body), { objectMode: false });
}

function fileStream(body: SpooledBody): Readable {
  return createReadStream(body.file, { start: 0, end: body.fileBytes - 1 });
}

async function* spooledBytes(body: SpooledBody): AsyncGenerator<Uint8Array> {
  const file = fileStream(body);
  try {
    for await (const chunk of file) yield chunk as Buffer;
  } finally {
    file.destroy();
  }
  yield* body.tail;
}
