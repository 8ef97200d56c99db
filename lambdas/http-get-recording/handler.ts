import { s3 } from '../../core/clients/s3';
import { bucketName } from '../../core/config';
import { MeetingRepository } from '../../core/meetings/repository';
import { getRecording } from '../../core/recordings/service';
import { S3RecordingStore } from '../../core/recordings/store';
import { MeetingPathSchema, RecordingSchema } from '../../core/rest/schemas';
import { httpRoute } from '../shared/http';

const meetings = new MeetingRepository();
const store = new S3RecordingStore(s3(), bucketName('media'));

/** GET /meetings/{meetingId}/recording */
export const handler = httpRoute(
  { name: 'getRecording', auth: true, params: MeetingPathSchema, response: RecordingSchema },
  async ({ userId, params }) => ({
    status: 200,
    json: await getRecording(userId, params.meetingId, { meetings, store }),
  }),
);
