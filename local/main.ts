/**
 * `npm start`: the whole of Parley on this machine, with a sample meeting you can watch live.
 * Data persists under .data/ (delete it to start afresh). Ctrl-C stops everything.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../core/logger';
import { DATA_DIR, ENDPOINTS_FILE, LOCAL_PORTS, type LocalEndpoints } from './paths';
import { listRecordings } from './recordings';
import { startSampleMeeting } from './sample-meeting';
import { RECORDINGS_SUBDIR, startLocalStack } from './stack';
import { ensureWebBuild, webBuildIsStale } from './web-build';

async function main(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  const logger = createLogger('local');
  const { values } = parseArgs({ options: { recordings: { type: 'string', multiple: true } }, strict: true });
  if (await webBuildIsStale()) {
    process.stdout.write('Building the web console (web/dist)…\n');
    await ensureWebBuild();
  }
  const stack = await startLocalStack({
    dataDir: DATA_DIR,
    ports: LOCAL_PORTS,
    speed: 1,
    recordingDirs: values.recordings ?? [],
  });
  const recordingsDir = path.join(DATA_DIR, RECORDINGS_SUBDIR);
  mkdirSync(recordingsDir, { recursive: true });
  writeFileSync(
    ENDPOINTS_FILE,
    JSON.stringify(
      {
        ws: stack.urls.ws,
        rest: stack.urls.rest,
        issuer: stack.issuer.issuer,
        audience: stack.issuer.audience,
        keyFile: path.join(DATA_DIR, 'dev-issuer-key.json'),
        recordingsDir,
      } satisfies LocalEndpoints,
      null,
      2,
    ),
  );
  const meeting = await startSampleMeeting(stack, logger);
  const token = await stack.issuer.mintToken('alice', { expiresInSeconds: 12 * 3600 });
  const lines = [
    `Open ${stack.urls.web} (sign in as alice to watch the sample meeting live)`,
    '',
    'Parley is running locally.',
    '',
    `  Web console                ${stack.urls.web}`,
    `  Realtime API (WebSocket)   ${stack.urls.ws}?token=<JWT>`,
    `  REST API                   ${stack.urls.rest}   (docs: ${stack.urls.rest}/docs)`,
    `  Audio gateway (Recall)     ${stack.urls.audioGateway}/recall/{meetingId}?token=…`,
    `  Speech server (Deepgram)   ${stack.urls.speech}/v1/listen`,
    `  Recall simulator           ${stack.urls.recall}/api/v1/bot/`,
    `  Dev OIDC issuer            ${stack.issuer.issuer}/.well-known/openid-configuration`,
    `  DynamoDB / S3 / SQS        ${stack.urls.dynamodb}  ${stack.urls.s3}  ${stack.urls.sqs}`,
    '',
    `Sample meeting ${meeting.meetingId} is streaming now (keywords: ${meeting.keywords.join(', ')}).`,
    'Watch it live in another terminal:',
    '',
    `  npm run tail -- ${meeting.meetingId}`,
    '',
    'Start another sample meeting:     npm run sample',
    `Play a recording into a meeting:  npm run sample -- FILE   (${(await listRecordings(stack.recordingDirs)).length} ready: npm run sample -- --list)`,
    'A token for user "alice" (12 h):  npm run token -- --user alice',
    '',
    token,
    '',
    'Ctrl-C to stop.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping…\n');
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`Parley failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
