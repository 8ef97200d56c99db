/** `npm run token -- --user alice [--hours 12]`: prints a dev token for the local stack. */
import { cliArgs, localToken } from './local-endpoints';

async function main(): Promise<void> {
  const { values } = cliArgs({
    user: { type: 'string', default: 'alice' },
    hours: { type: 'string', default: '12' },
  });
  const hours = Number(values.hours);
  if (!Number.isFinite(hours) || hours <= 0) throw new Error('--hours must be a positive number');
  process.stdout.write(`${await localToken(String(values.user), Math.round(hours * 3600))}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
