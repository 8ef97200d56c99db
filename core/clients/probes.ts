/**
 * The cheapest calls that prove a dependency answers (GET /health): a GetItem of a key that
 * never exists, and GetQueueAttributes. Each takes an AbortSignal for its timeout.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { GetCommand, leanDynamo } from './dynamodb-lean';
import { sqs } from './sqs';

export async function probeTable(table: string, abortSignal: AbortSignal): Promise<void> {
  await leanDynamo().send(new GetCommand({ TableName: table, Key: { meetingId: '__health__' } }), {
    abortSignal,
  });
}

export async function probeQueue(queueUrl: string, abortSignal: AbortSignal): Promise<void> {
  await sqs().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }), {
    abortSignal,
  });
}
