/**
 * Entry point of the audio-gateway Fargate service (and of local mode's in-process gateway):
 * reads configuration, wires the SQS publisher, DynamoDB and Deepgram, and serves Recall.
 * SIGTERM (an ECS task stop on a deploy or scale-in) hands every meeting over to another task
 * (AudioGateway.handover): the meetings stay live. SIGINT (a developer's Ctrl-C) ends them.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { AudioGateway } from '../../core/audio/audio-gateway';
import { createDeepgramConnector } from '../../core/audio/deepgram-connector';
import type { LiveAudioExtensions } from '../../core/audio/gateway-extensions';
import { createLiveAudio } from '../../core/audio/live-audio';
import { publishActiveSessions } from '../../core/audio/session-metric';
import { sqs } from '../../core/clients/sqs';
import { type AudioGatewayConfig, awsConfig, loadAudioGatewayConfig, queueUrl } from '../../core/config';
import { createLogger } from '../../core/logger';
import { MeetingRepository } from '../../core/meetings/repository';
import { InterimCoalescer, interimWindowMs } from '../../core/pipeline/interim-coalescer';
import { EventPublisher } from '../../core/pipeline/publisher';
import { TaskProtection, watchTaskStopping } from './task-protection';

export interface RunningAudioGateway {
  gateway: AudioGateway;
  publisher: EventPublisher;
  /** Interim coalescing in front of the publisher (its stats: bench/meeting-usage.ts). */
  interims: InterimCoalescer;
  /** Recordings and browser microphones (tests look at their state). */
  extensions: LiveAudioExtensions;
  port: number;
  url: string;
}

export async function startAudioGateway(
  config: AudioGatewayConfig = loadAudioGatewayConfig(),
  logger: Logger = createLogger('audio-gateway'),
  overrides: { host?: string; reconnectGraceMs?: number } = {},
): Promise<RunningAudioGateway> {
  let gateway: AudioGateway | undefined;
  const publisher = new EventPublisher({
    sqs: sqs(),
    queueUrl: queueUrl('transcriptEvents'),
    logger,
    onBackpressure: (on) => gateway?.applyBackpressure(on),
  });
  // Interim lines to viewers at most one per window per meeting (2 s); every final, status and
  // interim that can raise a keyword alert still goes to the queue at once.
  const interims = new InterimCoalescer(
    (event) => publisher.publish(event),
    interimWindowMs(),
    Date.now,
    (meetingId) => gateway?.keywordsOf(meetingId),
  );
  const repo = new MeetingRepository();
  // Recordings and browser microphones (core/audio/live-audio.ts).
  const extensions = createLiveAudio({ repo, logger });
  gateway = new AudioGateway({
    extensions,
    host: overrides.host ?? '0.0.0.0',
    port: config.port,
    repo,
    connector: createDeepgramConnector({
      apiKey: config.deepgramApiKey,
      wsUrl: config.deepgramUrl,
      model: config.deepgramModel,
      encoding: config.deepgramEncoding,
    }),
    publish: (event) => interims.handle(event),
    // Both at once: a long recording assembly must not hold the last finals back.
    flush: async () => {
      interims.flush();
      await Promise.all([extensions.settle(), publisher.flush()]);
    },
    logger,
    maxSessions: config.maxSessions,
    commandPollMs: config.commandPollMs,
    reconnectGraceMs: overrides.reconnectGraceMs ?? config.reconnectGraceMs,
  });
  const { port, url } = await gateway.listen();
  logger.info('audio gateway listening', { port, maxSessions: config.maxSessions });
  return { gateway, publisher, interims, extensions, port, url };
}

if (require.main === module) {
  const logger = createLogger('audio-gateway');
  const config = loadAudioGatewayConfig();
  startAudioGateway(config, logger).then(
    ({ gateway }) => {
      if (config.stage) {
        publishActiveSessions({
          stage: config.stage,
          region: awsConfig().region,
          count: () => gateway.sessionCount,
          logger,
        });
      }
      const stop = (signal: string) => {
        logger.info(signal === 'SIGTERM' ? 'stopping: handing meetings over' : 'stopping: ending meetings', {
          signal,
          sessions: gateway.sessionCount,
        });
        const deadline = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
        deadline.unref();
        (signal === 'SIGTERM' ? gateway.handover() : gateway.shutdown(signal)).then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      // ECS only (no-ops locally): scale-in protection while holding meetings, and the handover
      // started when draining begins, before the load balancer cuts the sockets (task-protection.ts).
      const protection = TaskProtection.fromEnv(process.env, {
        sessionCount: () => gateway.sessionCount,
        logger,
      });
      protection.start();
      watchTaskStopping(process.env, logger, () => process.emit('SIGTERM', 'SIGTERM'));
      // Also keeps ECS's later SIGTERM from killing a handover in progress (stop() has its deadline).
      process.on('SIGTERM', () => void protection.stop());
    },
    (error: unknown) => {
      logger.error('audio gateway failed to start', { error: String(error) });
      process.exit(1);
    },
  );
}
