/**
 * The AWS emulators (dynalite, s3rver, local-aws-sqs: local/aws-emulators.ts) on a worker thread
 * of their own, so the Lambda handlers and the containers (main thread) and the emulated AWS
 * services use separate cores, as on AWS where they are separate services. Before, one Node thread
 * ran every emulator and every handler, and each DynamoDB call waited for the handlers' CPU work
 * (docs/benchmarks.md, "Pipeline overhead").
 *
 * A worker thread, not a child process: it cannot outlive this process (a crash or Ctrl-C ends it
 * with the process, no orphan holding the ports or a persisted store's LOCK), and it starts as fast
 * as the in-process emulators. The same `RunningEmulators` is returned: fault injection and S3
 * event notifications cross the thread boundary as messages (`failDynamo` resolves once the
 * emulator thread has armed the fault, so the next request sees it).
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@aws-lambda-powertools/logger';
import { createLogger } from '../core/logger';
import type { EmulatorOptions, RunningEmulators } from './aws-emulators';

export interface EmulatorThreadOptions extends Omit<EmulatorOptions, 'logger'> {
  /** local-aws-sqs's own receive timing when false (bench/pipeline.ts `--before`); default true. */
  receiveWaitFix?: boolean;
  /** Logs the thread's unexpected exit here (the thread logs its own records itself). */
  logger?: Logger;
}

/** What the emulator thread is started with (its workerData). */
export interface EmulatorThreadData {
  options: Omit<EmulatorThreadOptions, 'logger'>;
}

/** Main thread → emulator thread. */
export type ToEmulatorThread =
  | { type: 'failDynamo'; id: number; operation: string; times: number; mode: 'error' | 'unprocessed' }
  | { type: 'stop'; id: number };

/** Emulator thread → main thread. */
export type FromEmulatorThread =
  | { type: 'started'; running: Pick<RunningEmulators, 'endpoints' | 'env' | 'queueArns'> }
  | { type: 'startFailed'; error: string }
  | { type: 's3Event'; event: unknown }
  | { type: 'done'; id: number; error?: string };

/** How long a stop waits for the thread to close its servers before terminating it. */
const STOP_TIMEOUT_MS = 10_000;

export class EmulatorThreadError extends Error {
  override readonly name = 'EmulatorThreadError';
}

/** Starts the emulators on a worker thread; resolves once every table, queue and bucket exists. */
export function startEmulatorsInThread(opts: EmulatorThreadOptions = {}): Promise<RunningEmulators> {
  const { logger: givenLogger, ...options } = opts;
  const logger = givenLogger ?? createLogger('aws-emulators');
  const worker = startWorker({ options } satisfies EmulatorThreadData);
  const s3Events = new EventEmitter();
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let exited = false;
  let stopping: Promise<void> | undefined;

  const request = (message: ToEmulatorThread) =>
    new Promise<void>((resolve, reject) => {
      if (exited) return reject(new EmulatorThreadError('the emulator thread has exited'));
      pending.set(message.id, { resolve, reject });
      worker.postMessage(message);
    });

  return new Promise<RunningEmulators>((resolve, reject) => {
    let started = false;
    worker.on('message', (message: FromEmulatorThread) => {
      switch (message.type) {
        case 'started':
          started = true;
          resolve({
            ...message.running,
            s3Events,
            failDynamo: (operation, times, mode = 'error') =>
              request({ type: 'failDynamo', id: nextId++, operation, times, mode }),
            stop: () => {
              stopping ??= stopThread();
              return stopping;
            },
          });
          return;
        case 'startFailed':
          reject(new EmulatorThreadError(`the AWS emulators did not start: ${message.error}`));
          return;
        case 's3Event':
          s3Events.emit('event', message.event);
          return;
        case 'done': {
          const waiter = pending.get(message.id);
          pending.delete(message.id);
          if (message.error) waiter?.reject(new EmulatorThreadError(message.error));
          else waiter?.resolve();
          return;
        }
      }
    });
    worker.on('error', (error) => {
      if (!started) reject(error);
      else logger.error('AWS emulator thread failed', { error });
    });
    worker.on('exit', (code) => {
      exited = true;
      const gone = new EmulatorThreadError(`the emulator thread exited (code ${code})`);
      for (const waiter of pending.values()) waiter.reject(gone);
      pending.clear();
      if (!started) reject(gone);
      else if (!stopping) logger.error('AWS emulator thread exited unexpectedly', { code });
    });
  });

  /**
   * Asks the thread to close its servers (a stop error is thrown once it has ended), then waits
   * for it to end; one that has not stopped within STOP_TIMEOUT_MS is terminated.
   */
  async function stopThread(): Promise<void> {
    if (exited) return;
    const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
    try {
      await request({ type: 'stop', id: nextId++ });
    } finally {
      await ended;
      clearTimeout(timer);
    }
  }
}

/** The worker runs local/emulator-thread-main.ts, compiled on the fly by tsx as every local entry is. */
function startWorker(workerData: EmulatorThreadData): Worker {
  const tsx = require.resolve('tsx/cjs/api');
  const main = path.join(__dirname, 'emulator-thread-main.ts');
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(main)});`, {
    eval: true,
    workerData,
    // The handlers' environment is the main thread's; the emulators read none of it.
    env: { ...process.env },
  });
}
