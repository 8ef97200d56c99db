/** A recording body as a byte stream (the S3 store's PUT body; the archive benchmark reads it too). */
import { close, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { isSpooledBody, type RecordingBody, type SpooledBody } from './body';

/** Bytes read from a spool file at a time (as `createReadStream` reads). */
export const SPOOL_READ_BYTES = 64 * 1024;

/**
 * `body` as a stream of its bytes in order (a fresh read each call, so a retry sends the same
 * bytes). Destroy it when done with it: a spooled body holds a file open until it is read to
 * the end or destroyed.
 */
export function bodyStream(body: RecordingBody): Readable {
  if (body instanceof Uint8Array) return Readable.from([body], { objectMode: false });
  if (!isSpooledBody(body)) return Readable.from(body as readonly Uint8Array[], { objectMode: false });
  return new SpooledBodyStream(body);
}

/**
 * The file's first `fileBytes` (positional reads on a descriptor of its own), then the tail. One
 * stream object per PUT attempt and one read per 64 KB, where a file stream wrapped in an async
 * generator cost a promise chain per piece (docs/benchmarks.md, "Issue #15.1, the archive's
 * spool: what it costs, and what did not help").
 * The descriptor is closed only once no read is in flight, so a read can never land on a
 * descriptor number the process has reused meanwhile.
 */
class SpooledBodyStream extends Readable {
  private fd: number | undefined;
  private at = 0;
  private next = 0; // index into the tail
  private reading = false;
  private afterRead: (() => void) | undefined;

  constructor(private readonly body: SpooledBody) {
    super({ highWaterMark: SPOOL_READ_BYTES });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    if (this.body.fileBytes === 0) {
      callback();
      return;
    }
    open(this.body.file, 'r', (error, fd) => {
      this.fd = fd;
      callback(error);
    });
  }

  override _read(): void {
    const { fileBytes, tail } = this.body;
    if (this.at < fileBytes) {
      const length = Math.min(SPOOL_READ_BYTES, fileBytes - this.at);
      const buffer = Buffer.allocUnsafeSlow(length);
      this.reading = true;
      read(this.fd as number, buffer, 0, length, this.at, (error, bytes) => {
        this.reading = false;
        if (this.afterRead) return this.afterRead();
        if (error) return this.destroy(error);
        if (bytes === 0)
          return this.destroy(new Error(`${this.body.file} ends at ${this.at} of ${fileBytes} bytes`));
        this.at += bytes;
        this.push(bytes === length ? buffer : buffer.subarray(0, bytes));
      });
      return;
    }
    while (this.next < tail.length) {
      if (!this.push(tail[this.next++])) return;
    }
    this.push(null);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const closeFile = () => {
      this.afterRead = undefined;
      const fd = this.fd;
      this.fd = undefined;
      if (fd === undefined) return callback(error);
      close(fd, (closeError) => callback(error ?? closeError));
    };
    if (this.reading) this.afterRead = closeFile;
    else closeFile();
  }
}
