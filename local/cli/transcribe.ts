/**
 * `npm run transcribe -- FILE [--language en] [--out transcript.srt] [--api URL --token T]`:
 * uploads a recording as a file job (to the running local stack, or a deployed one with --api
 * and --token), shows upload progress, then stage, percent, speed and ETA live (WebSocket, or
 * polling GET /jobs/{id} when --ws is not known), and writes the transcript (txt/srt/vtt/json by
 * the --out extension; stdout as text without --out).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MultiBar, Presets } from 'cli-progress';
import WebSocket from 'ws';
import { JobsClient } from '../../core/jobs/upload-client';
import { cliArgs, localToken, readLocalEndpoints } from './local-endpoints';

const ENDED = new Set(['complete', 'failed', 'cancelled']);

async function main(): Promise<void> {
  const { values, positionals } = cliArgs({
    language: { type: 'string' },
    out: { type: 'string' },
    api: { type: 'string' },
    ws: { type: 'string' },
    token: { type: 'string' },
    user: { type: 'string', default: 'alice' },
  });
  const file = positionals[0];
  if (!file)
    throw new Error(
      'Usage: npm run transcribe -- FILE [--language en] [--out transcript.srt] [--api URL --token T]',
    );
  let api = values.api;
  let wsUrl = values.ws;
  let token = values.token;
  if (!api) {
    const local = readLocalEndpoints();
    api = local.rest;
    wsUrl ??= local.ws;
    token ??= await localToken(String(values.user));
  }
  if (!token) throw new Error('--token is required with --api');
  const client = new JobsClient({ apiUrl: api, token });

  const bars = new MultiBar(
    {
      format: ' {stage} |{bar}| {percentage}% | {detail}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
    },
    Presets.shades_classic,
  );
  const bar = bars.create(100, 0, { stage: 'uploading'.padEnd(12), detail: '' });
  const { jobId } = await client.transcribeFile(file, {
    ...(values.language ? { language: values.language } : {}),
    onUpload: (sent, total) =>
      bar.update(Math.floor((sent / total) * 100), {
        stage: 'uploading'.padEnd(12),
        detail: `${(sent / 1024 ** 2).toFixed(1)} / ${(total / 1024 ** 2).toFixed(1)} MB`,
      }),
  });

  const current: Record<string, unknown> = {};
  const show = (update: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(update))
      if (value !== undefined && value !== null) current[key] = value;
    const state = current;
    const speed = Number(state.speed ?? 0);
    const eta = state.etaSeconds;
    bar.update(Number(state.percent ?? 0), {
      stage: String(state.stage).padEnd(12),
      detail: [
        speed > 0 ? `${speed.toFixed(1)}× real time` : '',
        typeof eta === 'number' ? `ETA ${formatSeconds(eta)}` : '',
      ]
        .filter(Boolean)
        .join(' | '),
    });
  };

  const final = await follow(client, jobId, wsUrl, token, show);
  show(final);
  bars.stop();
  if (final.stage !== 'complete') {
    const error = final.error as { code?: string; message?: string } | null;
    process.stderr.write(`Job ${final.stage}: ${error ? `${error.code}: ${error.message}` : ''}\n`);
    if (!final.resultLocation) process.exit(1);
  }
  const ext = values.out ? path.extname(values.out).slice(1).toLowerCase() : 'txt';
  const format = ['txt', 'srt', 'vtt', 'json'].includes(ext) ? ext : 'txt';
  const res = await fetch(`${api.replace(/\/$/, '')}/meetings/${jobId}/transcript?format=${format}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Could not read the transcript: HTTP ${res.status} ${text}`);
  if (values.out) {
    await writeFile(values.out, text);
    process.stderr.write(`Transcript written to ${values.out} (job ${jobId})\n`);
  } else process.stdout.write(text);
  if (final.stage !== 'complete') process.exit(1);
}

/** Live over the WebSocket API when its URL is known, else polling with backoff; resolves with the ended job. */
async function follow(
  client: JobsClient,
  jobId: string,
  wsUrl: string | undefined,
  token: string,
  show: (state: Record<string, unknown>) => void,
): Promise<Record<string, unknown>> {
  if (wsUrl) {
    const socket = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
    const ended = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.once('close', () => resolve(false));
      socket.once('open', () => socket.send(JSON.stringify({ action: 'subscribe_job', jobId })));
      socket.on('message', (data) => {
        const m = JSON.parse(String(data)) as {
          type: string;
          payload?: Record<string, unknown>;
          state?: Record<string, unknown>;
        };
        if (m.type === 'state' && m.state) {
          show(m.state);
          if (ENDED.has(String(m.state.stage))) resolve(true);
        }
        if (m.type === 'progress_update' && m.payload) show(m.payload);
        if (m.type === 'time_estimate' && m.payload) show({ etaSeconds: m.payload.secondsRemaining });
        if (
          m.type === 'complete' ||
          m.type === 'error' ||
          (m.type === 'stage_change' && ENDED.has(String(m.payload?.to)))
        )
          resolve(true);
      });
    });
    socket.close();
    if (!ended) process.stderr.write('WebSocket unavailable: following the job by polling\n');
  }
  let delay = 500;
  for (;;) {
    const state = await client.call('GET', `/jobs/${jobId}`);
    show(state);
    if (ENDED.has(String(state.stage))) return state;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, 5_000);
  }
}

function formatSeconds(s: number): string {
  const total = Math.round(s);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
