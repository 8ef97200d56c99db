/** What the recording store's `put` accepts, apart from the store (no S3 SDK here). */

/**
 * A chunk spooled to local disk (core/audio/spooled-chunk.ts): the first `fileBytes` of `file`,
 * then `tail` (the audio not yet written to the file when the chunk was cut, held in memory).
 */
export interface SpooledBody {
  readonly file: string;
  readonly fileBytes: number;
  readonly tail: readonly Uint8Array[];
}

/**
 * An object's bytes: one buffer, its parts in order (pooled blocks, written as they are rather
 * than concatenated), or a spooled file and its tail. `put` reads the body only until it settles;
 * the caller may reuse the parts and delete the file afterwards, so an implementation must not
 * keep them.
 */
export type RecordingBody = Uint8Array | readonly Uint8Array[] | SpooledBody;

export function isSpooledBody(body: RecordingBody): body is SpooledBody {
  return !(body instanceof Uint8Array) && !Array.isArray(body);
}

/** Bytes in `body`. */
export function bodyByteLength(body: RecordingBody): number {
  if (body instanceof Uint8Array) return body.byteLength;
  const parts = isSpooledBody(body) ? body.tail : (body as readonly Uint8Array[]);
  let total = isSpooledBody(body) ? body.fileBytes : 0;
  for (const part of parts) total += part.byteLength;
  return total;
}
