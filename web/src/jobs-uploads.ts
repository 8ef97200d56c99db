/**
 * Uploads running in this tab, by job id. The upload page starts one and goes to the job's
 * page at once; the job page shows its progress and can abort it. An upload lives as long as
 * the tab (leaving the page does not stop it; closing the tab does, and the job then stays in
 * `uploading` until it expires).
 */
import type { Api } from './api';
import { describeError, type UploadInstructions, type UploadProgress, uploadFile } from './jobs-api';

export interface UploadState {
  fileName: string;
  progress: UploadProgress;
  /** Bytes per second over the upload so far. */
  bytesPerSecond: number | undefined;
  done: boolean;
  error: string | undefined;
  /** Multipart or a single PUT. */
  method: UploadInstructions['method'];
}

interface Entry {
  state: UploadState;
  controller: AbortController;
  listeners: Set<() => void>;
}

const entries = new Map<string, Entry>();

export const uploads = {
  get(jobId: string): UploadState | undefined {
    return entries.get(jobId)?.state;
  },

  subscribe(jobId: string, fn: () => void): () => void {
    let entry = entries.get(jobId);
    if (!entry) {
      // Listening before the upload exists (the page opened first) is fine: start() keeps these.
      entry = {
        state: undefined as unknown as UploadState,
        controller: new AbortController(),
        listeners: new Set(),
      };
      entries.set(jobId, entry);
    }
    entry.listeners.add(fn);
    return () => {
      entry.listeners.delete(fn);
      if (!entry.state && entry.listeners.size === 0) entries.delete(jobId);
    };
  },

  /** Starts sending `file`; resolves when it is uploaded (or failed: see `error`). */
  async start(api: Api, jobId: string, file: File, upload: UploadInstructions): Promise<void> {
    const entry = entries.get(jobId) ?? {
      state: undefined as unknown as UploadState,
      controller: new AbortController(),
      listeners: new Set<() => void>(),
    };
    entries.set(jobId, entry);
    const parts = upload.method === 'PUT' ? 1 : upload.parts.length;
    entry.state = {
      fileName: file.name,
      progress: { sent: 0, total: file.size, part: 1, parts, retries: 0 },
      bytesPerSecond: undefined,
      done: false,
      error: undefined,
      method: upload.method,
    };
    const notify = () => {
      for (const fn of entry.listeners) fn();
    };
    notify();
    const started = performance.now();
    try {
      await uploadFile(
        api,
        file,
        upload,
        (progress) => {
          const seconds = (performance.now() - started) / 1000;
          entry.state = {
            ...entry.state,
            progress,
            bytesPerSecond: seconds > 0.2 ? progress.sent / seconds : entry.state.bytesPerSecond,
          };
          notify();
        },
        entry.controller.signal,
      );
      entry.state = { ...entry.state, done: true };
    } catch (error) {
      entry.state = { ...entry.state, error: describeError(error) };
    }
    notify();
  },

  /** Stops an upload in flight (cancel). */
  abort(jobId: string): void {
    entries.get(jobId)?.controller.abort();
  },
};
