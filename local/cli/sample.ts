/** `npm run sample [-- --user alice]`: starts another sample meeting on the running local stack. */
import { cliArgs, localToken, readLocalEndpoints } from './local-endpoints';

async function main(): Promise<void> {
  const { values } = cliArgs({ user: { type: 'string', default: 'alice' } });
  const endpoints = readLocalEndpoints();
  const response = await fetch(`${endpoints.rest}/meetings`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await localToken(String(values.user))}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      meetingUrl: 'local://sample',
      title: 'Sample meeting: Sense and Sensibility, chapter 1',
      keywords: ['amiable', 'ill disposed'],
    }),
  });
  const body = (await response.json()) as { meetingId?: string; error?: { message: string } };
  if (!response.ok || !body.meetingId)
    throw new Error(`Could not start a meeting: ${body.error?.message ?? response.status}`);
  process.stdout.write(
    `Sample meeting ${body.meetingId} is streaming. Watch it:\n\n  npm run tail -- ${body.meetingId}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
