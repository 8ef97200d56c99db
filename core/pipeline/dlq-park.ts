/**
 * Parks an SQS record that failed its last delivery in its queue's DLQ, with the error as a
 * message attribute, and counts it (the fan-out and fanout-shard Lambdas; see fanout-record.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SendMessageCommandInput } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

export type FanoutMetric = 'DeadLettered' | 'MalformedEvents';

export interface ParkDeps {
  deadLetterQueueUrl: string;
  /** Sends to SQS (core/clients/sqs.ts `sendMessage`). */
  send: (input: SendMessageCommandInput) => Promise<void>;
  count: (metric: FanoutMetric) => void;
  logger: Logger;
}

/** Parks a record in the DLQ (with the error as a message attribute) and counts it. */
export async function parkRecord(record: SQSRecord, error: unknown, deps: ParkDeps): Promise<void> {
  deps.logger.error('record failed its last delivery; parking it in the DLQ', {
    messageId: record.messageId,
    receives: Number(record.attributes.ApproximateReceiveCount),
    error: error as Error,
  });
  deps.count('DeadLettered');
  await deps.send({
    QueueUrl: deps.deadLetterQueueUrl,
    MessageBody: record.body,
    MessageGroupId: record.attributes.MessageGroupId,
    MessageDeduplicationId: record.messageId,
    MessageAttributes: {
      SourceMessageId: { DataType: 'String', StringValue: record.messageId },
      Error: { DataType: 'String', StringValue: String(error).slice(0, 1_000) },
    },
  });
}
