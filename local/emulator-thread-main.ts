/**
 * The emulator thread (started by local/emulator-thread.ts): runs local/aws-emulators.ts and
 * answers the main thread's requests. It ends once the emulators are stopped (nothing else keeps
 * its event loop alive), or with the process.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setLocalSqsReceiveWaitFix, startEmulators } from './aws-emulators';
import type { EmulatorThreadData, FromEmulatorThread, ToEmulatorThread } from './emulator-thread';

if (!parentPort) throw new Error('local/emulator-thread-main.ts runs on a worker thread only');
const port = parentPort;
const send = (message: FromEmulatorThread) => port.postMessage(message);
const { options } = workerData as EmulatorThreadData;

async function main(): Promise<void> {
  const { receiveWaitFix, ...emulatorOptions } = options;
  if (receiveWaitFix !== undefined) setLocalSqsReceiveWaitFix(receiveWaitFix);
  let emulators: Awaited<ReturnType<typeof startEmulators>>;
  try {
    emulators = await startEmulators(emulatorOptions);
  } catch (error) {
    send({ type: 'startFailed', error: String(error) });
    port.close();
    return;
  }
  emulators.s3Events.on('event', (event: unknown) => send({ type: 's3Event', event }));
  port.on('message', (message: ToEmulatorThread) => {
    if (message.type === 'failDynamo') {
      void emulators
        .failDynamo(message.operation, message.times, message.mode)
        .then(() => send({ type: 'done', id: message.id }));
      return;
    }
    emulators
      .stop()
      .then(
        () => send({ type: 'done', id: message.id }),
        (error: unknown) => send({ type: 'done', id: message.id, error: String(error) }),
      )
      .finally(() => port.close());
  });
  const { endpoints, env, queueArns } = emulators;
  send({ type: 'started', running: { endpoints, env, queueArns } });
}

void main();
