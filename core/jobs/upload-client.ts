/**
 * A client of the jobs API for Node (the CLI, tests, the benchmark): create a job, upload the
 * file with the instructions it returns (one PUT, or parts retried one by one, then the
 * complete call), and read the job. Browsers do the same with fetch (docs/rest-api.md).
 */
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { retry } from '../backoff';
import type { UploadInstructions } from './service';

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.opus': 'audio/opus',
  '.webm': 'video/webm',
  '.weba': 'audio/webm',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.mkv': 'video/x-matroska',
};

export class JobsApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'JobsApiError';
  }
}

export interface JobsClientOptions {
  apiUrl: string;
  token: string | (() => Promise<string>);
  /** The fetch used for the uploads to S3 (default: global fetch; tests inject network faults). */
  uploadFetch?: typeof fetch;
}

export class JobsClient {
  constructor(private readonly opts: JobsClientOptions) {}

  private get uploadFetch(): typeof fetch {
    return this.opts.uploadFetch ?? fetch;
  }

  async call<T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<T> {
    const token = typeof this.opts.token === 'string' ? this.opts.token : await this.opts.token();
    const res = await fetch(`${this.opts.apiUrl.replace(/\/$/, '')}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new JobsApiError(res.status, error?.code ?? 'HTTP_ERROR', error?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
  }

  /** Creates the job and uploads `file`; `onUpload` sees bytes sent so far. Returns the job id. */
  async transcribeFile(
    file: string,
    opts: {
      language?: string;
      keywords?: string[];
      title?: string;
      contentType?: string;
      onUpload?: (sent: number, total: number) => void;
    } = {},
  ): Promise<{ jobId: string; upload: UploadInstructions }> {
    const { size } = await stat(file);
    const contentType = opts.contentType ?? CONTENT_TYPES[path.extname(file).toLowerCase()];
    if (!contentType)
      throw new JobsApiError(0, 'UNSUPPORTED_MEDIA_TYPE', `Unknown file type: ${path.extname(file)}`);
    const created = await this.call<{ job: { jobId: string }; upload: UploadInstructions }>('POST', '/jobs', {
      fileName: path.basename(file),
      contentType,
      sizeBytes: size,
      ...(opts.language ? { language: opts.language } : {}),
      ...(opts.keywords ? { keywords: opts.keywords } : {}),
      ...(opts.title ? { title: opts.title } : {}),
    });
    const { jobId } = created.job;
    const upload = created.upload;
    const handle = await open(file, 'r');
    try {
      if (upload.method === 'PUT') {
        const body = await handle.readFile();
        await withRetries(() => put(this.uploadFetch, upload.url, body, upload.headers));
        opts.onUpload?.(size, size);
      } else {
        let sent = 0;
        const parts: { partNumber: number; etag: string }[] = [];
        for (const part of upload.parts) {
          const buffer = Buffer.alloc(part.sizeBytes);
          await handle.read(buffer, 0, part.sizeBytes, (part.partNumber - 1) * upload.partSizeBytes);
          // A failed part is retried alone.
          const etag = await withRetries(() => put(this.uploadFetch, part.url, buffer, {}));
          if (etag === '')
            throw new JobsApiError(0, 'UPLOAD_FAILED', `S3 returned no ETag for part ${part.partNumber}`);
          parts.push({ partNumber: part.partNumber, etag });
          sent += part.sizeBytes;
          opts.onUpload?.(sent, size);
        }
        await this.call('POST', upload.completeUrl, { parts });
      }
    } finally {
      await handle.close();
    }
    return { jobId, upload };
  }
}

async function put(
  fetchFn: typeof fetch,
  url: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<string> {
  const res = await fetchFn(url, { method: 'PUT', body: new Uint8Array(body), headers });
  if (!res.ok)
    throw new JobsApiError(
      res.status,
      'UPLOAD_FAILED',
      `Upload failed: HTTP ${res.status} ${await res.text()}`,
    );
  await res.arrayBuffer();
  return res.headers.get('etag') ?? '';
}

/** Three tries, 1 s then 2 s apart; a 4xx (refused or expired URL) is final. */
function withRetries<T>(fn: () => Promise<T>): Promise<T> {
  return retry(fn, {
    maxAttempts: 3,
    baseMs: 1_000,
    maxDelayMs: 2_000,
    jitter: 'none',
    retryable: (error) => !(error instanceof JobsApiError && error.status >= 400 && error.status < 500),
  });
}
