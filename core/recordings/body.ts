/** What the recording store's `put` accepts, apart from the store (no S3 SDK here). */

/**
 * An object's bytes: one buffer, or its parts in order (the archive's pooled blocks, written as
 * they are rather than concatenated). `put` reads the parts only until it settles; the caller may
 * reuse them afterwards, so an implementation must not keep them.
 */
export type RecordingBody = Uint8Array | readonly Uint8Array[];

/** Bytes in `body`. */
export function bodyByteLength(body: RecordingBody): number {
  if (body instanceof Uint8Array) return body.byteLength;
  let total = 0;
  for (const part of body) total += part.byteLength;
  return total;
}
