/**
 * Entry point of the file-worker Fargate service (and of local mode's in-process worker):
 * polls the file-jobs queue and transcribes uploads through the live meetings' speech path.
 * SIGTERM (scale-in, deploy) halts the running job where it is and hands it back to the queue,
 * so another task resumes it from its checkpoint.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { createDeepgramConnector } from '../../core/audio/deepgram-connector';
import { s3 } from '../../core/clients/s3';
import { sqs } from '../../core/clients/sqs';
import { bucketName, dlqUrl, queueUrl } from '../../core/config';
import { type FileWorkerConfig, loadFileWorkerConfig } from '../../core/jobs/config';
import { FileTranscriber } from '../../core/jobs/file-transcriber';
import { FileJobWorker } from '../../core/jobs/job-worker';
import { JobRepository } from '../../core/jobs/repository';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { EventPublisher } from '../../core/pipeline/publisher';
import { QUEUES } from '../../core/resources';
import { SegmentRepository } from '../../core/transcript/segment-repository';

export interface RunningFileWorker {
  worker: FileJobWorker;
  publisher: EventPublisher;
  /** Graceful stop: running jobs go back to the queue at once. */
  stop(): Promise<void>;
  /** Simulated crash: nothing more is written; jobs reappear after the visibility timeout. */
  kill(): void;
}

export function startFileWorker(
  config: FileWorkerConfig = loadFileWorkerConfig(),
  logger: Logger = createLogger('file-worker'),
  overrides: {
    waitTimeSeconds?: number;
    progressIntervalMs?: number;
    leadMs?: number;
    /** Tests: a heartbeat slower than the visibility timeout (a stalled worker). */
    heartbeatIntervalMs?: number;
    leaseSeconds?: number;
  } = {},
): RunningFileWorker {
  const publisher = new EventPublisher({ sqs: sqs(), queueUrl: queueUrl('transcriptEvents'), logger });
  const jobs = new JobRepository();
  const transcriber = new FileTranscriber({
    jobs,
    meetings: new MeetingRepository(),
    segments: new SegmentRepository(),
    s3: s3(),
    bucket: bucketName('media'),
    connector: createDeepgramConnector({
      apiKey: config.deepgramApiKey,
      wsUrl: config.deepgramUrl,
      model: config.deepgramModel,
    }),
    publish: (event) => publisher.publish(event),
    flush: () => publisher.flush(),
    logger,
    tmpDir: config.tmpDir,
    ...(overrides.progressIntervalMs !== undefined
      ? { progressIntervalMs: overrides.progressIntervalMs }
      : {}),
    ...(overrides.leadMs !== undefined ? { leadMs: overrides.leadMs } : {}),
  });
  const worker = new FileJobWorker({
    sqs: sqs(),
    queueUrl: queueUrl('fileJobs'),
    dlqUrl: dlqUrl('fileJobs'),
    jobs,
    transcriber,
    logger,
    maxReceiveCount: QUEUES.fileJobs.maxReceiveCount,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    concurrency: config.concurrency,
    ...(overrides.waitTimeSeconds !== undefined ? { waitTimeSeconds: overrides.waitTimeSeconds } : {}),
    ...(overrides.heartbeatIntervalMs !== undefined
      ? { heartbeatIntervalMs: overrides.heartbeatIntervalMs }
      : {}),
    ...(overrides.leaseSeconds !== undefined ? { leaseSeconds: overrides.leaseSeconds } : {}),
  });
  worker.start();
  logger.info('file worker polling', { concurrency: config.concurrency });
  return {
    worker,
    publisher,
    async stop() {
      await worker.stop();
      await publisher.flush();
    },
    kill: () => worker.kill(),
  };
}

if (require.main === module) {
  const logger = createLogger('file-worker');
  const config = loadFileWorkerConfig();
  const running = startFileWorker(config, logger);
  const stop = (signal: string) => {
    logger.info('stopping: handing running jobs back', { signal });
    const deadline = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    deadline.unref();
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
