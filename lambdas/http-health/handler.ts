import { dynamo } from '../../core/clients/dynamodb';
import { sqs } from '../../core/clients/sqs';
import { queueUrl, tableName } from '../../core/config';
import { checkHealth } from '../../core/rest/health';
import { httpRoute } from '../shared/http';

const deps = {
  dynamo: dynamo(),
  meetingsTable: tableName('meetings'),
  sqs: sqs(),
  queueUrl: queueUrl('transcriptEvents'),
};

/** GET /health: 200 when DynamoDB and SQS answer, 503 (same body) when one does not. */
export const handler = httpRoute({ name: 'health', auth: false }, async () => {
  const { healthy, body } = await checkHealth(deps);
  return { status: healthy ? 200 : 503, json: body };
});
