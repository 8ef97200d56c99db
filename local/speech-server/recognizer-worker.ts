/**
 * Worker-thread entry: one PocketSphinx decoder for one live stream. Decoding is CPU-bound and
 * synchronous, so it lives here and the server's event loop only moves bytes and JSON.
 * Started by worker-host.ts; speaks the messages in worker-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Recognizer } from './pocketsphinx';
import { StreamDecoder } from './stream-decoder';
import type { HostToWorker, WorkerInit, WorkerToHost } from './worker-protocol';

function post(message: WorkerToHost): void {
  parentPort?.postMessage(message);
}

function run(port: NonNullable<typeof parentPort>): void {
  const init = workerData as WorkerInit;
  const t0 = performance.now();
  const recognizer = new Recognizer({
    modelDir: init.modelDir,
    vadPostSpeechFrames: init.vadPostSpeechFrames,
    ...(init.decoderArgs ? { extraArgs: init.decoderArgs } : {}),
  });
  const decoder = new StreamDecoder(recognizer, init.decoder);
  const aborted = new Int32Array(init.abortFlag);
  post({ type: 'ready', initMs: Math.round(performance.now() - t0) });

  port.on('message', (message: HostToWorker) => {
    try {
      const t = performance.now();
      if (Atomics.load(aborted, 0) === 1 && message.type !== 'abort') return;
      switch (message.type) {
        case 'audio': {
          const events = decoder.push(new Int16Array(message.pcm));
          post({ type: 'events', events, decodeMs: performance.now() - t });
          break;
        }
        case 'finalize':
          post({ type: 'events', events: [decoder.flush('finalize')], decodeMs: performance.now() - t });
          break;
        case 'close':
          post({ type: 'events', events: [decoder.flush('close')], decodeMs: performance.now() - t });
          recognizer.free();
          post({ type: 'closed' });
          port.close();
          break;
        case 'abort':
          recognizer.free();
          port.close();
          break;
      }
    } catch (error) {
      post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
      recognizer.free();
      port.close();
    }
  });
}

if (parentPort) {
  try {
    run(parentPort);
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    parentPort.close();
  }
}
