import { probeQueue, probeTable } from '../../core/clients/probes';
import { queueUrl, tableName } from '../../core/config';
import { checkHealth } from '../../core/rest/health';
import { httpRoute } from '../shared/http';

const meetingsTable = tableName('meetings');
const transcriptQueue = queueUrl('transcriptEvents');
const deps = {
  probes: {
    dynamodb: (signal: AbortSignal) => probeTable(meetingsTable, signal),
    sqs: (signal: AbortSignal) => probeQueue(transcriptQueue, signal),
  },
};

/** GET /health: 200 when DynamoDB and SQS answer, 503 (same body) when one does not. */
export const handler = httpRoute({ name: 'health', auth: false }, async () => {
  const { healthy, body } = await checkHealth(deps);
  return { status: healthy ? 200 : 503, json: body };
});
