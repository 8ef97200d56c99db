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
  defaultUsage,
  fixedMonthly,
  PRICES,
  perMeetingHour,
  renderMarkdown,
  synthesizeTemplate,
  type Template,
} from '../../bench/cost';
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
    const usage = defaultUsage(5);
    const writes = (t: Template) => line(perMeetingHour(t, usage), /DynamoDB writes/)?.usd ?? Number.NaN;

    const saved = writes(meetings('ALL')) - writes(meetings('KEYS_ONLY'));

    expect(saved).toBeCloseTo(
      (usage.finalsPerHour * usage.meetingUpdatesPerFinal * PRICES.dynamoWriteMillion) / 1e6,
      8,
    );
  });

  it('adds one API Gateway message per transcript event for each further viewer', () => {
    const t = template({});
    const cost = (viewers: number) =>
      line(perMeetingHour(t, defaultUsage(viewers)), /WebSocket messages/)?.usd ?? Number.NaN;
    const u = defaultUsage(1);
    const events = u.finalsPerHour + u.interimsPerHour + u.otherEventsPerHour;

    expect(cost(6) - cost(5)).toBeCloseTo(
      ((events + (2 * 3_600_000) / PING_INTERVAL_MS) * PRICES.wsMessageMillion) / 1e6,
      8,
    );
  });
});
