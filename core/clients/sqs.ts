import { SendMessageCommand, type SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { awsConfig } from '../config';
import { onDestroyClients } from './lifecycle';

let client: SQSClient | undefined;

/** The one SQS client of this process; local mode only changes its endpoint. */
export function sqs(): SQSClient {
  if (!client) {
    const cfg = awsConfig();
    const created = new SQSClient({ region: cfg.region, endpoint: cfg.endpoints.sqs, maxAttempts: 5 });
    client = created;
    onDestroyClients(() => {
      created.destroy();
      client = undefined;
    });
  }
  return client;
}

/** Sends one message through the process's SQS client. */
export async function sendMessage(input: SendMessageCommandInput): Promise<void> {
  await sqs().send(new SendMessageCommand(input));
}
