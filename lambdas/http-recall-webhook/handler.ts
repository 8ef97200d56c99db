import { optionalSecret } from '../../core/clients/secrets';
import { MeetingRepository } from '../../core/meetings/repository';
import { handleRecallWebhook } from '../../core/rest/recall-webhook';
import { WebhookAckSchema } from '../../core/rest/schemas';
import { httpRoute, logger, publisherFromEnv } from '../shared/http';

const meetings = new MeetingRepository();
const publish = publisherFromEnv();

/**
 * POST /webhooks/recall (no JWT: Recall signs the body instead). The body is read raw, since
 * the signature covers its exact bytes; it is parsed only after the signature checks out.
 */
export const handler = httpRoute(
  { name: 'recallWebhook', auth: false, response: WebhookAckSchema },
  async ({ headers, rawBody }) => ({
    status: 200,
    json: await handleRecallWebhook(
      { headers, rawBody },
      { secret: await optionalSecret('RECALL_WEBHOOK_SECRET'), meetings, publish, logger },
    ),
  }),
);
