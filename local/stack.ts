/**
 * Local mode: every part of Parley on loopback, with real wire protocols and no cloud account.
 * `startLocalStack()` is what `npm start` and the tests both use.
 *
 * The Lambda handlers read their configuration from process.env at module load, as on AWS,
 * so the stack sets the same variables the CDK stack sets before it loads them. Because they
 * are then cached for the life of the process, a second stack in the same process reuses the
 * first one's ports (which also shows the first one freed them).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type RunningAudioGateway, startAudioGateway } from '../containers/audio-gateway/main';
import { type RunningFileWorker, startFileWorker } from '../containers/file-worker/main';
import { destroyClients } from '../core/clients/lifecycle';
import { dlqUrl, loadAudioGatewayConfig, queueUrl } from '../core/config';
import { loadFileWorkerConfig } from '../core/jobs/config';
import { createLogger } from '../core/logger';
import { BUCKETS, QUEUES } from '../core/resources';
import { LOCAL_WEB_CLIENT_ID, type WebConfig } from '../core/web/config';
import {
  createLocalClients,
  type RunningEmulators,
  setLocalSqsReceiveWaitFix,
  startEmulators,
} from './aws-emulators';
import { type DevIssuer, startDevIssuer } from './dev-issuer';
import { startEmulatorsInThread } from './emulator-thread';
import { type HttpHost, type HttpRoute, startHttpHost } from './http-host';
import { restRoutes } from './http-routes';
import { fanoutHandler, fanoutShardHandler, wsAuthorizer, wsMockRoutes, wsRoutes } from './lambda-routes';
import { type RecallSimulator, startRecallSimulator } from './recall-simulator';
import { listRecordings, loadRecording } from './recordings';
import { forwardS3Notifications } from './s3-notifications';
import { type SpeechServer, startSpeechServer } from './speech-server';
import { type SqsEventSource, startSqsEventSource } from './sqs-event-source';
import { startWebServer, type WebServer } from './web-server';
import { startWsGateway, type WsGateway } from './ws-gateway';

export const FIXTURE_DIR = path.resolve(__dirname, '..', 'fixtures');
export const SAMPLE_FIXTURE = {
  wavPath: path.join(FIXTURE_DIR, 'meeting-librivox.wav'),
  scriptPath: path.join(FIXTURE_DIR, 'meeting-librivox.json'),
};
/** `<dataDir>/recordings`: where `npm run sample -- FILE` links files it is asked to play. */
export const RECORDINGS_SUBDIR = 'recordings';
/** Any value works locally; Recall and Deepgram keys are only checked for presence. */
const LOCAL_API_KEY = 'local-dev-key';
const STAGE = 'local';

type PortName = 'dynamodb' | 's3' | 'sqs' | 'issuer' | 'speech' | 'recall' | 'ws' | 'http' | 'audio' | 'web';

export interface LocalStackOptions {
  /** Persist DynamoDB and S3 data (and the dev issuer's key) here; unset keeps them in memory. */
  dataDir?: string;
  host?: string;
  /** Fixed ports (npm start); unset ones are free ports chosen at start. */
  ports?: Partial<Record<PortName, number>>;
  /** Recall simulator speed: 1 = real time. */
  speed?: number;
  /** Recall simulator reconnect policy (tests shorten it). */
  recallReconnect?: { attempts?: number; intervalMs?: number };
  /** API Gateway idle / maximum connection time (tests shorten them). */
  wsLimits?: { idleTimeoutMs?: number; maxDurationMs?: number };
  /** How long a meeting session waits for Recall to reconnect before it ends. */
  reconnectGraceMs?: number;
  /**
   * Folders of recordings a `local://recordings/<name>` meeting can play, searched first; the
   * stack adds `<dataDir>/recordings` (when persisting) and the repo's fixtures/ after them.
   */
  recordingDirs?: string[];
  /** REST routes; default: every REST API handler (local/http-routes.ts). */
  httpRoutes?: HttpRoute[];
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  logger?: Logger;
  /** Where the built web console is (default web/dist; npm start builds it first). */
  webDistDir?: string;
  /** Lifetime of the access tokens the dev issuer gives the web app (tests shorten it). */
  webTokenLifetimeSeconds?: number;
  /** Audio between the local speech engine's interim results (default 1,000 ms; bench:alerts varies it). */
  speechInterimIntervalMs?: number;
  /** Test hook: extra PocketSphinx options for live (not file-job) streams (SpeechServerOptions.liveDecoderArgs). */
  speechLiveDecoderArgs?: Readonly<Record<string, string>>;
  /** How the bot speaks answers without OpenAI: espeak-ng (default) or not at all. */
  speechSynthesis?: 'espeak-ng' | 'none';
  /**
   * Where the AWS emulators run: on a worker thread of their own (default; local/emulator-thread.ts),
   * so handlers and emulated services use separate cores as on AWS, or in this thread
   * (bench/pipeline.ts `--in-process`, the layout before issue #15.3's second pass).
   */
  emulatorLayout?: 'thread' | 'in-process';
  /** local-aws-sqs's own receive timing when false (bench/pipeline.ts `--before`); default true. */
  sqsReceiveWaitFix?: boolean;
  /** File worker: visibility timeout (how soon a killed worker's job resumes), progress interval. */
  fileWorker?: { visibilityTimeoutSeconds?: number; progressIntervalMs?: number; leadMs?: number };
}

export interface LocalStack {
  urls: {
    /** wss endpoint of the realtime API (ws:// locally). */
    ws: string;
    wsManagement: string;
    rest: string;
    /** Where Recall connects (`/recall/{meetingId}?token=…`). */
    audioGateway: string;
    /** The web console: the URL to open in a browser. */
    web: string;
    speech: string;
    recall: string;
    issuer: string;
    dynamodb: string;
    s3: string;
    sqs: string;
  };
  env: Record<string, string>;
  issuer: DevIssuer;
  /** The web console's server and the `/config.json` it serves. */
  web: WebServer;
  webConfig(): Promise<WebConfig>;
  /**
   * Simulates the realtime API dropping every WebSocket: the gateway emulator stops (closing
   * all connections) and a new one starts on the same address.
   */
  restartWsGateway(): Promise<void>;
  recall: RecallSimulator;
  /** Where `local://recordings/<name>` meetings find their files, in search order. */
  recordingDirs: string[];
  speech: SpeechServer;
  /** The audio gateway now running (replaced by restartAudioGateway). */
  audio: RunningAudioGateway;
  /**
   * Simulates a crashed audio-gateway task replaced by a new one on the same address: the
   * old one stops without finalizing anything; Recall reconnects to the new one.
   */
  restartAudioGateway(): Promise<void>;
  /**
   * Replaces the audio-gateway task by a new one on the same address. `graceful` is a rolling
   * deploy (the old task gets SIGTERM: it stops listening, the new one starts, the old one hands
   * its meetings over and Recall reconnects to the new one); otherwise the old task crashes.
   */
  replaceAudioGateway(opts?: { graceful?: boolean }): Promise<void>;
  fanout: SqsEventSource;
  /** The fanout-shard Lambda's event source (shards 1… of large meetings). */
  fanoutShards: SqsEventSource;
  /** The API Gateway WebSocket emulator (tests inject management API faults through it). */
  ws: WsGateway;
  /** The file-jobs worker now running (replaced by restartFileWorker). */
  fileWorker: RunningFileWorker;
  /** Simulates a crashed file-worker task replaced by a new one: the old one stops mid-job without a word. */
  restartFileWorker(): Promise<void>;
  emulators: RunningEmulators;
  /** Stops everything, newest first. Idempotent. */
  stop(): Promise<void>;
}

/** Ports of the first stack in this process, reused by later ones (see the module comment). */
const rememberedPorts: Partial<Record<PortName, number>> = {};

let tempDir: string | undefined;
/** A folder for this process's in-memory stacks, removed when the process exits. */
function processTempDir(): string {
  if (!tempDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-local-'));
    tempDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return tempDir;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const host = opts.host ?? '127.0.0.1';
  const ports = { ...rememberedPorts, ...opts.ports };
  if (opts.logLevel) process.env.POWERTOOLS_LOG_LEVEL = opts.logLevel;
  const logger = opts.logger ?? createLogger('local');
  // Each part's stop, by name: stopAll runs them newest first and warns about any still
  // pending after STOP_WARN_MS (and every STOP_WARN_MS after), so a stop that hangs names itself.
  const stops: { name: string; stop: () => Promise<unknown> }[] = [];
  const onStop = (name: string, stop: () => Promise<unknown>) => stops.push({ name, stop });
  const stopAll = async () => {
    for (const { name, stop } of stops.reverse()) await runStop(name, stop, logger);
    stops.length = 0;
  };
  const webhookSecret = process.env.RECALL_WEBHOOK_SECRET ?? `whsec_${randomBytes(24).toString('base64')}`;
  try {
    if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
    // Last to run on stop: close the kept-alive sockets of the handlers' SDK clients.
    onStop('sdk clients', async () => destroyClients());
    const emulatorOptions = {
      host,
      dataDir: opts.dataDir,
      ports: { dynamodb: ports.dynamodb, s3: ports.s3, sqs: ports.sqs },
      logger,
    };
    if (opts.sqsReceiveWaitFix !== undefined && opts.emulatorLayout === 'in-process')
      setLocalSqsReceiveWaitFix(opts.sqsReceiveWaitFix);
    const emulators =
      opts.emulatorLayout === 'in-process'
        ? await startEmulators(emulatorOptions)
        : await startEmulatorsInThread({
            ...emulatorOptions,
            ...defined({ receiveWaitFix: opts.sqsReceiveWaitFix }),
          });
    onStop('dynamodb, s3 and sqs emulators', () => emulators.stop());

    const issuer = await startDevIssuer({
      host,
      ...defined({ port: ports.issuer, accessTokenLifetimeSeconds: opts.webTokenLifetimeSeconds }),
      // Handlers cache the issuer's keys, so later stacks in this process keep the same key.
      keyFile: path.join(opts.dataDir ?? processTempDir(), 'dev-issuer-key.json'),
    });
    onStop('dev issuer', () => issuer.stop());

    // The gateway emulator must exist before the handlers load (they read its endpoint).
    const startWs = (port: number | undefined) =>
      startWsGateway({
        host,
        port,
        stage: STAGE,
        authorizer: wsAuthorizer,
        routes: wsRoutes(),
        mockRoutes: wsMockRoutes(),
        ...defined({
          idleTimeoutMs: opts.wsLimits?.idleTimeoutMs,
          maxDurationMs: opts.wsLimits?.maxDurationMs,
        }),
        logger,
      });
    let ws: WsGateway = await startWs(ports.ws);
    onStop('websocket gateway', () => ws.stop());

    const rest: HttpHost = await startHttpHost({
      host,
      port: ports.http,
      routes: opts.httpRoutes ?? restRoutes(),
      jwt: (await import('../core/auth/jwt-verifier')).createJwtVerifier({
        issuer: issuer.issuer,
        audience: issuer.audience,
        jwksUri: issuer.jwksUri,
      }),
      cors: { allowOrigins: ['*'] },
      logger,
    });
    onStop('rest api', () => rest.stop());

    const recordingDirs = [
      ...(opts.recordingDirs ?? []).map((dir) => path.resolve(dir)),
      ...(opts.dataDir ? [path.join(opts.dataDir, RECORDINGS_SUBDIR)] : []),
      FIXTURE_DIR,
    ];
    // Read on every request, so recordings added while the stack runs show up in the form.
    const webConfig = async (): Promise<WebConfig> => ({
      stage: STAGE,
      wsUrl: ws.url,
      restUrl: rest.url,
      oidc: { authority: issuer.issuer, clientId: LOCAL_WEB_CLIENT_ID, scope: 'openid profile' },
      recordings: await listRecordings(recordingDirs),
    });
    // The audio gateway starts below; until then the CSP names no microphone socket.
    let audioOrigin: string | undefined;
    const web = await startWebServer({
      host,
      ...defined({ port: ports.web, distDir: opts.webDistDir }),
      config: webConfig,
      // The browser streams microphones to the audio gateway and PUTs uploads to presigned s3rver URLs.
      connectOrigins: () => [...(audioOrigin ? [audioOrigin] : []), emulators.endpoints.s3],
      mediaOrigins: () => [emulators.endpoints.s3],
      logger,
    });
    onStop('web server', () => web.stop());

    const speech = await startSpeechServer({
      host,
      ...defined({
        port: ports.speech,
        interimIntervalMs: opts.speechInterimIntervalMs,
        liveDecoderArgs: opts.speechLiveDecoderArgs,
      }),
      logger,
    });
    onStop('speech server', () => speech.stop());

    const recall = await startRecallSimulator({
      host,
      port: ports.recall,
      apiKey: LOCAL_API_KEY,
      fixture: SAMPLE_FIXTURE,
      recordings: (name) => loadRecording(recordingDirs, name),
      speed: opts.speed ?? 1,
      reconnect: opts.recallReconnect,
      // Bot status changes reach the REST API's webhook, signed as Recall signs them.
      webhookUrl: `${rest.url}/webhooks/recall`,
      webhookSecret,
      logger,
    });
    onStop('recall simulator', () => recall.stop());

    const env: Record<string, string> = {
      ...emulators.env,
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      OIDC_JWKS_URI: issuer.jwksUri,
      WS_MANAGEMENT_ENDPOINT: ws.managementEndpoint,
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      RECALL_BASE_URL: recall.url,
      RECALL_API_KEY: LOCAL_API_KEY,
      RECALL_WEBHOOK_SECRET: webhookSecret,
      DEEPGRAM_API_KEY: LOCAL_API_KEY,
      DEEPGRAM_URL: speech.wsUrl,
      PORT: String(ports.audio ?? 0),
    };
    Object.assign(process.env, env);
    if (opts.speechSynthesis === 'none') delete process.env.SPEECH_SYNTHESIS;
    else process.env.SPEECH_SYNTHESIS = env.SPEECH_SYNTHESIS = 'espeak-ng';

    const startAudio = (port: number) => {
      process.env.PORT = String(port);
      return startAudioGateway(loadAudioGatewayConfig(), logger, {
        host,
        reconnectGraceMs: opts.reconnectGraceMs,
      });
    };
    let audio = await startAudio(ports.audio ?? 0);
    onStop('audio gateway', () => audio.gateway.shutdown('local stack stopping'));
    const audioUrl = `ws://${host}:${audio.port}`;
    audioOrigin = audioUrl;
    process.env.AUDIO_GATEWAY_URL = env.AUDIO_GATEWAY_URL = audioUrl;

    const { sqs } = createLocalClients(emulators.endpoints);
    onStop('fan-out sqs client', async () => sqs.destroy());
    // Shards 1… of large meetings (core/pipeline/fanout-shards.ts), one event source as on AWS.
    const shardDef = QUEUES.fanoutShards;
    const fanoutShards = startSqsEventSource({
      sqs,
      queueUrl: queueUrl('fanoutShards'),
      queueArn: emulators.queueArns.fanoutShards.queue,
      dlqUrl: dlqUrl('fanoutShards'),
      maxReceiveCount: shardDef.maxReceiveCount,
      batchSize: shardDef.batchSize,
      visibilityTimeoutSeconds: shardDef.visibilityTimeoutSeconds,
      functionTimeoutSeconds: shardDef.visibilityTimeoutSeconds,
      fifo: shardDef.fifo,
      handler: fanoutShardHandler,
      logger,
    });
    // Registered before the fan-out (stops run newest first): shards it sends last are handled.
    onStop('fan-out shards', () => fanoutShards.stop());
    const def = QUEUES.transcriptEvents;
    const fanout = startSqsEventSource({
      sqs,
      queueUrl: queueUrl('transcriptEvents'),
      queueArn: emulators.queueArns.transcriptEvents.queue,
      dlqUrl: dlqUrl('transcriptEvents'),
      maxReceiveCount: def.maxReceiveCount,
      batchSize: def.batchSize,
      visibilityTimeoutSeconds: def.visibilityTimeoutSeconds,
      // Every local handler shares this process's CPU (on AWS each invocation has its own), so a
      // starved machine must not fail batches at the deployed 5 s: the longest timeout AWS accepts.
      functionTimeoutSeconds: def.visibilityTimeoutSeconds,
      fifo: def.fifo,
      handler: fanoutHandler,
      logger,
    });
    onStop('fan-out', () => fanout.stop());
    // The gateway stops before the fan-out (and after nothing it needs: speech server, emulators),
    // so its sessions' last finals and `ended` statuses still reach subscribers.
    const gatewayStop = stops.findIndex((s) => s.name === 'audio gateway');
    stops.push(...stops.splice(gatewayStop, 1));

    // S3 → SQS notification for uploads, then the file worker polling that queue.
    const notifications = forwardS3Notifications({
      events: emulators.s3Events,
      sqs,
      queueUrl: queueUrl('fileJobs'),
      bucket: BUCKETS.media.localName,
      prefix: 'uploads/jobs/',
      logger,
    });
    onStop('notifications', () => notifications.stop());
    const startWorker = () =>
      startFileWorker(
        loadFileWorkerConfig({
          ...process.env,
          ...(opts.fileWorker?.visibilityTimeoutSeconds !== undefined
            ? { JOB_VISIBILITY_TIMEOUT_SECONDS: String(opts.fileWorker.visibilityTimeoutSeconds) }
            : {}),
        }),
        logger,
        {
          waitTimeSeconds: 1,
          ...defined({
            progressIntervalMs: opts.fileWorker?.progressIntervalMs,
            leadMs: opts.fileWorker?.leadMs,
          }),
        },
      );
    let fileWorker = startWorker();
    const killedWorkers: RunningFileWorker[] = [];
    onStop('file worker', async () => {
      await fileWorker.stop();
      await Promise.all(killedWorkers.map((w) => w.worker.stop()));
    });

    Object.assign(rememberedPorts, {
      dynamodb: portOf(emulators.endpoints.dynamodb),
      s3: portOf(emulators.endpoints.s3),
      sqs: portOf(emulators.endpoints.sqs),
      issuer: issuer.port,
      speech: speech.port,
      recall: recall.port,
      ws: ws.port,
      http: rest.port,
      audio: audio.port,
      web: web.port,
    });

    const replaceAudioGateway = async ({ graceful = false } = {}) => {
      const old = audio;
      if (!graceful) {
        await old.gateway.kill();
        audio = await startAudio(old.port);
        return;
      }
      old.gateway.stopListening();
      audio = await startAudio(old.port);
      await old.gateway.handover();
    };
    let stopping: Promise<void> | undefined;
    return {
      urls: {
        ws: ws.url,
        wsManagement: ws.managementEndpoint,
        rest: rest.url,
        audioGateway: audioUrl,
        web: web.url,
        speech: speech.wsUrl,
        recall: recall.url,
        issuer: issuer.issuer,
        ...emulators.endpoints,
      },
      env,
      issuer,
      web,
      webConfig,
      async restartWsGateway() {
        const port = ws.port;
        await ws.stop();
        ws = await startWs(port);
      },
      recall,
      recordingDirs,
      speech,
      get audio() {
        return audio;
      },
      restartAudioGateway: () => replaceAudioGateway(),
      replaceAudioGateway,
      fanout,
      fanoutShards,
      ws,
      get fileWorker() {
        return fileWorker;
      },
      async restartFileWorker() {
        fileWorker.kill();
        killedWorkers.push(fileWorker);
        fileWorker = startWorker();
      },
      emulators,
      stop: () => {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A stop still pending after this long is logged (by name), and again every this long … */
export const STOP_WARN_MS = 10_000;
/** … at error level (shown by tests' default level) once it has been pending this long. */
export const STOP_HUNG_MS = 60_000;

/** Runs one part's stop: a failure is logged, and so is a stop that takes longer than STOP_WARN_MS. */
export async function runStop(
  name: string,
  stop: () => Promise<unknown>,
  logger: Pick<Logger, 'warn' | 'error'>,
  warnMs = STOP_WARN_MS,
): Promise<void> {
  const started = Date.now();
  const timer = setInterval(() => {
    const waitedMs = Date.now() - started;
    if (waitedMs >= STOP_HUNG_MS) logger.error('stop still pending', { stop: name, waitedMs });
    else logger.warn('stop still pending', { stop: name, waitedMs });
  }, warnMs);
  try {
    await stop();
  } catch (error) {
    logger.warn('stop failed', { stop: name, error: String(error) });
  } finally {
    clearInterval(timer);
  }
}

/** Options without undefined values, so callees' defaults (`{ ...defaults, ...opts }`) apply. */
function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}
