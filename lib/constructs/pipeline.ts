/**
 * The transcript pipeline's queue: SQS FIFO (order per meeting, MessageGroupId = meetingId)
 * with its FIFO dead-letter queue, both from QUEUES.transcriptEvents. Its alarms (age, DLQ
 * depth) live with the others in lib/constructs/monitoring.ts.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUES } from '../../core/resources';

export interface PipelineProps {
  readonly removalPolicy: RemovalPolicy;
}

export class Pipeline extends Construct {
  readonly transcriptQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    const def = QUEUES.transcriptEvents;

    this.deadLetterQueue = new sqs.Queue(this, 'TranscriptDlq', {
      fifo: def.fifo,
      retentionPeriod: Duration.seconds(def.dlq.retentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
    });

    this.transcriptQueue = new sqs.Queue(this, 'TranscriptQueue', {
      fifo: def.fifo,
      // Producers set MessageDeduplicationId per event (core/pipeline/events.ts).
      contentBasedDeduplication: false,
      // High-throughput FIFO: limits apply per meeting (message group), not per queue.
      deduplicationScope: def.fifo ? sqs.DeduplicationScope.MESSAGE_GROUP : undefined,
      fifoThroughputLimit: def.fifo ? sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID : undefined,
      visibilityTimeout: Duration.seconds(def.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(def.retentionSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: def.maxReceiveCount },
      removalPolicy: props.removalPolicy,
    });
  }

  /** Lambda timeout that respects the queue's visibility timeout (at least six times the timeout). */
  static consumerTimeout(): Duration {
    return Duration.seconds(Math.floor(QUEUES.transcriptEvents.visibilityTimeoutSeconds / 6));
  }
}
