/**
 * Main-thread side of one recognizer worker: starts it, forwards audio and control messages,
 * and reports decoder events.
 *
 * Loading the worker: a worker thread does not inherit jest's or tsx's TypeScript hooks, so
 * - if `recognizer-worker.js` sits next to this module (a compiled or bundled build: emit the
 *   worker as its own entry point into the same folder), that file is started as is;
 * - otherwise `recognizer-worker.ts` is started through tsx's CommonJS hook (`tsx/cjs/api`),
 *   which works the same under `npx tsx`, jest and plain node with tsx installed.
 * `SpeechServerOptions.workerEntry` overrides both.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DecoderEvent } from './stream-decoder';
import type { HostToWorker, WorkerInit, WorkerToHost } from './worker-protocol';

export interface RecognizerWorkerHandlers {
  onEvents(events: DecoderEvent[], decodeMs: number): void;
  /** The worker failed or exited before `close()`; the stream cannot continue. */
  onFailure(error: Error): void;
}

export function defaultWorkerEntry(): string {
  const compiled = path.join(__dirname, 'recognizer-worker.js');
  return existsSync(compiled) ? compiled : path.join(__dirname, 'recognizer-worker.ts');
}

function startWorker(entry: string, init: WorkerInit): Worker {
  // Flags such as tsx's own --import/--require are not needed (and would start an extra
  // loader thread per worker); keep the rest of the parent's flags.
  const execArgv = withoutTsxFlags(process.execArgv);
  if (!entry.endsWith('.ts')) return new Worker(entry, { workerData: init, execArgv });
  const tsxApi = require.resolve('tsx/cjs/api');
  const source = `require(${JSON.stringify(tsxApi)}).register();\nrequire(${JSON.stringify(entry)});`;
  return new Worker(source, { eval: true, workerData: init, execArgv });
}

function withoutTsxFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1] ?? '';
    if (
      (arg === '--import' || arg === '--require' || arg === '-r' || arg === '--loader') &&
      /tsx/.test(next)
    ) {
      i++;
      continue;
    }
    if (/^--(import|require|loader)=.*tsx/.test(arg)) continue;
    out.push(arg);
  }
  return out;
}

const ABORT_GRACE_MS = 5_000;

export class RecognizerWorker {
  private readonly worker: Worker;
  private closing: Promise<void> | undefined;
  private finished = false;
  private readonly closed: Promise<void>;
  private readonly exited: Promise<void>;
  private readonly abortFlag: Int32Array;
  /** Resolves with the decoder's start-up time once the model is loaded. */
  readonly ready: Promise<number>;

  constructor(
    init: Omit<WorkerInit, 'abortFlag'>,
    handlers: RecognizerWorkerHandlers,
    entry = defaultWorkerEntry(),
  ) {
    this.abortFlag = new Int32Array(new SharedArrayBuffer(4));
    this.worker = startWorker(entry, { ...init, abortFlag: this.abortFlag.buffer as SharedArrayBuffer });
    let markReady: (ms: number) => void = () => {};
    let failReady: (error: Error) => void = () => {};
    this.ready = new Promise<number>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => {}); // failures are reported through onFailure
    let closedResolve: () => void = () => {};
    this.closed = new Promise<void>((resolve) => {
      closedResolve = resolve;
    });

    const fail = (error: Error): void => {
      failReady(error);
      if (this.finished) return;
      this.finished = true;
      closedResolve();
      handlers.onFailure(error);
    };
    this.worker.on('message', (message: WorkerToHost) => {
      switch (message.type) {
        case 'ready':
          markReady(message.initMs);
          break;
        case 'events':
          handlers.onEvents(message.events, message.decodeMs);
          break;
        case 'closed':
          this.finished = true;
          closedResolve();
          break;
        case 'error':
          fail(new Error(`recognizer worker: ${message.message}`));
          break;
      }
    });
    this.worker.on('error', (error) => fail(error));
    this.exited = new Promise<void>((resolve) => {
      this.worker.on('exit', (code) => {
        if (!this.finished) fail(new Error(`recognizer worker exited with code ${code}`));
        closedResolve();
        resolve();
      });
    });
  }

  /** Queues samples for decoding (copied, so the caller may reuse its buffer). */
  sendAudio(pcm: Int16Array): void {
    if (this.finished || this.closing) return;
    const copy = new Int16Array(pcm);
    this.post({ type: 'audio', pcm: copy.buffer }, [copy.buffer]);
  }

  finalize(): void {
    if (this.finished || this.closing) return;
    this.post({ type: 'finalize' });
  }

  /** Decodes everything queued, emits the last final, and stops the worker. */
  close(): Promise<void> {
    if (!this.closing) {
      if (!this.finished) this.post({ type: 'close' });
      this.closing = this.closed;
    }
    return this.closing;
  }

  /**
   * Stops the worker soon, dropping queued audio. The worker frees its decoder itself: a
   * terminated thread would leak the decoder's native memory (~100 MB). A worker stuck for
   * ABORT_GRACE_MS is terminated anyway.
   */
  async abort(): Promise<void> {
    if (!this.finished) {
      this.finished = true;
      Atomics.store(this.abortFlag, 0, 1);
      this.post({ type: 'abort' });
    }
    const grace = setTimeout(() => void this.worker.terminate(), ABORT_GRACE_MS);
    grace.unref();
    await this.exited;
    clearTimeout(grace);
  }

  private post(message: HostToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }
}
