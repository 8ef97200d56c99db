/**
 * Alarms that page someone, and one dashboard with the golden signals. Every alarm notifies
 * the SNS alarm topic (an e-mail subscription when `alarmEmail` is set; add others to the
 * topic); docs/operations.md has one runbook per alarm, under the alarm's id.
 */
import { Duration } from 'aws-cdk-lib';
import type { HttpApi, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { FargateService } from 'aws-cdk-lib/aws-ecs';
import {
  type ApplicationLoadBalancer,
  type ApplicationTargetGroup,
  HttpCodeElb,
  HttpCodeTarget,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ACTIVE_SESSIONS_METRIC, FANOUT_METRICS } from '../../core/resources';
import { acknowledge } from '../nag';

/** Alarm ids (construct ids, and the runbook headings in docs/operations.md). */
export const ALARMS = {
  fanoutErrors: 'FanoutErrors',
  fanoutThrottles: 'FanoutThrottles',
  queueAge: 'TranscriptQueueAge',
  transcriptDlq: 'TranscriptDeadLetters',
  sweeperDlq: 'SweeperDeadLetters',
  sweeperErrors: 'SweeperErrors',
  gateway5xx: 'AudioGateway5xx',
  gatewayUnhealthy: 'AudioGatewayUnhealthyTasks',
  gatewayTasksBelowDesired: 'AudioGatewayTasksBelowDesired',
  gatewaySessionsNearMax: 'AudioGatewaySessionsNearMax',
  realtimeIntegrationErrors: 'RealtimeIntegrationErrors',
  rest5xx: 'Rest5xx',
} as const;

/** A transcript event older than this in the queue means live lines arrive late. */
export const QUEUE_AGE_ALARM_SECONDS = 60;
/** Share of MAX_SESSIONS on one task that pages (autoscaling should have added a task). */
export const SESSIONS_NEAR_MAX_SHARE = 0.9;

export interface MonitoringProps {
  readonly stageName: string;
  readonly alarmEmail?: string;
  readonly fanout: IFunction;
  readonly sweeper: IFunction;
  readonly transcriptQueue: IQueue;
  readonly transcriptDlq: IQueue;
  readonly sweeperDlq: IQueue;
  readonly loadBalancer: ApplicationLoadBalancer;
  readonly targetGroup: ApplicationTargetGroup;
  readonly service: FargateService;
  /** The gateway service's autoscaling minimum: fewer healthy tasks than this pages. */
  readonly minTasks: number;
  readonly maxSessions: number;
  readonly realtimeApi: WebSocketApi;
  readonly realtimeStage: WebSocketStage;
  readonly restApi: HttpApi;
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: Record<keyof typeof ALARMS, cloudwatch.Alarm>;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Parley ${props.stageName} alarms`,
      enforceSSL: true,
    });
    acknowledge(
      this.topic,
      'AwsSolutions-SNS2',
      'Alarm notifications carry alarm names and metric values only, and CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key (a customer key would be needed for no confidentiality gain).',
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.topic);

    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);
    const realtimeDims = { ApiId: props.realtimeApi.apiId, Stage: props.realtimeStage.stageName };
    const sessions = (statistic: string) =>
      new cloudwatch.Metric({
        namespace: ACTIVE_SESSIONS_METRIC.namespace,
        metricName: ACTIVE_SESSIONS_METRIC.metricName,
        dimensionsMap: { [ACTIVE_SESSIONS_METRIC.dimension]: props.stageName },
        statistic,
        period: minute,
      });
    // Healthy gateway tasks, from the load balancer (free; Container Insights is off for cost).
    const healthyTasks = props.targetGroup.metrics.healthyHostCount({
      period: minute,
      statistic: cloudwatch.Stats.MINIMUM,
    });
    const fanoutMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: FANOUT_METRICS.namespace,
        metricName,
        dimensionsMap: { service: FANOUT_METRICS.service },
        statistic,
        period: minute,
      });

    const make = (
      key: keyof typeof ALARMS,
      description: string,
      options: {
        metric: cloudwatch.IMetric;
        threshold: number;
        evaluationPeriods?: number;
        comparisonOperator?: cloudwatch.ComparisonOperator;
        treatMissingData?: cloudwatch.TreatMissingData;
      },
    ): cloudwatch.Alarm => {
      const alarm = new cloudwatch.Alarm(this, ALARMS[key], {
        alarmDescription: `${description} Runbook: docs/operations.md#${ALARMS[key].toLowerCase()}`,
        metric: options.metric,
        threshold: options.threshold,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        comparisonOperator:
          options.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      return alarm;
    };

    this.alarms = {
      fanoutErrors: make(
        'fanoutErrors',
        'The fan-out Lambda failed whole batches (live lines are retried, then parked).',
        {
          metric: props.fanout.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
          threshold: 1,
        },
      ),
      fanoutThrottles: make('fanoutThrottles', 'The fan-out Lambda was throttled (account concurrency).', {
        metric: props.fanout.metricThrottles({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
      }),
      queueAge: make(
        'queueAge',
        `A transcript event waited over ${QUEUE_AGE_ALARM_SECONDS} s in the queue.`,
        {
          metric: props.transcriptQueue.metricApproximateAgeOfOldestMessage({
            period: minute,
            statistic: cloudwatch.Stats.MAXIMUM,
          }),
          threshold: QUEUE_AGE_ALARM_SECONDS,
          evaluationPeriods: 3,
        },
      ),
      transcriptDlq: make('transcriptDlq', 'Transcript events reached the dead-letter queue.', {
        metric: props.transcriptDlq.metricApproximateNumberOfMessagesVisible({
          period: minute,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
      }),
      sweeperDlq: make('sweeperDlq', 'The stuck-meeting sweeper could not be invoked.', {
        metric: props.sweeperDlq.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
      }),
      sweeperErrors: make('sweeperErrors', 'The stuck-meeting sweeper failed.', {
        metric: props.sweeper.metricErrors({ period: Duration.minutes(15), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
      }),
      gateway5xx: make(
        'gateway5xx',
        'The audio gateway load balancer answered 5xx (Recall upgrades refused).',
        {
          metric: new cloudwatch.MathExpression({
            expression: 'FILL(elb, 0) + FILL(target, 0)',
            usingMetrics: {
              elb: props.loadBalancer.metrics.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, {
                period: fiveMinutes,
                statistic: cloudwatch.Stats.SUM,
              }),
              target: props.loadBalancer.metrics.httpCodeTarget(HttpCodeTarget.TARGET_5XX_COUNT, {
                period: fiveMinutes,
                statistic: cloudwatch.Stats.SUM,
              }),
            },
            period: fiveMinutes,
          }),
          threshold: 10,
        },
      ),
      gatewayUnhealthy: make('gatewayUnhealthy', 'An audio gateway task fails its health check.', {
        metric: props.targetGroup.metrics.unhealthyHostCount({
          period: minute,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
        evaluationPeriods: 3,
      }),
      gatewayTasksBelowDesired: make(
        'gatewayTasksBelowDesired',
        `Fewer healthy audio gateway tasks than the service's minimum (${props.minTasks}): tasks fail to start, keep stopping or fail their health check.`,
        {
          metric: healthyTasks,
          threshold: props.minTasks,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 5,
          // No data from the load balancer is no healthy task.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
      ),
      gatewaySessionsNearMax: make(
        'gatewaySessionsNearMax',
        `An audio gateway task holds ${Math.round(SESSIONS_NEAR_MAX_SHARE * 100)} % of MAX_SESSIONS (${props.maxSessions}); new meetings will be refused.`,
        {
          metric: sessions(cloudwatch.Stats.MAXIMUM),
          threshold: Math.max(1, Math.floor(props.maxSessions * SESSIONS_NEAR_MAX_SHARE)),
          evaluationPeriods: 3,
        },
      ),
      realtimeIntegrationErrors: make(
        'realtimeIntegrationErrors',
        'WebSocket API routes failed to run their Lambda (clients get internal errors).',
        {
          metric: new cloudwatch.Metric({
            namespace: 'AWS/ApiGateway',
            metricName: 'IntegrationError',
            dimensionsMap: realtimeDims,
            statistic: cloudwatch.Stats.SUM,
            period: fiveMinutes,
          }),
          threshold: 5,
        },
      ),
      rest5xx: make('rest5xx', 'The REST API answered 5xx.', {
        metric: props.restApi.metricServerError({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        threshold: 5,
      }),
    };

    const graph = (title: string, left: cloudwatch.IMetric[], width = 8) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          graph('Live meetings (sessions on all tasks)', [
            sessions(cloudwatch.Stats.SUM).with({ label: 'sessions' }),
          ]),
          graph('Client streams (WebSocket API)', [
            new cloudwatch.Metric({
              namespace: 'AWS/ApiGateway',
              metricName: 'ConnectCount',
              dimensionsMap: realtimeDims,
              statistic: cloudwatch.Stats.SUM,
              period: minute,
              label: 'connects/min',
            }),
            new cloudwatch.Metric({
              namespace: 'AWS/ApiGateway',
              metricName: 'MessageCount',
              dimensionsMap: realtimeDims,
              statistic: cloudwatch.Stats.SUM,
              period: minute,
              label: 'messages/min',
            }),
          ]),
          graph('Finals per second', [
            new cloudwatch.MathExpression({
              expression: 'finals / 60',
              usingMetrics: { finals: fanoutMetric(FANOUT_METRICS.finals, cloudwatch.Stats.SUM) },
              period: minute,
              label: 'finals/s',
            }),
          ]),
        ],
        [
          graph('End-to-end latency of finals (produced → delivered), ms', [
            fanoutMetric(FANOUT_METRICS.finalLatency, cloudwatch.Stats.percentile(50)).with({ label: 'p50' }),
            fanoutMetric(FANOUT_METRICS.finalLatency, cloudwatch.Stats.percentile(90)).with({ label: 'p90' }),
            fanoutMetric(FANOUT_METRICS.finalLatency, cloudwatch.Stats.percentile(99)).with({ label: 'p99' }),
          ]),
          graph(
            'Errors',
            Object.values(this.alarms).map((a) => a.metric),
          ),
          graph('Saturation', [
            props.service.metricCpuUtilization({ period: minute }),
            healthyTasks.with({ label: 'healthy tasks' }),
            props.transcriptQueue
              .metricApproximateAgeOfOldestMessage({ period: minute, statistic: cloudwatch.Stats.MAXIMUM })
              .with({ label: 'queue age (s)' }),
          ]),
        ],
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: Object.values(this.alarms),
            width: 24,
            height: 4,
          }),
        ],
      ],
    });
  }
}
