import { SQSClient } from '@aws-sdk/client-sqs';
import { awsConfig } from '../config';

let client: SQSClient | undefined;

/** The one SQS client of this process; local mode only changes its endpoint. */
export function sqs(): SQSClient {
  if (!client) {
    const cfg = awsConfig();
    client = new SQSClient({ region: cfg.region, endpoint: cfg.endpoints.sqs, maxAttempts: 5 });
  }
  return client;
}
