/**
 * The fan-out Lambda (lambdas/fanout): consumes the transcript FIFO queue, stores finals
 * idempotently, and posts transcript, alert and status messages to every subscriber of the
 * meeting through the WebSocket management API, removing connections that are gone.
 *
 * Large meetings are sharded (core/pipeline/fanout-shards.ts): the fan-out posts to shard 0 and
 * sends each other shard to the FIFO shard queue, whose consumer (lambdas/fanout-shard) posts to
 * that shard's ≤ 1,000 connections; shards run in parallel invocations (one per message group).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUES, type TableKey } from '../../core/resources';
import { grantQueueSend } from '../grants';
import { type FunctionDefaults, ParleyFunction } from './parley-function';
import { Pipeline } from './pipeline';
import { grantConnectionRemoval } from './realtime-api';

export interface TranscriptFanoutProps {
  readonly defaults: FunctionDefaults;
  readonly tables: { readonly [K in TableKey]: Table };
  readonly transcriptQueue: IQueue;
  /** Where the handler parks a record that failed its last delivery (see lambdas/fanout). */
  readonly deadLetterQueue: IQueue;
  readonly stage: WebSocketStage;
  /** OpenAI's key, when the stack has one: the rolling briefing then uses the model. */
  readonly openaiApiKey?: ISecret;
  /** For the shard queues. */
  readonly removalPolicy: RemovalPolicy;
}

/** One vCPU: a shard's ≤ 1,000 posts are CPU-bound (signing, sockets), ~0.3 ms each. */
export const FANOUT_SHARD_MEMORY_MB = 1_769;

export class TranscriptFanout extends Construct {
  readonly function: ParleyFunction;
  /** Shards 1… of large meetings: queue, its DLQ, its consumer and the DLQ's alarm. */
  readonly shardQueue: sqs.Queue;
  readonly shardDeadLetterQueue: sqs.Queue;
  readonly shardFunction: ParleyFunction;
  readonly shardDeadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: TranscriptFanoutProps) {
    super(scope, id);
    const { tables } = props;
    this.function = new ParleyFunction(this, 'Fanout', {
      lambda: 'fanout',
      defaults: props.defaults,
      description: `Parley ${props.defaults.stageName}: transcript fan-out to WebSocket subscribers`,
      timeout: Pipeline.consumerTimeout(),
    })
      // TranscriptFanout: keywords and a redelivered final's deliveredThrough (GetItem), and
      // advanceLastSeq, the delivered mark (UpdateItem).
      .bindTable('meetings', tables.meetings, ['GetItem', 'UpdateItem'])
      // SegmentRepository: putFinal (conditional PutItem); RollingBriefings reads finals (Query).
      .bindTable('segments', tables.segments, ['PutItem', 'Query'])
      // ConnectionRepository.subscribers: query by topic.
      .bindTable('subscriptions', tables.subscriptions, ['Query'])
      // KeywordAlerts: raise (conditional PutItem) and the final's forSeq (Query).
      .bindTable('alerts', tables.alerts, ['PutItem', 'Query'])
      // RollingBriefings: the stored rolling briefing (GetItem, conditional PutItem).
      .bindTable('briefings', tables.briefings, ['GetItem', 'PutItem'])
      .bindManagementApi(props.stage, 'post')
      .consumeQueue('transcriptEvents', props.transcriptQueue)
      .setEnvironment(QUEUES.transcriptEvents.dlq.envVar, props.deadLetterQueue.queueUrl);
    if (props.openaiApiKey) this.function.bindSecret('OPENAI_API_KEY', props.openaiApiKey);
    grantQueueSend(this.function.function, props.deadLetterQueue);
    grantConnectionRemoval(this.function, tables);

    const def = QUEUES.fanoutShards;
    this.shardDeadLetterQueue = new sqs.Queue(this, 'ShardDlq', {
      fifo: true,
      retentionPeriod: Duration.seconds(def.dlq.retentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
    });
    this.shardQueue = new sqs.Queue(this, 'ShardQueue', {
      fifo: true,
      // The fan-out sets MessageDeduplicationId per shard of each delivery.
      contentBasedDeduplication: false,
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: Duration.seconds(def.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(def.retentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.shardDeadLetterQueue, maxReceiveCount: def.maxReceiveCount },
      removalPolicy: props.removalPolicy,
    });
    // The fan-out only sends to it.
    this.function.bindQueue('fanoutShards', this.shardQueue, 'send');

    this.shardFunction = new ParleyFunction(this, 'FanoutShard', {
      lambda: 'fanout-shard',
      defaults: props.defaults,
      description: `Parley ${props.defaults.stageName}: one shard of a large meeting's fan-out`,
      memorySize: FANOUT_SHARD_MEMORY_MB,
      // AWS's advice for Lambda consumers: the visibility timeout is at least six times this.
      timeout: Duration.seconds(Math.floor(def.visibilityTimeoutSeconds / 6)),
    })
      // Posts only; the connection ids come in the message (no table read).
      .bindManagementApi(props.stage, 'post')
      .consumeQueue('fanoutShards', this.shardQueue)
      .setEnvironment(def.dlq.envVar, this.shardDeadLetterQueue.queueUrl);
    grantQueueSend(this.shardFunction.function, this.shardDeadLetterQueue);
    // Gone (410) and evicted connections are removed, as by the fan-out.
    grantConnectionRemoval(this.shardFunction, tables);

    this.shardDeadLetterAlarm = new cloudwatch.Alarm(this, 'ShardDeadLetterAlarm', {
      alarmDescription:
        'A fan-out shard reached its dead-letter queue (some viewers may have missed lines until they reconnect). Runbook: docs/operations.md#fanoutsharddeadletters',
      metric: this.shardDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
