/**
 * A multipart upload over the real local stack: a file above the (lowered) multipart threshold
 * goes to s3rver in presigned parts, one part's connection drops midway and that part alone is
 * sent again, complete-upload assembles the object, s3rver's object event starts the job and
 * the transcript arrives.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3 } from '../../core/clients/s3';
import { bucketName } from '../../core/config';
import { JobsClient } from '../../core/jobs/upload-client';
import { wordErrorRate } from '../../core/wer';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { concatenatedWav, JobWatcher } from '../helpers/jobs';
import { REFERENCE_TEXT } from '../helpers/live';

jest.setTimeout(600_000);

const MIB = 1024 ** 2;
// Lowered so a file of a few MB uploads in parts (read by POST /jobs at each request).
process.env.JOB_MULTIPART_THRESHOLD_BYTES = String(5 * MIB);
process.env.JOB_PART_SIZE_BYTES = String(5 * MIB);

/** Sends the headers and half the body of a PUT, then drops the connection (a network failure). */
function putHalfThenDrop(url: string, body: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(body.length) } });
    req.on('error', () => resolve());
    req.write(body.subarray(0, Math.floor(body.length / 2)), () => {
      req.destroy();
      resolve();
    });
  });
}

describe('multipart upload of a file job on the local stack', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({ logLevel: 'WARN' });
  });
  afterAll(() => stack?.stop());

  it('uploads a file above the threshold in presigned parts, retries only the part that failed, and transcribes it', async () => {
    // Two copies of the sample as 48 kHz stereo wav: about 11 MB, three parts of 5 MiB.
    const file = concatenatedWav(2);
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(10 * MIB);

    const puts = new Map<number, number>();
    const uploadFetch: typeof fetch = async (input, init) => {
      const url = String(input);
      const partNumber = Number(new URL(url).searchParams.get('partNumber'));
      if (init?.method === 'PUT' && partNumber > 0) {
        const n = (puts.get(partNumber) ?? 0) + 1;
        puts.set(partNumber, n);
        if (partNumber === 2 && n === 1) {
          await putHalfThenDrop(url, init.body as Uint8Array);
          throw new TypeError('fetch failed: the connection dropped midway through part 2');
        }
      }
      return fetch(input, init);
    };
    const alice = new JobsClient({
      apiUrl: stack.urls.rest,
      token: () => stack.issuer.mintToken('alice'),
      uploadFetch,
    });
    const sent: number[] = [];
    const { jobId, upload } = await alice.transcribeFile(file, { onUpload: (n) => sent.push(n) });

    expect(upload.method).toBe('MULTIPART');
    if (upload.method !== 'MULTIPART') return;
    expect(upload.partSizeBytes).toBe(5 * MIB);
    expect(upload.parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect(upload.parts.reduce((sum, p) => sum + p.sizeBytes, 0)).toBe(bytes.length);
    // Part 2 was sent twice (the dropped try and its retry), every other part once.
    expect(Object.fromEntries(puts)).toEqual({ 1: 1, 2: 2, 3: 1 });
    expect(sent.at(-1)).toBe(bytes.length);

    // The assembled object is the file, byte for byte (the dropped half-part left nothing behind).
    const listed = await s3().send(
      new ListObjectsV2Command({ Bucket: bucketName('media'), Prefix: `uploads/jobs/${jobId}/` }),
    );
    expect(listed.Contents?.length).toBe(1);
    const object = await s3().send(
      new GetObjectCommand({ Bucket: bucketName('media'), Key: listed.Contents?.[0]?.Key }),
    );
    const stored = Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(stored.length).toBe(bytes.length);
    expect(sha(stored)).toBe(sha(bytes));

    // complete-upload started the job (s3rver's object event → jobs queue → worker).
    const watcher = new JobWatcher(stack, 'alice', jobId);
    await watcher.open();
    const end = await watcher.ended(480_000);
    expect(end.type).toBe('complete');
    const job = await alice.call('GET', `/jobs/${jobId}`);
    expect(job).toMatchObject({ stage: 'complete', percent: 100, sizeBytes: bytes.length });
    expect(Number(job.durationSeconds)).toBeCloseTo(59, -1);
    const res = await fetch(`${stack.urls.rest}/meetings/${jobId}/transcript?format=json&limit=500`, {
      headers: { authorization: `Bearer ${await stack.issuer.mintToken('alice')}` },
    });
    const page = (await res.json()) as { segments: { seq: number; text: string }[] };
    expect(page.segments.length).toBeGreaterThanOrEqual(4);
    const { wer } = wordErrorRate(
      [REFERENCE_TEXT, REFERENCE_TEXT].join(' '),
      page.segments.map((s) => s.text).join(' '),
    );
    expect(wer).toBeLessThanOrEqual(0.5);
    watcher.close();
  });

  it('refuses to complete a multipart upload that lacks a part, and the job does not start', async () => {
    const file = concatenatedWav(2);
    const size = readFileSync(file).length;
    const alice = new JobsClient({ apiUrl: stack.urls.rest, token: () => stack.issuer.mintToken('alice') });
    const created = await alice.call<{
      job: { jobId: string };
      upload: { method: string; completeUrl: string; parts: { partNumber: number }[] };
    }>('POST', '/jobs', { fileName: 'missing-part.wav', contentType: 'audio/wav', sizeBytes: size });
    expect(created.upload.method).toBe('MULTIPART');
    await expect(
      alice.call('POST', created.upload.completeUrl, {
        parts: [
          { partNumber: 1, etag: '"a"' },
          { partNumber: 3, etag: '"c"' },
        ],
      }),
    ).rejects.toMatchObject({ status: 400, code: 'UPLOAD_INCOMPLETE' });
    const job = await alice.call('GET', `/jobs/${created.job.jobId}`);
    expect(job.stage).toBe('uploading');
  });
});
