/**
 * File transcription from the browser: the `/jobs` REST calls (docs/rest-api.md) and the upload
 * itself, straight to S3 with the presigned instructions `POST /jobs` returns — one PUT for a
 * small file, or its parts one after another (a failed part is retried alone) and then the
 * complete call. XMLHttpRequest, not fetch: only it reports upload progress.
 */
import type { JobStage, JobView } from '../../core/jobs/model';
import type { UploadInstructions } from '../../core/jobs/service';
import { type Api, ApiError } from './api';

export type { JobStage, JobView, UploadInstructions };

export interface JobList {
  jobs: JobView[];
  nextCursor: string | null;
}

/** The stages a job passes through when all goes well, in order. */
export const STAGE_ORDER: readonly JobStage[] = [
  'uploading',
  'queued',
  'decoding',
  'transcribing',
  'finalizing',
  'complete',
];
export const ENDED_STAGES: ReadonlySet<JobStage> = new Set(['complete', 'failed', 'cancelled']);

/** What the upload picker accepts; the API refuses other types, the worker probes the content. */
export const ACCEPT =
  'audio/*,video/*,.mp3,.m4a,.aac,.wav,.flac,.ogg,.oga,.opus,.webm,.weba,.mp4,.m4v,.mov,.mkv';

const TYPES_BY_EXTENSION: Readonly<Record<string, string>> = {
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  wav: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/opus',
  webm: 'video/webm',
  weba: 'audio/webm',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
};

/** The content type to declare: the browser's, or from the extension when it has none. */
export function contentTypeOf(file: { name: string; type: string }): string | undefined {
  if (file.type)
    return file.type === 'audio/x-wav' || file.type === 'audio/vnd.wave' ? 'audio/wav' : file.type;
  const ext = /\.([A-Za-z0-9]+)$/.exec(file.name)?.[1]?.toLowerCase();
  return ext ? TYPES_BY_EXTENSION[ext] : undefined;
}

export const listJobs = (api: Api, cursor?: string | null, limit = 20): Promise<JobList> => {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set('cursor', cursor);
  return api.call('GET', `/jobs?${query}`);
};
export const getJob = (api: Api, jobId: string): Promise<JobView> =>
  api.call('GET', `/jobs/${encodeURIComponent(jobId)}`);
export const cancelJob = (api: Api, jobId: string): Promise<JobView> =>
  api.call('DELETE', `/jobs/${encodeURIComponent(jobId)}`);
export const createJob = (
  api: Api,
  body: { fileName: string; contentType: string; sizeBytes: number; language?: string; title?: string },
): Promise<{ job: JobView; upload: UploadInstructions }> => api.call('POST', '/jobs', body);

export interface UploadProgress {
  sent: number;
  total: number;
  /** 1-based part being sent, and how many (1 of 1 for a single PUT). */
  part: number;
  parts: number;
  /** Retries so far (a failed part is sent again, alone). */
  retries: number;
}

/** Tries per part (or per single PUT) before the upload gives up. */
export const UPLOAD_ATTEMPTS = 4;

export class UploadError extends Error {
  override name = 'UploadError';
  constructor(
    readonly code: 'UPLOAD_FAILED' | 'UPLOAD_ABORTED',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Sends `file` as `upload` instructs; `onProgress` sees every change. Parts go one at a time
 * (steady progress, bounded memory); each is retried alone with backoff (1 s, 2 s, 4 s).
 */
export async function uploadFile(
  api: Api,
  file: Blob,
  upload: UploadInstructions,
  onProgress: (progress: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<void> {
  const total = file.size;
  if (upload.method === 'PUT') {
    await withRetries(
      (retries) =>
        put(upload.url, file, upload.headers, signal, (sent) =>
          onProgress({ sent, total, part: 1, parts: 1, retries }),
        ),
      signal,
    );
    onProgress({ sent: total, total, part: 1, parts: 1, retries: 0 });
    return;
  }
  const etags: { partNumber: number; etag: string }[] = [];
  let done = 0;
  let retried = 0;
  for (const part of upload.parts) {
    const start = (part.partNumber - 1) * upload.partSizeBytes;
    const body = file.slice(start, start + part.sizeBytes);
    const etag = await withRetries((retries) => {
      if (retries > 0) retried++;
      return put(part.url, body, {}, signal, (sent) =>
        onProgress({
          sent: done + sent,
          total,
          part: part.partNumber,
          parts: upload.parts.length,
          retries: retried,
        }),
      );
    }, signal);
    if (!etag)
      throw new UploadError(
        'UPLOAD_FAILED',
        'The storage service did not expose the part’s ETag (check the bucket’s CORS rule)',
      );
    etags.push({ partNumber: part.partNumber, etag });
    done += part.sizeBytes;
  }
  await api.call('POST', upload.completeUrl, { parts: etags });
  onProgress({ sent: total, total, part: upload.parts.length, parts: upload.parts.length, retries: retried });
}

class HttpFailure extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** One PUT with upload progress; resolves with the ETag header (empty when not exposed). */
function put(
  url: string,
  body: Blob,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  onSent: (sent: number) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onSent(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader('etag') ?? '');
      else reject(new HttpFailure(xhr.status));
    };
    xhr.onerror = () => reject(new HttpFailure(0));
    xhr.onabort = () => reject(new UploadError('UPLOAD_ABORTED', 'The upload was cancelled'));
    const abort = () => xhr.abort();
    signal?.addEventListener('abort', abort, { once: true });
    xhr.onloadend = () => signal?.removeEventListener('abort', abort);
    xhr.send(body);
  });
}

async function withRetries<T>(send: (retries: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw new UploadError('UPLOAD_ABORTED', 'The upload was cancelled');
    try {
      return await send(attempt);
    } catch (error) {
      if (error instanceof UploadError) throw error;
      const status = error instanceof HttpFailure ? error.status : 0;
      // 403 is an expired or refused URL: sending again will not help.
      if (attempt + 1 >= UPLOAD_ATTEMPTS || status === 403 || status === 400)
        throw new UploadError(
          'UPLOAD_FAILED',
          status === 403
            ? 'The upload link was refused or has expired; start the upload again'
            : `The upload failed (${status ? `HTTP ${status}` : 'network error'}) after ${attempt + 1} tries`,
        );
      await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt));
    }
  }
}

/** A message for any error of the jobs calls or the upload. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError || error instanceof UploadError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
