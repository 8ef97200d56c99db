/**
 * The recording archive's object store: the few S3 calls it makes, behind an interface so the
 * archive and its benchmark can count requests and bytes. `S3RecordingStore` is the only
 * implementation Parley runs (s3rver locally, S3 on AWS).
 */

import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { bodyByteLength, isSpooledBody, type RecordingBody } from './body';
import { bodyStream } from './body-stream';

export type { RecordingBody } from './body';

export interface RecordingStore {
  /** Store `body` under `key`; a fresh read of `body` per call, so a retry sends the same bytes. */
  put(key: string, body: RecordingBody, contentType: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  /** Every key under `prefix` (all pages). */
  list(prefix: string): Promise<string[]>;
  /** Size in bytes, or undefined when the object does not exist. */
  head(key: string): Promise<number | undefined>;
  delete(keys: readonly string[]): Promise<void>;
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
}

export class S3RecordingStore implements RecordingStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: RecordingBody, contentType: string): Promise<void> {
    const payload = s3Body(body);
    try {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType, ...payload }),
      );
    } finally {
      // A failed attempt may leave the stream unread: destroy it, so a spooled file is closed.
      if (!(payload.Body instanceof Uint8Array)) payload.Body.destroy();
    }
  }

  async get(key: string): Promise<Buffer> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!out.Body) return Buffer.alloc(0);
    return Buffer.from(await out.Body.transformToByteArray());
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) if (item.Key) keys.push(item.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async head(key: string): Promise<number | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.ContentLength ?? 0;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (error as Error).name === 'NotFound') return undefined;
      throw error;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }

  presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }
}

/**
 * PutObject's body: a single buffer as it is; parts, or a spooled file and its tail, as a stream
 * with the length known up front (S3 needs it), which the SDK writes as it reads — nothing is
 * concatenated, and a spooled chunk is read from disk in 64 KB pieces. With checksums on (AWS)
 * the SDK frames the stream as aws-chunked and hashes it as it goes.
 */
const EMPTY = new Uint8Array(0);

function s3Body(body: RecordingBody): { Body: Uint8Array | Readable; ContentLength?: number } {
  if (body instanceof Uint8Array) return { Body: body };
  if (!isSpooledBody(body) && body.length <= 1) return { Body: body[0] ?? EMPTY };
  return { Body: bodyStream(body), ContentLength: bodyByteLength(body) };
}
