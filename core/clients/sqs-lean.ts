/**
 * SQS SendMessage without the AWS SDK, for the Lambdas that send one pipeline event per request
 * (ws-command): SQS's JSON protocol (`AmazonSQS.SendMessage`, the protocol the SDK's client
 * speaks too) through ./aws-json.ts, signed with the lean signer, retried on throttling, 5xx and
 * network failures (5 attempts, as Parley's SDK client). Errors keep SQS's names
 * (`QueueDoesNotExist`, …) as AwsServiceError.
 */
import { awsConfig } from '../config';
import { awsCredentials } from './aws-credentials';
import { AwsJsonClient } from './aws-json';
import { onDestroyClients } from './lifecycle';

export interface SendMessageInput {
  QueueUrl: string;
  MessageBody: string;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
}

let client: AwsJsonClient | undefined;

function leanSqs(): AwsJsonClient {
  if (!client) {
    const cfg = awsConfig();
    const created = new AwsJsonClient({
      service: 'sqs',
      region: cfg.region,
      endpoint: cfg.endpoints.sqs ?? `https://sqs.${cfg.region}.amazonaws.com`,
      targetPrefix: 'AmazonSQS',
      credentials: awsCredentials(),
      maxAttempts: 5,
    });
    client = created;
    onDestroyClients(() => {
      created.destroy();
      client = undefined;
    });
  }
  return client;
}

/** Sends one message; resolves with its MessageId. */
export async function sendMessageLean(input: SendMessageInput): Promise<string> {
  const out = await leanSqs().call<{ MessageId?: string }>('SendMessage', input);
  return String(out.MessageId ?? '');
}
