/**
 * What a Parley stage costs on AWS: the fixed monthly cost and the cost of one meeting-hour,
 * each line with its arithmetic, from the synthesized template and a usage model taken from the
 * benchmarks (docs/benchmarks.md). Infrastructure only: Deepgram, Recall.ai and OpenAI bill
 * separately.
 *
 *   npm run cost                        # synthesize the default stage in-process and print
 *   npm run cost -- --viewers 10        # viewers per meeting (default 5)
 *   npm run cost -- --template cdk.out/Parley-dev.template.json   # a template `cdk synth` wrote
 *   npm run cost -- --markdown          # the "What it costs" section of docs/deploy.md
 *   npm run cost -- --write-docs        # replace that section in docs/deploy.md
 *
 * Synthesis runs offline: no credentials, no Docker, no Vite (a stand-in web app directory;
 * Lambda bundling skipped — neither changes what is priced).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { parseSpeechEncoding, type SpeechEncoding, wireBytesPerSecond } from '../core/audio/speech-encoding';
import { HOP_METRICS } from '../core/pipeline/fanout-wiring';
import { INTERIM_WINDOW_MS } from '../core/pipeline/interim-coalescer';
import { PING_INTERVAL_MS } from '../core/realtime/ping-route';
import { FANOUT_METRICS } from '../core/resources';
import { REPO_ROOT } from '../lib/constructs/parley-function';
import { buildParleyApp } from '../lib/parley-app';
import { mixedAudioMessage } from '../local/recall-simulator/messages';

// ---- prices ----------------------------------------------------------------------------------

/** AWS list prices, us-east-1, on-demand, no free tier, no Savings Plans. Verify for your region. */
export const PRICES = {
  asOf: 'November 2026',
  region: 'us-east-1',
  hoursPerMonth: 730,
  albHour: 0.0225,
  albLcuHour: 0.008,
  natHour: 0.045,
  natGb: 0.045,
  publicIpv4Hour: 0.005,
  fargateArmVcpuHour: 0.03238,
  fargateArmGbHour: 0.00356,
  fargateX86VcpuHour: 0.04048,
  fargateX86GbHour: 0.004445,
  secretMonth: 0.4,
  alarmMetricMonth: 0.1,
  dashboardMonth: 3,
  customMetricMonth: 0.3,
  logsIngestGb: 0.5,
  sqsFifoMillion: 0.5,
  sqsStandardMillion: 0.4,
  lambdaRequestMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  lambdaX86GbSecond: 0.0000166667,
  dynamoWriteMillion: 0.625,
  dynamoReadMillion: 0.125,
  wsMessageMillion: 1,
  wsConnectionMinuteMillion: 0.25,
  dataOutGb: 0.09,
  cloudfrontToOriginGb: 0.02,
  s3PutThousand: 0.005,
  s3GetThousand: 0.0004,
  s3GbMonth: 0.023,
} as const;

const GB = 1024 ** 3;

// ---- usage model -----------------------------------------------------------------------------

/**
 * One meeting-hour. The realtime side (WebSocket messages and bytes, SQS requests, fan-out
 * invocations, DynamoDB units) is measured: bench/meeting-usage.ts plays fixture meetings
 * through the whole local stack with 5 viewers and counts what is actually sent
 * (bench/usage/meeting-hour.json; `usageFromMeasurement`). What a local run cannot measure is
 * modelled and says so: Lambda billed duration, log bytes, Recall's audio framing, recordings
 * (bench/microphone.ts).
 */
export interface UsageModel {
  viewers: number;
  /** Where the measured figures come from (command and date), for the docs. */
  source: string;
  /** INTERIM_WINDOW_MS the measured gateway ran with (interim lines depend on it). */
  interimWindowMs: number;
  /** Billed WebSocket messages to one viewer in a meeting-hour, as the reference client subscribes (batched frames). */
  messagesPerViewer: number;
  /** The same for a client that takes one message a frame: the same-run baseline. */
  legacyMessagesPerViewer: number;
  /** Bytes to one viewer in a meeting-hour. */
  bytesPerViewer: number;
  /** Messages one viewer gets in a meeting-hour, by type, whatever the framing. */
  messageTypes: Record<string, number>;
  /** Events the gateway put on the transcript queue, and the billed send requests that carried them. */
  queueMessages: number;
  sqsSendRequests: number;
  /** Fan-out invocations (= non-empty receives and delete batches of its event source on AWS). */
  fanoutInvocations: number;
  /** Finals among the queue's events (they cost the fan-out more: see fanoutMsPerFinal). */
  finals: number;
  /** DynamoDB write and read units, and the meeting-item updates among the writes (GSI copies). */
  writeUnits: number;
  meetingUpdates: number;
  readUnits: number;
  /** Modelled: billed fan-out duration, local handler time (bench/pipeline.ts) + ~8 ms per sequential AWS call. */
  fanoutMsPerFinal: number;
  fanoutMsPerEvent: number;
  /** Modelled: CloudWatch Logs bytes per Lambda invocation (START/END/REPORT) and per access-log line. */
  logBytesPerInvocation: number;
  /**
   * Modelled: bytes of one embedded-metric record of the fan-out (a final's: event count, latency,
   * five hop latencies), written after each invocation with a final and else at most once a
   * minute (core/pipeline/fanout-wiring.ts MetricsRelease).
   */
  logBytesPerMetricsRecord: number;
  logBytesPerAccessLogLine: number;
  /** Recording archive (bench/microphone.ts): chunk PUTs, assembly GETs, Opus bytes kept. */
  recordingPuts: number;
  recordingGets: number;
  recordingStoredBytes: number;
  recordingRetentionMonths: number;
  /** Measured: bytes the speech service received per second of audio, and the encoding that sent them. */
  speech?: { encoding: SpeechEncoding; bytesPerAudioSecond: number };
}

/** What bench/meeting-usage.ts writes (bench/usage/meeting-hour.json). */
export interface MeasuredUsage {
  measuredAt: string;
  command: string;
  viewers: number;
  batchViewers: number;
  /** INTERIM_WINDOW_MS the measured gateway ran with. */
  interimWindowMs?: number;
  /** Size (DynamoDB's count) of the measured meeting items at their end: what an update of one costs. */
  meetingItemBytes?: number;
  /** Audio the local speech server received (every meeting, resends included) and decoded. */
  speech?: { encoding: SpeechEncoding; bytesReceived: number; audioMsDecoded: number };
  meetings: {
    fixture: string;
    liveSeconds: number;
    live: MeasuredCounts;
    end: MeasuredCounts;
  }[];
}

export interface MeasuredCounts {
  framesPerViewer: { legacy: number; batch: number };
  billedPerViewer: { legacy: number; batch: number };
  bytesPerViewer: { legacy: number; batch: number };
  /** Batched frames that carry keyword alerts only (alerts raised from interims not shown). */
  alertOnlyFramesPerViewer?: number;
  messagesPerViewer: Record<string, number>;
  dynamodb: { wru: number; rru: number; requests: Record<string, number> };
  sqs: { requests: Record<string, number>; billed: number; entries: Record<string, number> };
  invocations: Record<string, number>;
  managementPosts: number;
}

export const USAGE_FILE = path.join(REPO_ROOT, 'bench', 'usage', 'meeting-hour.json');

const TRANSCRIPT_QUEUE = /transcript/i;

/**
 * Messages a meeting gets once, whatever its length: its status changes (joining, live, ended)
 * and its first briefing update (bench/meeting-usage.ts tells it apart: `briefing.updates` 1).
 */
const PER_MEETING_MESSAGES = ['status', 'briefing_update:first'];

/**
 * A meeting-hour from a measurement: each meeting's live window scaled to an hour (all
 * meetings' live time together), plus one meeting's end (its last events, assembly, the
 * final briefing: once per meeting, averaged). Status messages and the first briefing update are
 * per meeting too (PER_MEETING_MESSAGES: not more of them in a longer meeting), so those that fell
 * in a live window are counted once per meeting, not scaled; each is a frame of its own.
 */
export function usageFromMeasurement(m: MeasuredUsage, viewers = 5): UsageModel {
  const liveHours = m.meetings.reduce((n, x) => n + x.liveSeconds, 0) / 3600;
  if (!(liveHours > 0)) throw new Error('the measurement holds no live meeting time');
  const perMeeting = (f: (c: MeasuredCounts) => number) =>
    m.meetings.reduce((n, x) => n + f(x.end), 0) / m.meetings.length;
  const perHour = (f: (c: MeasuredCounts) => number) =>
    m.meetings.reduce((n, x) => n + f(x.live), 0) / liveHours + perMeeting(f);
  // Live-window messages that come once per meeting, however long it is (a frame each): counted
  // once per meeting instead of scaled.
  const onceLive = (type: string) =>
    m.meetings.reduce((n, x) => n + (x.live.messagesPerViewer[type] ?? 0), 0);
  const correctionOf = (type: string) =>
    PER_MEETING_MESSAGES.includes(type) ? onceLive(type) / m.meetings.length - onceLive(type) / liveHours : 0;
  const perMeetingCorrection = PER_MEETING_MESSAGES.reduce((n, type) => n + correctionOf(type), 0);
  const sum = (r: Record<string, number>, match: (key: string) => boolean) =>
    Object.entries(r).reduce((n, [k, v]) => n + (match(k) ? v : 0), 0);
  const types = new Set(
    m.meetings.flatMap((x) => [
      ...Object.keys(x.live.messagesPerViewer),
      ...Object.keys(x.end.messagesPerViewer),
    ]),
  );
  const messageTypes = Object.fromEntries(
    [...types].sort().map((t) => [t, perHour((c) => c.messagesPerViewer[t] ?? 0) + correctionOf(t)]),
  );
  const meetingItemKb = Math.max(1, Math.ceil((m.meetingItemBytes ?? 1024) / 1024));
  const meetingUpdates = perHour((c) => sum(c.dynamodb.requests, (k) => /(^|-)meetings UpdateItem$/.test(k)));
  return {
    viewers,
    interimWindowMs: m.interimWindowMs ?? INTERIM_WINDOW_MS,
    source: `\`${m.command}\` (${m.measuredAt.slice(0, 10)}; ${m.meetings.map((x) => `${x.fixture} ${Math.round(x.liveSeconds)} s`).join(', ')})`,
    messagesPerViewer: perHour((c) => c.billedPerViewer.batch) + perMeetingCorrection,
    legacyMessagesPerViewer: perHour((c) => c.billedPerViewer.legacy) + perMeetingCorrection,
    bytesPerViewer: perHour((c) => c.bytesPerViewer.batch),
    messageTypes,
    queueMessages: perHour((c) => sum(c.sqs.entries, (k) => TRANSCRIPT_QUEUE.test(k))),
    sqsSendRequests: perHour((c) =>
      sum(c.sqs.requests, (k) => /^\S+ SendMessage/.test(k) && !/dlq/i.test(k)),
    ),
    fanoutInvocations: perHour((c) => sum(c.invocations, () => true)),
    finals: perHour((c) => c.messagesPerViewer['transcript:final'] ?? 0),
    // Meeting updates priced at the item's size (the measurement counts them as 1 KB).
    writeUnits: perHour((c) => c.dynamodb.wru) + meetingUpdates * (meetingItemKb - 1),
    meetingUpdates,
    readUnits: perHour((c) => c.dynamodb.rru),
    fanoutMsPerFinal: 50,
    fanoutMsPerEvent: 25,
    // START ~75 B, END ~55 B, REPORT ~140 B, each + 26 B CloudWatch counts per log event.
    logBytesPerInvocation: 350,
    // Powertools' record for a final's invocation as serialised (653 B: 8 metrics) + 26 B, and
    // the held interims' values it carries (~5 B each).
    logBytesPerMetricsRecord: 700,
    logBytesPerAccessLogLine: 400,
    recordingPuts: 242,
    recordingGets: 240,
    recordingStoredBytes: 10.8e6,
    recordingRetentionMonths: 3,
    ...(m.speech && m.speech.audioMsDecoded > 0
      ? {
          speech: {
            encoding: m.speech.encoding,
            bytesPerAudioSecond: m.speech.bytesReceived / (m.speech.audioMsDecoded / 1000),
          },
        }
      : {}),
  };
}

/** The committed measurement (bench/usage/meeting-hour.json) as a meeting-hour with `viewers`. */
export function measuredUsage(viewers = 5, file = USAGE_FILE): UsageModel {
  return usageFromMeasurement(JSON.parse(readFileSync(file, 'utf8')) as MeasuredUsage, viewers);
}

/** Bytes of Recall audio per hour: real frames as the simulator builds them, ids as long as Recall's. */
export function recallBytesPerHour(): { frameBytes: number; framesPerHour: number } {
  const id = '00000000-0000-4000-8000-000000000000';
  const frame = mixedAudioMessage(
    {
      botId: id,
      botMetadata: { parleyMeetingId: 'm_0123456789abcdef' },
      recordingId: id,
      realtimeEndpointId: id,
      audioMixedId: id,
      audioSeparateId: id,
      participantEventsId: id,
      meetingStartEpochMs: Date.UTC(2026, 10, 1),
    },
    1_234_567,
    Buffer.alloc(640),
  );
  return {
    frameBytes: Buffer.byteLength(JSON.stringify(frame)),
    framesPerHour: 3_600 * 50,
  };
}

// ---- the template ----------------------------------------------------------------------------

type Json = Record<string, unknown>;
export interface Template {
  Resources: Record<string, { Type: string; Properties?: Json }>;
}

/** Synthesizes the default stage in-process, offline (no bundling, a stand-in web app). */
export function synthesizeTemplate(context: Json = {}): Template {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Json };
  const scratch = mkdtempSync(path.join(tmpdir(), 'parley-cost-'));
  try {
    // A stand-in web app build: the web app's cost does not depend on its files.
    const webAppDir = path.join(scratch, 'web');
    mkdirSync(webAppDir);
    writeFileSync(path.join(webAppDir, 'index.html'), '<!doctype html><title>Parley</title>');
    const app = new App({
      outdir: path.join(scratch, 'cdk.out'),
      context: {
        ...cdkJson.context,
        'aws:cdk:bundling-stacks': [],
        webAppDir,
        ...context,
      },
    });
    const { stack } = buildParleyApp(app, {}, { nag: false });
    const assembly = app.synth();
    return JSON.parse(
      readFileSync(path.join(assembly.directory, `${stack.artifactId}.template.json`), 'utf8'),
    ) as Template;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function ofType(t: Template, type: string): [string, Json][] {
  return Object.entries(t.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

function refId(value: unknown): string | undefined {
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] } | undefined;
  return v?.Ref ?? v?.['Fn::GetAtt']?.[0];
}

/** Per ECS service: always-on task count (autoscaling minimum), task size, public IP, its env. */
function services(t: Template) {
  const targets = ofType(t, 'AWS::ApplicationAutoScaling::ScalableTarget');
  return ofType(t, 'AWS::ECS::Service').map(([id, p]) => {
    const task = t.Resources[refId(p.TaskDefinition) ?? '']?.Properties ?? {};
    const target = targets.find(([, tp]) => JSON.stringify(tp.ResourceId ?? '').includes(`"${id}"`));
    const min = Number(target?.[1].MinCapacity ?? p.DesiredCount ?? 1);
    const platform = (task.RuntimePlatform as Json | undefined)?.CpuArchitecture;
    const net = (p.NetworkConfiguration as Json | undefined)?.AwsvpcConfiguration as Json | undefined;
    const env = Object.fromEntries(
      (
        (task.ContainerDefinitions as Json[] | undefined)?.[0]?.Environment as {
          Name: string;
          Value: unknown;
        }[]
      )?.map((e) => [e.Name, e.Value]) ?? [],
    );
    return {
      id,
      min,
      vcpu: Number(task.Cpu) / 1024,
      gb: Number(task.Memory) / 1024,
      arm: platform === 'ARM64',
      publicIp: net?.AssignPublicIp === 'ENABLED',
      env,
      behindLoadBalancer: Array.isArray(p.LoadBalancers) && p.LoadBalancers.length > 0,
    };
  });
}

// ---- lines -----------------------------------------------------------------------------------

export interface CostLine {
  item: string;
  /** The arithmetic, in words and numbers. */
  how: string;
  usd: number;
}

const usd = (n: number, digits = 2) => `$${n.toFixed(digits)}`;
const num = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 3 });
/** A measured count scaled to an hour: whole numbers are precise enough. */
const int = (n: number) => num(Math.round(n));

export function fixedMonthly(t: Template): CostLine[] {
  const P = PRICES;
  const h = P.hoursPerMonth;
  const lines: CostLine[] = [];
  const lbs = ofType(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
  if (lbs.length > 0) {
    lines.push({
      item: 'Application Load Balancer (hours)',
      how: `${lbs.length} × ${h} h × $${P.albHour}`,
      usd: lbs.length * h * P.albHour,
    });
  }
  const nats = ofType(t, 'AWS::EC2::NatGateway').length;
  if (nats > 0) {
    lines.push({
      item: 'NAT gateway (hours)',
      how: `${nats} × ${h} h × $${P.natHour}`,
      usd: nats * h * P.natHour,
    });
  }
  // Public IPv4: each always-on task with a public IP, internet-facing load balancer nodes, NAT EIPs.
  const svc = services(t);
  const taskIps = svc.filter((s) => s.publicIp).reduce((n, s) => n + s.min, 0);
  const lbIps = lbs
    .filter(([, p]) => p.Scheme !== 'internal')
    .reduce((n, [, p]) => n + ((p.Subnets as unknown[] | undefined)?.length ?? 2), 0);
  const ips = taskIps + lbIps + nats;
  if (ips > 0) {
    lines.push({
      item: 'Public IPv4 addresses',
      how: `(${taskIps} always-on task${taskIps === 1 ? '' : 's'}${lbIps ? ` + ${lbIps} load balancer nodes` : ''}${nats ? ` + ${nats} NAT` : ''}) × ${h} h × $${P.publicIpv4Hour}`,
      usd: ips * h * P.publicIpv4Hour,
    });
  }
  for (const s of svc.filter((x) => x.min > 0)) {
    const [cpu, mem] = s.arm
      ? [P.fargateArmVcpuHour, P.fargateArmGbHour]
      : [P.fargateX86VcpuHour, P.fargateX86GbHour];
    lines.push({
      item: `Fargate, ${s.min} always-on task${s.min === 1 ? '' : 's'} (${s.vcpu} vCPU, ${s.gb} GB, ${s.arm ? 'ARM' : 'x86'})`,
      how: `${s.min} × ${h} h × (${s.vcpu} × $${cpu} + ${s.gb} × $${mem})`,
      usd: s.min * h * (s.vcpu * cpu + s.gb * mem),
    });
  }
  const secrets = ofType(t, 'AWS::SecretsManager::Secret').length;
  lines.push({
    item: 'Secrets Manager secrets',
    how: `${secrets} × $${P.secretMonth}`,
    usd: secrets * P.secretMonth,
  });
  const alarmMetrics = ofType(t, 'AWS::CloudWatch::Alarm').reduce(
    (n, [, p]) => n + (Array.isArray(p.Metrics) ? p.Metrics.filter((m: Json) => m.MetricStat).length : 1),
    0,
  );
  const alarms = ofType(t, 'AWS::CloudWatch::Alarm').length;
  lines.push({
    item: `CloudWatch alarms (${alarms}, billed per metric)`,
    how: `${alarmMetrics} metrics × $${P.alarmMetricMonth}`,
    usd: alarmMetrics * P.alarmMetricMonth,
  });
  const dashboards = ofType(t, 'AWS::CloudWatch::Dashboard').length;
  if (dashboards > 0) {
    lines.push({
      item: 'CloudWatch dashboard',
      how: `${dashboards} × $${P.dashboardMonth}`,
      usd: dashboards * P.dashboardMonth,
    });
  }
  // Container Insights (standard) publishes its 16 ECS metric names (CpuUtilized, RunningTaskCount,
  // …) as custom metrics per cluster, per service and per task family, for resources with running
  // tasks only: an upper bound, for the always-on services.
  const insights = ofType(t, 'AWS::ECS::Cluster').filter(([, p]) =>
    JSON.stringify(p.ClusterSettings ?? []).includes('"enabled"'),
  );
  if (insights.length > 0) {
    const running = svc.filter((s) => s.min > 0).length;
    const metrics = 16 * (insights.length + 2 * running);
    lines.push({
      item: 'ECS Container Insights (standard, upper bound)',
      how: `16 metric names × (${insights.length} cluster + ${running} running service + ${running} task family) = ${metrics} × $${P.customMetricMonth}`,
      usd: metrics * P.customMetricMonth,
    });
  }
  const gatewayMetric = svc.some((s) => 'MAX_SESSIONS' in s.env) ? 1 : 0;
  if (gatewayMetric) {
    lines.push({
      item: 'Custom metric ActiveSessions (audio gateway)',
      how: `1 × $${P.customMetricMonth}`,
      usd: P.customMetricMonth,
    });
  }
  // Lambda's SQS pollers long-poll each queue with an event source: 5 pollers, one 20 s receive each.
  const mappings = ofType(t, 'AWS::Lambda::EventSourceMapping').length;
  if (mappings > 0) {
    const receives = mappings * 5 * ((h * 3600) / 20);
    lines.push({
      item: 'SQS empty receives (Lambda pollers, long polling)',
      how: `${mappings} queue × 5 pollers × ${num((h * 3600) / 20)} receives × $${P.sqsFifoMillion}/M`,
      usd: (receives / 1e6) * P.sqsFifoMillion,
    });
  }
  const schedules = ofType(t, 'AWS::Events::Rule').filter(
    ([, p]) => typeof p.ScheduleExpression === 'string',
  );
  for (const [, p] of schedules) {
    const m = /rate\((\d+) minutes?\)/.exec(String(p.ScheduleExpression));
    if (!m) continue;
    const runs = (h * 60) / Number(m[1]);
    const target = ((p.Targets as Json[] | undefined) ?? [])[0];
    const fn = t.Resources[refId(target?.Arn) ?? '']?.Properties ?? {};
    const gbs = runs * 0.1 * (Number(fn.MemorySize ?? 128) / 1024);
    lines.push({
      item: `Scheduled function (${p.ScheduleExpression})`,
      how: `${num(runs)} runs × ($${P.lambdaRequestMillion}/M + 100 ms × ${fn.MemorySize ?? 128} MB) + one small scan each`,
      usd:
        (runs / 1e6) * P.lambdaRequestMillion +
        gbs * P.lambdaArmGbSecond +
        (runs * 2 * P.dynamoReadMillion) / 1e6,
    });
  }
  return lines;
}

export function perMeetingHour(t: Template, u: UsageModel): CostLine[] {
  const P = PRICES;
  const lines: CostLine[] = [];
  const svc = services(t);
  const gateway = svc.find((s) => 'MAX_SESSIONS' in s.env);
  const V = u.viewers;

  // Realtime API: the measured messages to each viewer (a frame per 32 KB), the viewers' pings
  // (two messages each: the ping and API Gateway's own pong), and the connection minutes.
  const pingsPerViewer = 3_600_000 / PING_INTERVAL_MS;
  const messages = u.messagesPerViewer * V + 2 * pingsPerViewer * V;
  // Interim lines depend on the gateway's coalescing window: say so when the stage's differs.
  const configuredWindow = Number(gateway?.env.INTERIM_WINDOW_MS ?? INTERIM_WINDOW_MS);
  const windowNote =
    configuredWindow === u.interimWindowMs
      ? ''
      : ` (measured with a ${u.interimWindowMs} ms interim window; this stage's gateway runs ${configuredWindow} ms: measure again)`;
  lines.push({
    item: 'API Gateway WebSocket messages',
    how: `(${num(Math.round(u.messagesPerViewer))} frames (measured${windowNote}) × ${V} viewers) + (${pingsPerViewer} pings × 2 × ${V}) = ${num(Math.round(messages))} × $${P.wsMessageMillion}/M`,
    usd: (messages / 1e6) * P.wsMessageMillion,
  });
  lines.push({
    item: 'API Gateway connection minutes',
    how: `60 × ${V} viewers × $${P.wsConnectionMinuteMillion}/M`,
    usd: ((60 * V) / 1e6) * P.wsConnectionMinuteMillion,
  });
  const bytesOut = u.bytesPerViewer * V;
  lines.push({
    item: 'Data out to viewers',
    how: `${num(Math.round(u.bytesPerViewer))} B (measured) × ${V} viewers = ${(bytesOut / GB).toFixed(4)} GB × $${P.dataOutGb}`,
    usd: (bytesOut / GB) * P.dataOutGb,
  });

  // Pipeline: the gateway's send requests; the fan-out's event source receives and deletes once
  // per invocation (its empty long polls are in the fixed cost).
  const sqsRequests = u.sqsSendRequests + 2 * u.fanoutInvocations;
  lines.push({
    item: 'SQS FIFO requests',
    how: `${int(u.sqsSendRequests)} send requests (${int(u.queueMessages)} events) + ${int(u.fanoutInvocations)} invocations × (receive + delete) = ${int(sqsRequests)} (measured) × $${P.sqsFifoMillion}/M`,
    usd: (sqsRequests / 1e6) * P.sqsFifoMillion,
  });
  const fanout = ofType(t, 'AWS::Lambda::Function').find(([id]) => /^FanoutFunction/.test(id))?.[1] ?? {};
  const memoryMb = Number(fanout.MemorySize ?? 512);
  const arm = JSON.stringify(fanout.Architectures ?? []).includes('arm64');
  const billedMs =
    u.finals * u.fanoutMsPerFinal + Math.max(0, u.fanoutInvocations - u.finals) * u.fanoutMsPerEvent;
  const gbSeconds = ((memoryMb / 1024) * billedMs) / 1000;
  const gbPrice = arm ? P.lambdaArmGbSecond : P.lambdaX86GbSecond;
  lines.push({
    item: 'Fan-out Lambda',
    how: `${int(u.fanoutInvocations)} invocations (measured) × $${P.lambdaRequestMillion}/M + ${gbSeconds.toFixed(1)} GB-s (modelled: ${u.fanoutMsPerFinal} ms a final, ${u.fanoutMsPerEvent} ms another event, ${memoryMb} MB) × $${gbPrice}`,
    usd: (u.fanoutInvocations / 1e6) * P.lambdaRequestMillion + gbSeconds * gbPrice,
  });

  // DynamoDB: measured units; a meetings index projecting every attribute is rewritten on
  // every meeting update (the measurement counts table writes only).
  const meetings = ofType(t, 'AWS::DynamoDB::Table').find(([id]) => /Meetings/.test(id))?.[1] ?? {};
  const fullGsis = ((meetings.GlobalSecondaryIndexes as Json[] | undefined) ?? []).filter(
    (g) => (g.Projection as Json | undefined)?.ProjectionType === 'ALL',
  ).length;
  const wru = u.writeUnits + u.meetingUpdates * fullGsis;
  lines.push({
    item: 'DynamoDB writes',
    how: `${int(u.writeUnits)} WRU (measured) + ${int(u.meetingUpdates)} meeting updates × ${fullGsis} GSI with projection ALL = ${int(wru)} WRU × $${P.dynamoWriteMillion}/M`,
    usd: (wru / 1e6) * P.dynamoWriteMillion,
  });
  lines.push({
    item: 'DynamoDB reads',
    how: `${int(u.readUnits)} RRU (measured; response bytes ÷ 4 KB, ½ eventually consistent) × $${P.dynamoReadMillion}/M`,
    usd: (u.readUnits / 1e6) * P.dynamoReadMillion,
  });

  // Audio: Recall → (CloudFront →) load balancer → task; task → Deepgram (internet egress).
  const recall = recallBytesPerHour();
  const recallGb = (recall.frameBytes * recall.framesPerHour) / GB;
  const viaCloudFront = ofType(t, 'AWS::CloudFront::VpcOrigin').length > 0;
  if (viaCloudFront) {
    lines.push({
      item: 'CloudFront to the gateway (Recall audio)',
      how: `${num(recall.framesPerHour)} frames × ${recall.frameBytes} B = ${recallGb.toFixed(3)} GB × $${P.cloudfrontToOriginGb}`,
      usd: recallGb * P.cloudfrontToOriginGb,
    });
  }
  lines.push({
    item: 'Load balancer LCU (processed bytes)',
    how: `${recallGb.toFixed(3)} GB ÷ 1 GB per LCU-hour × $${P.albLcuHour}`,
    usd: recallGb * P.albLcuHour,
  });
  // The gateway's DEEPGRAM_ENCODING (its default when the template sets none); bytes a second as
  // measured when the measurement ran the same encoding, else as the encoding defines them.
  const configured = gateway?.env.DEEPGRAM_ENCODING;
  const encoding = parseSpeechEncoding(typeof configured === 'string' ? configured : undefined);
  const measured = u.speech?.encoding === encoding ? u.speech.bytesPerAudioSecond : undefined;
  const deepgramBytes = 3_600 * (measured ?? wireBytesPerSecond(encoding));
  const deepgramGb = deepgramBytes / GB;
  const nat = ofType(t, 'AWS::EC2::NatGateway').length > 0;
  lines.push({
    item: `Data out to Deepgram (${encoding})`,
    how: `3,600 s × ${num(Math.round(deepgramBytes / 3_600))} B/s (${measured !== undefined ? 'measured' : encoding === 'opus' ? 'Ogg Opus 16 kb/s as bench:encoding measured it' : `${encoding} at 16 kHz`}) = ${deepgramGb.toFixed(3)} GB × $${P.dataOutGb}${nat ? ` + NAT $${P.natGb}` : ''}`,
    usd: deepgramGb * (P.dataOutGb + (nat ? P.natGb : 0)),
  });
  if (gateway) {
    const maxSessions = Number(gateway.env.MAX_SESSIONS ?? 50);
    const perTask = Math.max(1, Math.floor(maxSessions * 0.6));
    const [cpu, mem] = gateway.arm
      ? [P.fargateArmVcpuHour, P.fargateArmGbHour]
      : [P.fargateX86VcpuHour, P.fargateX86GbHour];
    const taskHour = gateway.vcpu * cpu + gateway.gb * mem + (gateway.publicIp ? P.publicIpv4Hour : 0);
    lines.push({
      item: 'Gateway task share',
      how: `($${(gateway.vcpu * cpu + gateway.gb * mem).toFixed(5)} task-hour${gateway.publicIp ? ` + $${P.publicIpv4Hour} IPv4` : ''}) ÷ ${perTask} meetings a task (scaling target: 60 % of MAX_SESSIONS ${maxSessions})`,
      usd: taskHour / perTask,
    });
  }
  // Metric records: one per invocation with a final, the others' values held up to a minute.
  const metricRecords = Math.min(u.fanoutInvocations, u.finals + 60);
  const logBytes =
    u.fanoutInvocations * u.logBytesPerInvocation +
    metricRecords * u.logBytesPerMetricsRecord +
    pingsPerViewer * V * u.logBytesPerAccessLogLine;
  lines.push({
    item: 'CloudWatch Logs',
    how: `${int(u.fanoutInvocations)} fan-out invocations × ${u.logBytesPerInvocation} B + ${int(metricRecords)} metric records (one per final, else ≤ 1 a minute) × ${u.logBytesPerMetricsRecord} B + ${num(pingsPerViewer * V)} pings × ${u.logBytesPerAccessLogLine} B of access log = ${(logBytes / 1e6).toFixed(2)} MB × $${P.logsIngestGb}/GB`,
    usd: (logBytes / GB) * P.logsIngestGb,
  });
  lines.push({
    item: 'Recording (S3)',
    how: `${u.recordingPuts} PUTs × $${P.s3PutThousand}/k + ${u.recordingGets} GETs × $${P.s3GetThousand}/k + ${u.recordingStoredBytes / 1e6} MB kept ${u.recordingRetentionMonths} months × $${P.s3GbMonth}`,
    usd:
      (u.recordingPuts / 1000) * P.s3PutThousand +
      (u.recordingGets / 1000) * P.s3GetThousand +
      (u.recordingStoredBytes / GB) * u.recordingRetentionMonths * P.s3GbMonth,
  });
  return lines;
}

/**
 * What an hour with at least one live meeting costs, shared by every meeting live in that hour:
 * custom metrics are billed pro rata per hour in which they are published, and the fan-out
 * publishes its embedded metrics (lambdas/fanout/handler.ts, core/pipeline/fanout-wiring.ts) only
 * while it handles events. A stage with a meeting in every hour of the month pays them in full.
 */
export function perLiveHour(): CostLine[] {
  const P = PRICES;
  const names = [FANOUT_METRICS.finals, FANOUT_METRICS.finalLatency, 'Events', ...Object.values(HOP_METRICS)];
  return [
    {
      item: 'Custom metrics of the fan-out (hours they are published)',
      how: `${names.length} (${names.join(', ')}) × $${P.customMetricMonth} ÷ ${P.hoursPerMonth} h (EvictedSubscribers only in an hour with an eviction)`,
      usd: (names.length * P.customMetricMonth) / P.hoursPerMonth,
    },
  ];
}

export interface CostReport {
  fixed: CostLine[];
  fixedTotal: number;
  /** Per hour with any live meeting, shared by the meetings of that hour. */
  liveHour: CostLine[];
  liveHourTotal: number;
  meetingHour: CostLine[];
  meetingHourTotal: number;
  /** Cost a further viewer adds to a meeting-hour. */
  perExtraViewer: number;
  usage: UsageModel;
}

export function costReport(t: Template, usage = measuredUsage()): CostReport {
  const fixed = fixedMonthly(t);
  const meetingHour = perMeetingHour(t, usage);
  const total = (lines: CostLine[]) => lines.reduce((s, l) => s + l.usd, 0);
  const plusOne = total(perMeetingHour(t, { ...usage, viewers: usage.viewers + 1 }));
  const liveHour = perLiveHour();
  return {
    fixed,
    fixedTotal: total(fixed),
    liveHour,
    liveHourTotal: total(liveHour),
    meetingHour,
    meetingHourTotal: total(meetingHour),
    perExtraViewer: plusOne - total(meetingHour),
    usage,
  };
}

// ---- output ----------------------------------------------------------------------------------

export const DOC_BEGIN =
  '<!-- cost:begin (generated by `npm run cost -- --write-docs`; edit bench/cost.ts) -->';
export const DOC_END = '<!-- cost:end -->';

export function renderMarkdown(r: CostReport): string {
  const P = PRICES;
  const row = (l: CostLine, digits: number) => `| ${l.item} | ${l.how} | ${usd(l.usd, digits)} |`;
  return [
    DOC_BEGIN,
    `Computed by \`npm run cost\` (bench/cost.ts) from the synthesized template of the default stage and`,
    `a usage model from the benchmarks, at **AWS list prices for ${P.region} as of ${P.asOf}** (on-demand,`,
    'no free tier, no Savings Plans; one price table in bench/cost.ts). Infrastructure only: Deepgram,',
    'Recall.ai and OpenAI bill separately and cost one to two orders of magnitude more per meeting-hour.',
    '',
    `### Fixed: ${usd(r.fixedTotal)} a month per stage, before any meeting-hour`,
    '',
    '| item | arithmetic | per month |',
    '| --- | --- | ---: |',
    ...r.fixed.map((l) => row(l, 2)),
    `| **total** | | **${usd(r.fixedTotal)}** |`,
    '',
    `### Per hour with any live meeting: ${usd(r.liveHourTotal, 4)}, shared by the meetings of that hour`,
    '',
    '| item | arithmetic | per live hour |',
    '| --- | --- | ---: |',
    ...r.liveHour.map((l) => row(l, 5)),
    '',
    `### Per meeting-hour: ${usd(r.meetingHourTotal, 4)} with ${r.usage.viewers} viewers`,
    '',
    `Usage: measured on the local stack by ${r.usage.source}, scaled to an hour`,
    '(bench/usage/meeting-hour.json). A viewer gets, per meeting-hour:',
    `${Object.entries(r.usage.messageTypes)
      .map(([type, n]) => `${num(Math.round(n))} \`${type}\``)
      .join(', ')} messages, in ${num(Math.round(r.usage.messagesPerViewer))} frames`,
    `(${num(Math.round(r.usage.legacyMessagesPerViewer))} for a client that does not take batched frames). ${r.usage.viewers} viewers each ping`,
    `every ${PING_INTERVAL_MS / 60_000} minutes (API Gateway answers the ping itself). Modelled, not measured: fan-out billed`,
    'duration, log bytes, Recall audio as 20 ms `audio_mixed_raw.data` frames, recordings as measured by',
    'bench/microphone.ts.',
    '',
    '| item | arithmetic | per meeting-hour |',
    '| --- | --- | ---: |',
    ...r.meetingHour.map((l) => row(l, 5)),
    `| **total** | | **${usd(r.meetingHourTotal, 4)}** |`,
    '',
    `Each further viewer adds ${usd(r.perExtraViewer, 4)} per meeting-hour (API Gateway messages and bytes).`,
    DOC_END,
  ].join('\n');
}

function renderText(r: CostReport): string {
  const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
  const line = (l: CostLine, d: number) => `  ${pad(l.item, 52)} ${pad(usd(l.usd, d), 10)} ${l.how}`;
  return [
    `Prices: AWS list prices, ${PRICES.region}, as of ${PRICES.asOf} (bench/cost.ts PRICES).`,
    '',
    `Fixed per stage per month: ${usd(r.fixedTotal)}`,
    ...r.fixed.map((l) => line(l, 2)),
    '',
    `Per hour with any live meeting (shared by its meetings): ${usd(r.liveHourTotal, 4)}`,
    ...r.liveHour.map((l) => line(l, 5)),
    '',
    `Per meeting-hour with ${r.usage.viewers} viewers: ${usd(r.meetingHourTotal, 4)} (each further viewer ${usd(r.perExtraViewer, 4)})`,
    ...r.meetingHour.map((l) => line(l, 5)),
  ].join('\n');
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const file = flag('--template');
  const template = file ? (JSON.parse(readFileSync(file, 'utf8')) as Template) : synthesizeTemplate();
  const viewers = Number(flag('--viewers') ?? 5);
  if (!Number.isInteger(viewers) || viewers < 0) throw new Error('--viewers needs a whole number');
  const report = costReport(template, measuredUsage(viewers, flag('--usage') ?? USAGE_FILE));
  if (process.argv.includes('--write-docs')) {
    const docPath = path.join(REPO_ROOT, 'docs', 'deploy.md');
    const doc = readFileSync(docPath, 'utf8');
    const start = doc.indexOf(DOC_BEGIN);
    const end = doc.indexOf(DOC_END);
    if (start < 0 || end < start) throw new Error(`docs/deploy.md has no ${DOC_BEGIN} … ${DOC_END} section`);
    writeFileSync(docPath, doc.slice(0, start) + renderMarkdown(report) + doc.slice(end + DOC_END.length));
    console.log('docs/deploy.md: cost section written');
    return;
  }
  console.log(process.argv.includes('--markdown') ? renderMarkdown(report) : renderText(report));
}

if (require.main === module) main();
