import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsConfig } from '../config';
import { onDestroyClients } from './lifecycle';

let client: DynamoDBDocumentClient | undefined;

/** The one DynamoDB document client of this process; local mode only changes its endpoint. */
export function dynamo(): DynamoDBDocumentClient {
  if (!client) {
    const cfg = awsConfig();
    const base = new DynamoDBClient({ region: cfg.region, endpoint: cfg.endpoints.dynamodb, maxAttempts: 5 });
    client = DynamoDBDocumentClient.from(base, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
    onDestroyClients(() => {
      base.destroy();
      client = undefined;
    });
  }
  return client;
}
