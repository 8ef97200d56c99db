/** The AWS emulators (dynalite, s3rver, local SQS) for one test file. */
import { destroyClients } from '../../core/clients/lifecycle';
import { type EmulatorOptions, type RunningEmulators, startEmulators } from '../../local/aws-emulators';

/**
 * Starts the emulators before the file's tests and points the shared SDK clients at them (via
 * the environment); destroys those clients and stops the emulators after. Call it before any
 * `beforeAll` that needs them; the returned function gives the running emulators.
 */
export function useEmulators(options: EmulatorOptions = {}): () => RunningEmulators {
  let emulators: RunningEmulators | undefined;
  beforeAll(async () => {
    emulators = await startEmulators(options);
    Object.assign(process.env, emulators.env);
  });
  afterAll(async () => {
    destroyClients();
    await emulators?.stop();
  });
  return () => {
    if (!emulators) throw new Error('the emulators have not started');
    return emulators;
  };
}
