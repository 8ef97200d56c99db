/**
 * `npm run sample [-- FILE|NAME] [--user alice] [--title T] [--keywords a,b]`: starts a meeting on
 * the running local stack. Without FILE it is the sample meeting; with one, the Recall simulator's
 * bot plays that recording (any audio or video file ffmpeg reads) as the meeting's audio.
 * `--list` prints the recordings the stack can play by name.
 */
import { existsSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { listRecordings, RECORDING_EXTENSIONS, recordingUrl } from '../recordings';
import { FIXTURE_DIR } from '../stack';
import { cliArgs, localToken, readLocalEndpoints } from './local-endpoints';

const SAMPLE = {
  meetingUrl: 'local://sample',
  title: 'Sample meeting: Sense and Sensibility, chapter 1',
  keywords: ['amiable', 'ill disposed'],
};

async function main(): Promise<void> {
  const { values, positionals } = cliArgs({
    user: { type: 'string', default: 'alice' },
    title: { type: 'string' },
    keywords: { type: 'string' },
    list: { type: 'boolean', default: false },
  });
  const endpoints = readLocalEndpoints();
  if (values.list) {
    const names = await listRecordings([endpoints.recordingsDir, FIXTURE_DIR]);
    process.stdout.write(`${names.join('\n')}\n`);
    return;
  }
  const [file] = positionals;
  const meeting = file
    ? {
        meetingUrl: recordingUrl(linkRecording(file, endpoints.recordingsDir)),
        title: `Recording: ${path.basename(file)}`,
        keywords: [] as string[],
      }
    : SAMPLE;
  const response = await fetch(`${endpoints.rest}/meetings`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await localToken(String(values.user))}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      ...meeting,
      ...(values.title ? { title: values.title } : {}),
      ...(values.keywords ? { keywords: values.keywords.split(',').map((k) => k.trim()) } : {}),
    }),
  });
  const body = (await response.json()) as { meetingId?: string; error?: { message: string } };
  if (!response.ok || !body.meetingId)
    throw new Error(`Could not start a meeting: ${body.error?.message ?? response.status}`);
  process.stdout.write(
    `Meeting ${body.meetingId} is streaming. Watch it:\n\n  npm run tail -- ${body.meetingId}\n`,
  );
}

/**
 * A path to a file is linked into the stack's recordings folder (so the simulator may read it)
 * and played by its file name; anything else is taken as the name of a recording the stack has.
 */
function linkRecording(file: string, recordingsDir: string): string {
  if (!existsSync(file)) return file;
  const source = path.resolve(file);
  const name = path.basename(source);
  if (!(RECORDING_EXTENSIONS as readonly string[]).includes(path.extname(name).toLowerCase())) {
    throw new Error(`${name}: not a playable recording (one of ${RECORDING_EXTENSIONS.join(', ')})`);
  }
  if (path.dirname(source) === recordingsDir) return name;
  const link = path.join(recordingsDir, name);
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current === undefined && existsSync(link)) {
    throw new Error(`${link} already holds another recording named ${name}: rename your file`);
  }
  if (current !== source) {
    if (current !== undefined) unlinkSync(link);
    symlinkSync(source, link);
  }
  return name;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
