/**
 * The file-worker's queue loop: takes S3 ObjectCreated notifications from the file-jobs queue
 * (one job at a time per slot), keeps the message invisible while the job runs (heartbeat),
 * and deletes it when the job has ended. A worker that dies stops its heartbeat; the message
 * reappears after the visibility timeout and another worker resumes the job from its
 * checkpoint. Messages that can never succeed (not an S3 event, unknown job) and jobs that
 * failed their last delivery go to the DLQ with the reason in a message attribute.
 *
 * The message's visibility is not what keeps a job to one run: a heartbeat can be late (a
 * stalled process, a slow network), and then SQS delivers the message again while the first run
 * is alive. The job's lease in DynamoDB is (JobRepository.claim, core/jobs/file-transcriber.ts):
 * a worker that receives the message of a job another run holds puts a fresh copy of it back,
 * delayed until that lease would expire, and deletes the one it received (so the redrive policy
 * does not count these deliveries against the job).
 */

import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { retry } from '../backoff';
import { type FileTranscriber, type JobOutcome, RunControl } from './file-transcriber';
import { jobIdFromKey } from './model';
import type { JobRepository } from './repository';

export interface FileJobWorkerOptions {
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string;
  jobs: Pick<JobRepository, 'claim' | 'update'>;
  transcriber: FileTranscriber;
  logger: Logger;
  /** Deliveries before a failing job is dead-lettered (the queue's maxReceiveCount). */
  maxReceiveCount: number;
  /** How long a message stays invisible without a heartbeat (a lost worker's job waits this long). */
  visibilityTimeoutSeconds: number;
  /** How often the heartbeat extends the message's visibility (default a third of the timeout). */
  heartbeatIntervalMs?: number;
  /** How long a run's lease on its job lasts unless renewed (default the visibility timeout). */
  leaseSeconds?: number;
  /** Long-poll wait (default 20 s, the SQS maximum). */
  waitTimeSeconds?: number;
  /** Jobs run at once by this worker (default 1). */
  concurrency?: number;
}

/** A message that can never be handled. */
class PoisonMessage extends Error {
  override name = 'PoisonMessage';
}

interface S3EventRecord {
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number } };
}

/** The upload keys an S3 notification names (keys arrive URL-encoded, spaces as '+'). */
export function uploadKeysOf(body: string): string[] | 'test-event' {
  let parsed: { Records?: S3EventRecord[]; Event?: string };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    throw new PoisonMessage('The message is not JSON');
  }
  if (parsed.Event === 's3:TestEvent') return 'test-event';
  if (!Array.isArray(parsed.Records)) throw new PoisonMessage('The message is not an S3 event notification');
  return parsed.Records.filter((r) => r.eventName?.startsWith('ObjectCreated:')).map((r) => {
    const key = r.s3?.object?.key;
    if (typeof key !== 'string') throw new PoisonMessage('An S3 event record has no object key');
    return decodeURIComponent(key.replace(/\+/g, ' '));
  });
}

export class FileJobWorker {
  private running = false;
  private readonly active = new Map<string, RunControl>();
  private poll: AbortController | undefined;
  private loops: Promise<void>[] = [];
  readonly stats = {
    received: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    deadLettered: 0,
    retried: 0,
    /** Deliveries of a job another run held (put back until its lease expires). */
    leased: 0,
  };
  /** Names this worker in its runs' lease owners (logs). */
  private readonly workerId = randomUUID().slice(0, 8);

  constructor(private readonly opts: FileJobWorkerOptions) {}

  get activeJobs(): number {
    return this.active.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.poll = new AbortController();
    this.loops = Array.from({ length: this.opts.concurrency ?? 1 }, () => this.loop());
  }

  /**
   * Graceful stop (SIGTERM, scale-in): stop polling, halt running jobs where they are and make
   * their messages visible at once, so another worker resumes them from their checkpoints.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.poll?.abort();
    for (const control of this.active.values()) control.halt();
    await Promise.allSettled(this.loops);
  }

  /** A crash (tests): everything stops, nothing is written or released; the messages reappear after the visibility timeout. */
  kill(): void {
    this.running = false;
    this.killed = true;
    this.poll?.abort();
    for (const control of this.active.values()) control.crash();
  }
  private killed = false;

  private async loop(): Promise<void> {
    while (this.running) {
      let messages: Message[] = [];
      try {
        // A failing receive is retried every second until it answers or stop() aborts.
        const out = await retry(
          () =>
            this.opts.sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: this.opts.queueUrl,
                MaxNumberOfMessages: 1,
                WaitTimeSeconds: this.opts.waitTimeSeconds ?? 20,
                VisibilityTimeout: this.opts.visibilityTimeoutSeconds,
                AttributeNames: ['All'],
                MessageSystemAttributeNames: ['ApproximateReceiveCount'],
              }),
              { abortSignal: this.poll?.signal },
            ),
          {
            maxAttempts: Number.POSITIVE_INFINITY,
            baseMs: 1_000,
            maxDelayMs: 1_000,
            jitter: 'none',
            signal: this.poll?.signal,
            onRetry: ({ error }) =>
              this.opts.logger.warn('receiving file jobs failed; retrying', { error: String(error) }),
          },
        );
        messages = out.Messages ?? [];
      } catch {
        return; // only stop() (an abort) ends the retries
      }
      for (const message of messages) {
        if (!this.running) return;
        this.stats.received++;
        await this.handle(message);
      }
    }
  }

  private async handle(message: Message): Promise<void> {
    const receipt = message.ReceiptHandle as string;
    const receives = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    const heartbeatMs =
      this.opts.heartbeatIntervalMs ?? Math.max(500, (this.opts.visibilityTimeoutSeconds * 1000) / 3);
    let heartbeatWarned = false;
    const heartbeat = setInterval(() => {
      this.opts.sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.opts.queueUrl,
            ReceiptHandle: receipt,
            VisibilityTimeout: this.opts.visibilityTimeoutSeconds,
          }),
        )
        .catch((error) => {
          // Once the message was delivered again its old receipt is refused every beat: say it once.
          if (heartbeatWarned) return;
          heartbeatWarned = true;
          this.opts.logger.warn('heartbeat failed; the job lease keeps the job to this run', {
            error: String(error),
          });
        });
    }, heartbeatMs);
    try {
      const keys = uploadKeysOf(message.Body ?? '');
      if (keys === 'test-event') return await this.delete(receipt);
      for (const key of keys) {
        const outcome = await this.runJob(key);
        if (outcome === 'halted') {
          clearInterval(heartbeat);
          if (!this.killed) await this.release(receipt, 0);
          return;
        }
        if (typeof outcome === 'object') {
          clearInterval(heartbeat);
          await this.requeue(message, outcome.leaseExpiresAt);
          return;
        }
      }
      clearInterval(heartbeat);
      // The job has ended: a refused delete (the message was delivered again meanwhile) only
      // means a later delivery finds the job ended and deletes that copy.
      await this.delete(receipt).catch((error) =>
        this.opts.logger.warn('could not delete the message of an ended job', { error: String(error) }),
      );
    } catch (error) {
      if (this.killed) return;
      if (error instanceof PoisonMessage || receives >= this.opts.maxReceiveCount) {
        await this.deadLetter(message, error);
        return;
      }
      this.stats.retried++;
      this.opts.logger.warn('file job failed; it will be retried', { error: String(error), receives });
      await this.release(receipt, Math.min(5 * 2 ** receives, 300));
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async runJob(key: string): Promise<JobOutcome | 'skipped' | { leaseExpiresAt: number }> {
    const jobId = jobIdFromKey(key);
    if (!jobId) throw new PoisonMessage(`Object ${key} is not a job upload (uploads/jobs/<jobId>/…)`);
    const durationMs = (this.opts.leaseSeconds ?? this.opts.visibilityTimeoutSeconds) * 1000;
    const lease = {
      owner: `${this.workerId}/${randomUUID()}`,
      expiresAt: Date.now() + durationMs,
      durationMs,
    };
    const claimed = await this.opts.jobs.claim(jobId, lease);
    if (claimed.status === 'ended') return 'skipped'; // ended (completed, cancelled) meanwhile
    if (claimed.status === 'missing') throw new PoisonMessage(`No job ${jobId} for object ${key}`);
    if (claimed.status === 'leased') {
      this.stats.leased++;
      this.opts.logger.info('job held by another run; its message goes back until the lease expires', {
        jobId,
        leaseExpiresAt: claimed.leaseExpiresAt,
      });
      return { leaseExpiresAt: claimed.leaseExpiresAt };
    }
    const job = claimed.job;
    if (job.uploadKey !== key) throw new PoisonMessage(`Object ${key} is not the upload of job ${jobId}`);
    const control = new RunControl();
    this.active.set(jobId, control);
    try {
      const outcome = await this.opts.transcriber.run(job, control, lease);
      if (outcome === 'complete') this.stats.completed++;
      if (outcome === 'failed') this.stats.failed++;
      if (outcome === 'cancelled') this.stats.cancelled++;
      return outcome;
    } catch (error) {
      (error as { jobId?: string }).jobId = jobId;
      throw error;
    } finally {
      this.active.delete(jobId);
    }
  }

  /** Parks the message in the DLQ with the reason, fails its job if there is one, and deletes it. */
  private async deadLetter(message: Message, error: unknown): Promise<void> {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.stats.deadLettered++;
    this.opts.logger.error('file job message dead-lettered', { messageId: message.MessageId, reason });
    const jobId = (error as { jobId?: string }).jobId;
    if (jobId) {
      await this.opts.jobs
        .update(jobId, {
          stage: 'failed',
          finishedAt: new Date().toISOString(),
          error: {
            code: 'INTERNAL_ERROR',
            message: 'The job failed repeatedly and was set aside for inspection',
          },
        })
        .catch(() => undefined);
    }
    await this.opts.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.opts.dlqUrl,
        MessageBody: message.Body ?? '',
        MessageAttributes: {
          SourceMessageId: { DataType: 'String', StringValue: message.MessageId ?? 'unknown' },
          Error: { DataType: 'String', StringValue: reason.slice(0, 1_000) },
        },
      }),
    );
    await this.delete(message.ReceiptHandle as string);
  }

  /**
   * Another run holds the job: a fresh copy of the message comes back when that lease would
   * expire (so a run that died is resumed then), and the delivered one is deleted, so that these
   * deliveries never reach the queue's maxReceiveCount.
   */
  private async requeue(message: Message, leaseExpiresAt: number): Promise<void> {
    const delaySeconds = Math.min(900, Math.max(1, Math.ceil((leaseExpiresAt - Date.now()) / 1000) + 1));
    await this.opts.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.opts.queueUrl,
        MessageBody: message.Body ?? '',
        DelaySeconds: delaySeconds,
      }),
    );
    await this.delete(message.ReceiptHandle as string).catch((error) =>
      this.opts.logger.warn('could not delete a requeued message', { error: String(error) }),
    );
  }

  private async delete(receipt: string): Promise<void> {
    await this.opts.sqs.send(
      new DeleteMessageCommand({ QueueUrl: this.opts.queueUrl, ReceiptHandle: receipt }),
    );
  }

  private async release(receipt: string, seconds: number): Promise<void> {
    await this.opts.sqs
      .send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.opts.queueUrl,
          ReceiptHandle: receipt,
          VisibilityTimeout: seconds,
        }),
      )
      .catch((error) => this.opts.logger.warn('could not release the message', { error: String(error) }));
  }
}
