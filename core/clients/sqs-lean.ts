/**
 * SQS SendMessage without the AWS SDK, for the Lambdas that send one pipeline event per request
 * (ws-command): SQS's JSON protocol (`AmazonSQS.SendMessage`, the protocol the SDK's client
 * speaks too) through ./aws-json.ts, signed with the lean signer, retried on throttling, 5xx and
 * network failures (5 attempts, as Parley's SDK client). Errors keep SQS's names
 * (`QueueDoesNotExist`, …) as AwsServiceError.
 */
import { configuredJsonClient } from './aws-json';
import { lazyClient } from './lifecycle';

export interface SendMessageInput {
  QueueUrl: string;
  MessageBody: string;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
}

const leanSqs = lazyClient(
  () => configuredJsonClient('sqs', 'AmazonSQS'),
  (client) => client.destroy(),
);

/** Sends one message; resolves with its MessageId. */
export async function sendMessageLean(input: SendMessageInput): Promise<string> {
  const out = await leanSqs().call<{ MessageId?: string }>('SendMessage', input);
  return String(out.MessageId ?? '');
}
