import { s3 } from '../../core/clients/s3';
import { bucketName } from '../../core/config';
import { MeetingRepository } from '../../core/meetings/repository';
import { S3RecordingStore } from '../../core/recordings/store';
import { deleteMeeting, meetingTablesFromEnv } from '../../core/rest/delete-meeting';
import { MeetingPathSchema } from '../../core/rest/schemas';
import { httpRoute, logger } from '../shared/http';

const meetings = new MeetingRepository();
const store = new S3RecordingStore(s3(), bucketName('media'));
const tables = meetingTablesFromEnv();

/** DELETE /meetings/{meetingId}: 204, no body. */
export const handler = httpRoute(
  { name: 'deleteMeeting', auth: true, params: MeetingPathSchema },
  async ({ userId, params }) => {
    const deleted = await deleteMeeting(userId, params.meetingId, { meetings, store, tables });
    logger.info('meeting deleted', { meetingId: params.meetingId, ...deleted });
    return { status: 204, text: '', contentType: 'text/plain; charset=utf-8' };
  },
);
