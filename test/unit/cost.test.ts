/**
 * bench/cost.ts prices what the synthesized template holds, and docs/deploy.md's cost section is
 * exactly what it prints for the current stack (regenerate: `npm run cost -- --write-docs`).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  costReport,
  DOC_BEGIN,
  DOC_END,
  fixedMonthly,
  type MeasuredCounts,
  type MeasuredUsage,
  PRICES,
  perMeetingHour,
  renderMarkdown,
  synthesizeTemplate,
  type Template,
  usageFromMeasurement,
} from '../../bench/cost';
import { DEFAULT_SPEECH_ENCODING, OPUS_WIRE_BYTES_PER_SECOND } from '../../core/audio/speech-encoding';
import { PING_INTERVAL_MS } from '../../core/realtime/ping-route';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '..', '..');

function line(lines: { item: string; usd: number }[], item: RegExp) {
  return lines.find((l) => item.test(l.item));
}

/** A template with only the resources a test is about (the shapes CloudFormation uses). */
function template(resources: Template['Resources']): Template {
  return { Resources: resources };
}

describe('cost model (bench/cost.ts)', () => {
  it('keeps docs/deploy.md’s cost section equal to what the script prints for the current stack', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'deploy.md'), 'utf8');
    const start = doc.indexOf(DOC_BEGIN);
    const end = doc.indexOf(DOC_END);
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const inDoc = doc.slice(start, end + DOC_END.length);

    const generated = renderMarkdown(costReport(synthesizeTemplate()));

    expect(inDoc).toEqual(generated);
  });

  it('prices a NAT gateway, an internet-facing load balancer and public task addresses found in the template', () => {
    const h = PRICES.hoursPerMonth;
    const lines = fixedMonthly(
      template({
        Nat: { Type: 'AWS::EC2::NatGateway' },
        Lb: {
          Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
          Properties: { Scheme: 'internet-facing', Subnets: ['a', 'b'] },
        },
        Task: {
          Type: 'AWS::ECS::TaskDefinition',
          Properties: { Cpu: '512', Memory: '1024', RuntimePlatform: { CpuArchitecture: 'ARM64' } },
        },
        Service: {
          Type: 'AWS::ECS::Service',
          Properties: {
            DesiredCount: 2,
            TaskDefinition: { Ref: 'Task' },
            NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'ENABLED' } },
          },
        },
      }),
    );

    expect(line(lines, /NAT gateway/)?.usd).toBeCloseTo(h * PRICES.natHour);
    expect(line(lines, /Load Balancer/)?.usd).toBeCloseTo(h * PRICES.albHour);
    // Two tasks, two load balancer nodes, one NAT address.
    expect(line(lines, /Public IPv4/)?.usd).toBeCloseTo(5 * h * PRICES.publicIpv4Hour);
    expect(line(lines, /Fargate, 2 always-on tasks/)?.usd).toBeCloseTo(
      2 * h * (0.5 * PRICES.fargateArmVcpuHour + 1 * PRICES.fargateArmGbHour),
    );
  });

  it('charges a meeting update once more for each meetings index that projects every attribute', () => {
    const meetings = (projection: string): Template =>
      template({
        StorageMeetingsTable: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            GlobalSecondaryIndexes: [
              { IndexName: 'byOwner', Projection: { ProjectionType: projection } },
              { IndexName: 'byBot', Projection: { ProjectionType: 'KEYS_ONLY' } },
            ],
          },
        },
      });
    const usage = usageFromMeasurement(measurement());
    const writes = (t: Template) => line(perMeetingHour(t, usage), /DynamoDB writes/)?.usd ?? Number.NaN;

    const saved = writes(meetings('ALL')) - writes(meetings('KEYS_ONLY'));

    expect(usage.meetingUpdates).toBeGreaterThan(0);
    expect(saved).toBeCloseTo((usage.meetingUpdates * PRICES.dynamoWriteMillion) / 1e6, 10);
  });

  it('adds one API Gateway message per measured frame and two per ping for each further viewer', () => {
    const t = template({});
    const cost = (viewers: number) =>
      line(perMeetingHour(t, usageFromMeasurement(measurement(), viewers)), /WebSocket messages/)?.usd ??
      Number.NaN;
    const u = usageFromMeasurement(measurement());

    expect(cost(6) - cost(5)).toBeCloseTo(
      ((u.messagesPerViewer + (2 * 3_600_000) / PING_INTERVAL_MS) * PRICES.wsMessageMillion) / 1e6,
      10,
    );
  });

  it('prices the bytes to Deepgram from the gateway’s DEEPGRAM_ENCODING, measured when the measurement used it', () => {
    // Prepare: a gateway service whose task says which encoding it sends.
    const gatewayWith = (encoding: string | undefined): Template =>
      template({
        Service: { Type: 'AWS::ECS::Service', Properties: { TaskDefinition: { Ref: 'Task' } } },
        Task: {
          Type: 'AWS::ECS::TaskDefinition',
          Properties: {
            Cpu: '512',
            Memory: '1024',
            ContainerDefinitions: [
              {
                Environment: [
                  { Name: 'MAX_SESSIONS', Value: '50' },
                  ...(encoding ? [{ Name: 'DEEPGRAM_ENCODING', Value: encoding }] : []),
                ],
              },
            ],
          },
        },
      });
    const deepgram = (t: Template, m: MeasuredUsage) =>
      line(perMeetingHour(t, usageFromMeasurement(m)), /Data out to Deepgram/);
    const plain = measurement();
    const measuredMulaw: MeasuredUsage = {
      ...plain,
      speech: { encoding: 'mulaw', bytesReceived: 1_650_000, audioMsDecoded: 100_000 },
    };
    const gb = (bytesPerSecond: number) => (3_600 * bytesPerSecond) / 1024 ** 3;

    // Act + Assess: the configured encoding's rate without a measurement of it…
    expect(deepgram(gatewayWith('linear16'), plain)?.usd).toBeCloseTo(gb(32_000) * PRICES.dataOutGb, 10);
    expect(deepgram(gatewayWith('mulaw'), plain)?.usd).toBeCloseTo(gb(16_000) * PRICES.dataOutGb, 10);
    expect(deepgram(gatewayWith('linear16'), measuredMulaw)?.usd).toBeCloseTo(
      gb(32_000) * PRICES.dataOutGb,
      10,
    );
    // …the measured rate (here 16,500 B/s: resends included) when the measurement sent the same;
    // no DEEPGRAM_ENCODING in the template means the container's default.
    expect(deepgram(gatewayWith('mulaw'), measuredMulaw)?.usd).toBeCloseTo(gb(16_500) * PRICES.dataOutGb, 10);
    expect(deepgram(gatewayWith(undefined), measuredMulaw)?.item).toBe(
      `Data out to Deepgram (${DEFAULT_SPEECH_ENCODING})`,
    );
    // Opus: the measured Ogg Opus rate of the gateway's settings (bench:encoding).
    expect(deepgram(gatewayWith('opus'), plain)?.usd).toBeCloseTo(
      gb(OPUS_WIRE_BYTES_PER_SECOND) * PRICES.dataOutGb,
      10,
    );
  });

  it('scales each meeting’s live window to an hour and adds one meeting’s end', () => {
    // Two meetings, 30 minutes live each: their live counts are one hour's worth together.
    const u = usageFromMeasurement(measurement());

    expect(u.messagesPerViewer).toBeCloseTo(2 * 1_000 + (10 + 12) / 2);
    expect(u.legacyMessagesPerViewer).toBeCloseTo(2 * 1_500 + (12 + 14) / 2);
    expect(u.queueMessages).toBeCloseTo(2 * 1_600 + (3 + 5) / 2);
    expect(u.sqsSendRequests).toBeCloseTo(2 * 1_600 + (3 + 5) / 2);
    expect(u.fanoutInvocations).toBeCloseTo(2 * 1_590 + (3 + 5) / 2);
    expect(u.finals).toBeCloseTo(2 * 400);
    // 2 × 1,000 WRU + the end; meeting updates (2 × 800 + 1 at the end) priced at 2 KB: one more unit each.
    expect(u.writeUnits).toBeCloseTo(2 * 1_000 + (4 + 6) / 2 + (2 * 800 + 1));
    expect(u.messageTypes['transcript:interim']).toBeCloseTo(2 * 1_100);
  });

  it('counts a status message that fell in a live window once per meeting, not once per hour of it', () => {
    const withStatus = measurement();
    for (const x of withStatus.meetings) {
      x.live.messagesPerViewer.status = 2;
      x.live.billedPerViewer.batch += 2;
    }

    const added =
      usageFromMeasurement(withStatus).messagesPerViewer -
      usageFromMeasurement(measurement()).messagesPerViewer;

    // Two 30-minute meetings with 2 each: scaled, 4 an hour; per meeting, 2.
    expect(added).toBeCloseTo(2);
    expect(usageFromMeasurement(withStatus).messageTypes.status).toBeCloseTo(2 + 1);
  });

  it('counts a meeting’s first briefing update once per meeting, and later ones per hour', () => {
    const withBriefings = measurement();
    for (const x of withBriefings.meetings) {
      x.live.messagesPerViewer['briefing_update:first'] = 1;
      x.live.messagesPerViewer.briefing_update = 3;
      x.live.billedPerViewer.batch += 4;
    }

    const u = usageFromMeasurement(withBriefings);
    const added = u.messagesPerViewer - usageFromMeasurement(measurement()).messagesPerViewer;

    // Two 30-minute meetings: the first update once per meeting (1), the others scaled (6 an hour).
    expect(u.messageTypes['briefing_update:first']).toBeCloseTo(1);
    expect(u.messageTypes.briefing_update).toBeCloseTo(6);
    expect(added).toBeCloseTo(1 + 6);
  });

  it('writes a fan-out metrics record per final and at most one a minute for the other invocations', () => {
    const u = usageFromMeasurement(measurement());
    const logs = line(perMeetingHour(template({}), u), /CloudWatch Logs/)?.usd ?? Number.NaN;
    const pings = (3_600_000 / PING_INTERVAL_MS) * u.viewers;
    const records = Math.min(u.fanoutInvocations, u.finals + 60);

    expect(records).toBeLessThan(u.fanoutInvocations);
    expect(logs).toBeCloseTo(
      ((u.fanoutInvocations * u.logBytesPerInvocation +
        records * u.logBytesPerMetricsRecord +
        pings * u.logBytesPerAccessLogLine) /
        1024 ** 3) *
        PRICES.logsIngestGb,
      12,
    );
  });

  it('prices SQS as the gateway’s send requests plus a receive and a delete per fan-out invocation', () => {
    const u = usageFromMeasurement(measurement());
    const sqs = line(perMeetingHour(template({}), u), /SQS FIFO/)?.usd ?? Number.NaN;

    expect(sqs).toBeCloseTo(
      ((u.sqsSendRequests + 2 * u.fanoutInvocations) * PRICES.sqsFifoMillion) / 1e6,
      10,
    );
  });
});

/** A measurement as bench/meeting-usage.ts writes it: two 30-minute meetings, 2 KB meeting items. */
function measurement(): MeasuredUsage {
  const counts = (n: number, end: number): MeasuredCounts => ({
    framesPerViewer: { legacy: n ? 1_500 : 12 + end, batch: n ? 1_000 : 10 + end },
    billedPerViewer: { legacy: n ? 1_500 : 12 + end, batch: n ? 1_000 : 10 + end },
    bytesPerViewer: { legacy: 600_000, batch: 590_000 },
    messagesPerViewer: n ? { 'transcript:final': 400, 'transcript:interim': 1_100 } : { status: 1 },
    dynamodb: {
      wru: n ? 1_000 : 4 + end,
      rru: 300,
      requests: n ? { 'local-meetings UpdateItem': 800 } : { 'local-meetings UpdateItem': 1 },
    },
    sqs: {
      requests: n
        ? {
            'local-transcript-events.fifo SendMessageBatch': 1_600,
            'local-transcript-events.fifo ReceiveMessage': 9_999,
          }
        : { 'local-transcript-events.fifo SendMessageBatch': 3 + end },
      billed: 0,
      entries: n ? { 'local-transcript-events.fifo': 1_600 } : { 'local-transcript-events.fifo': 3 + end },
    },
    invocations: n ? { 'local-transcript-events.fifo': 1_590 } : { 'local-transcript-events.fifo': 3 + end },
    managementPosts: 0,
  });
  return {
    measuredAt: '2026-12-02T00:00:00.000Z',
    command: 'npx tsx bench/meeting-usage.ts',
    viewers: 5,
    batchViewers: 5,
    interimWindowMs: 250,
    meetingItemBytes: 2_000,
    meetings: [
      { fixture: 'a', liveSeconds: 1_800, live: counts(1, 0), end: counts(0, 0) },
      { fixture: 'b', liveSeconds: 1_800, live: counts(1, 0), end: counts(0, 2) },
    ],
  };
}
