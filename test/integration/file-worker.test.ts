/**
 * The file worker against the emulators (dynalite, s3rver, local SQS) and the local fan-out, with
 * a Deepgram stand-in speaking the real wire protocol (test/helpers/fake-deepgram.ts): the upload
 * is a WAV whose 20 ms frames are numbered, so every stored final says exactly which audio it
 * covers. No speech engine, no browser: runs in seconds without the heavy lock.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type RunningFileWorker, startFileWorker } from '../../containers/file-worker/main';
import { destroyClients } from '../../core/clients/lifecycle';
import { bucketName, dlqUrl, queueUrl } from '../../core/config';
import { loadFileWorkerConfig } from '../../core/jobs/config';
import { type Job, TERMINAL_JOB_STAGES } from '../../core/jobs/model';
import { JobRepository } from '../../core/jobs/repository';
import { createJob } from '../../core/jobs/service';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { wavHeader } from '../../core/recordings/assemble';
import { QUEUES } from '../../core/resources';
import { SegmentRepository, type StoredSegment } from '../../core/transcript/segment-repository';
import {
  createLocalClients,
  type LocalAwsClients,
  type RunningEmulators,
  startEmulators,
} from '../../local/aws-emulators';
import { fanoutHandler } from '../../local/lambda-routes';
import { forwardS3Notifications } from '../../local/s3-notifications';
import { type SqsEventSource, startSqsEventSource } from '../../local/sqs-event-source';
import { type FakeDeepgram, numberedFrame, startFakeDeepgram } from '../helpers/fake-deepgram';
import { waitFor } from '../helpers/live';

jest.setTimeout(120_000);

const logger = createLogger('file-worker-test');
const DIR = mkdtempSync(path.join(tmpdir(), 'parley-file-worker-test-'));
let emulators: RunningEmulators;
let clients: LocalAwsClients;
let fanout: SqsEventSource;
let notifications: { stop(): Promise<void> | void };
let fake: FakeDeepgram;
const workers: RunningFileWorker[] = [];
let jobs: JobRepository;
let segments: SegmentRepository;

beforeAll(async () => {
  emulators = await startEmulators({ logger });
  Object.assign(process.env, emulators.env, {
    // The fan-out posts to WebSocket subscribers; these jobs have none.
    WS_MANAGEMENT_ENDPOINT: 'http://127.0.0.1:9',
    POWERTOOLS_METRICS_DISABLED: 'true',
    DEEPGRAM_API_KEY: 'local-dev-key',
  });
  clients = createLocalClients(emulators.endpoints);
  jobs = new JobRepository();
  segments = new SegmentRepository();
  const def = QUEUES.transcriptEvents;
  fanout = startSqsEventSource({
    sqs: clients.sqs,
    queueUrl: queueUrl('transcriptEvents'),
    queueArn: emulators.queueArns.transcriptEvents.queue,
    dlqUrl: dlqUrl('transcriptEvents'),
    maxReceiveCount: def.maxReceiveCount,
    batchSize: def.batchSize,
    visibilityTimeoutSeconds: def.visibilityTimeoutSeconds,
    fifo: def.fifo,
    handler: fanoutHandler,
    logger,
  });
  notifications = forwardS3Notifications({
    events: emulators.s3Events,
    sqs: clients.sqs,
    queueUrl: queueUrl('fileJobs'),
    bucket: bucketName('media'),
    prefix: 'uploads/jobs/',
    logger,
  });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await fake?.stop();
});

afterAll(async () => {
  await notifications?.stop();
  await fanout?.stop();
  clients?.destroy();
  destroyClients();
  await emulators?.stop();
});

/** A 16 kHz mono WAV of `frames` 20 ms frames numbered 1…frames (the fake engine hears `f<n>`). */
function numberedWav(name: string, frames: number): string {
  const pcm = Buffer.concat(Array.from({ length: frames }, (_, i) => numberedFrame(i + 1)));
  const file = path.join(DIR, name);
  writeFileSync(file, Buffer.concat([wavHeader(pcm.length / 2), pcm]));
  return file;
}

function startWorker(
  overrides: { visibilityTimeoutSeconds?: number; concurrency?: number } = {},
  options: Parameters<typeof startFileWorker>[2] = {},
): RunningFileWorker {
  const worker = startFileWorker(
    loadFileWorkerConfig({
      ...process.env,
      DEEPGRAM_URL: fake.wsUrl,
      JOB_VISIBILITY_TIMEOUT_SECONDS: String(overrides.visibilityTimeoutSeconds ?? 30),
      WORKER_CONCURRENCY: String(overrides.concurrency ?? 1),
    }),
    logger,
    { waitTimeSeconds: 1, ...options },
  );
  workers.push(worker);
  return worker;
}

/** Creates a job as POST /jobs does and uploads `file` to its key (s3rver's event starts it). */
async function submit(file: string, s3: S3Client = clients.s3): Promise<string> {
  const body = readFileSync(file);
  const { job } = await createJob(
    'alice',
    { fileName: path.basename(file), contentType: 'audio/wav', sizeBytes: body.length },
    { jobs, meetings: new MeetingRepository(), s3, bucket: bucketName('media') },
  );
  const jobId = String(job.jobId);
  const created = await jobs.get(jobId);
  await s3.send(new PutObjectCommand({ Bucket: bucketName('media'), Key: created?.uploadKey, Body: body }));
  return jobId;
}

/** Polls `check` until it resolves to a value (90 s unless told: a loaded machine), or fails naming `what`. */
const until = <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 90_000) =>
  waitFor(what, check, timeoutMs);

async function ended(jobId: string): Promise<Job> {
  return until(`job ${jobId} to end`, async () => {
    const job = await jobs.get(jobId);
    return job && TERMINAL_JOB_STAGES.has(job.stage) ? job : undefined;
  });
}

async function stored(jobId: string): Promise<StoredSegment[]> {
  const out: StoredSegment[] = [];
  for await (const s of segments.all(jobId)) out.push(s);
  return out;
}

/** The frame numbers the stored finals name, in order (`f12 f13 …` → 12, 13, …). */
function framesOf(finals: StoredSegment[]): number[] {
  return finals.flatMap((s) => s.text.split(' ').map((w) => Number(w.slice(1))));
}

async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

describe('the file worker on the emulators', () => {
  it('counts in the completed job every final it stored, the last one made at the stream’s close included', async () => {
    // Finals every second of audio, and the last 0.5 s only when the worker closes the stream:
    // that last final arrives after the last progress write.
    fake = await startFakeDeepgram({ finalEveryMs: 1_000 });
    startWorker();
    const jobId = await submit(numberedWav('close-final.wav', 525));
    const job = await ended(jobId);
    expect(job?.stage).toBe('complete');
    const finals = await stored(jobId);
    expect(finals.map((s) => s.seq)).toEqual(finals.map((_, i) => i + 1));
    expect(framesOf(finals)).toEqual(Array.from({ length: 525 }, (_, i) => i + 1));
    expect(finals.length).toBe(11);
    expect(job?.segments).toBe(finals.length);
    expect(job?.checkpointSeq).toBe(finals.length);
    // The job's message is deleted, not dead-lettered.
    await until(
      'the message deleted',
      async () => (await queueDepth(clients.sqs, queueUrl('fileJobs'))) === 0,
    );
    expect(await queueDepth(clients.sqs, dlqUrl('fileJobs'))).toBe(0);
  });

  it('keeps a job to one run when its message is delivered again while the run is alive: the second worker waits, nothing is transcribed twice', async () => {
    // A lagging engine (a result every 150 ms) makes the 40 s file take several seconds.
    fake = await startFakeDeepgram({ finalEveryMs: 1_000, resultDelayMs: 150 });
    // Worker A's heartbeat never comes in time (a stalled process): after 2 s SQS delivers the
    // message again, to worker B, while A is still transcribing.
    const a = startWorker(
      { visibilityTimeoutSeconds: 2 },
      { heartbeatIntervalMs: 3_600_000, leaseSeconds: 8, leadMs: 2_000 },
    );
    const frames = 2_000;
    const jobId = await submit(numberedWav('redelivered.wav', frames));
    await until('A transcribing', async () => (await jobs.get(jobId))?.stage === 'transcribing');
    const b = startWorker({ visibilityTimeoutSeconds: 2 }, { leaseSeconds: 8, leadMs: 2_000 });
    const job = await ended(jobId);
    expect(job.stage).toBe('complete');
    expect(b.worker.stats.leased).toBeGreaterThanOrEqual(1);
    await until('A to finish the run', async () => a.worker.stats.completed === 1);
    expect(b.worker.stats.completed).toBe(0);
    expect(job.attempts).toBe(1);
    // One stream heard the file, once.
    expect(fake.connections).toHaveLength(1);
    expect(fake.connections[0]?.heard).toEqual(Array.from({ length: frames }, (_, i) => i + 1));
    const finals = await stored(jobId);
    expect(finals.map((s) => s.seq)).toEqual(finals.map((_, i) => i + 1));
    expect(framesOf(finals)).toEqual(Array.from({ length: frames }, (_, i) => i + 1));
    expect(job.segments).toBe(finals.length);
    // The copy B put back finds the job ended and is deleted; nothing is dead-lettered.
    await until(
      'the messages deleted',
      async () => (await queueDepth(clients.sqs, queueUrl('fileJobs'))) === 0,
      60_000,
    );
    expect(await queueDepth(clients.sqs, dlqUrl('fileJobs'))).toBe(0);
  });

  it('resumes a killed worker’s job on another worker once its lease has expired, every frame stored once', async () => {
    fake = await startFakeDeepgram({ finalEveryMs: 1_000, resultDelayMs: 150 });
    const a = startWorker({ visibilityTimeoutSeconds: 2 }, { leaseSeconds: 2, leadMs: 2_000 });
    const frames = 2_000;
    const jobId = await submit(numberedWav('killed.wav', frames));
    await until('five stored finals', async () => (await stored(jobId)).length >= 5);
    a.kill();
    const killedAt = Date.now();
    startWorker({ visibilityTimeoutSeconds: 2 }, { leaseSeconds: 2, leadMs: 2_000 });
    const job = await ended(jobId);
    expect(job.stage).toBe('complete');
    expect(job.attempts).toBeGreaterThanOrEqual(2);
    // The second run started only once the killed run's lease had expired.
    expect(fake.connections.length).toBeGreaterThanOrEqual(2);
    const finals = await stored(jobId);
    expect(finals.map((s) => s.seq)).toEqual(finals.map((_, i) => i + 1));
    expect(framesOf(finals)).toEqual(Array.from({ length: frames }, (_, i) => i + 1));
    expect(job.segments).toBe(finals.length);
    expect(Date.now() - killedAt).toBeGreaterThan(0);
    await until(
      'the messages deleted',
      async () => (await queueDepth(clients.sqs, queueUrl('fileJobs'))) === 0,
      60_000,
    );
    expect(await queueDepth(clients.sqs, dlqUrl('fileJobs'))).toBe(0);
  });
});
