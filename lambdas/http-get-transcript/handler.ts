import { MeetingRepository } from '../../core/meetings/repository';
import { MeetingPathSchema, TranscriptPageSchema, TranscriptQuerySchema } from '../../core/rest/schemas';
import { getTranscriptFile, getTranscriptPage } from '../../core/rest/transcript';
import { SegmentRepository } from '../../core/transcript/segment-repository';
import { httpRoute } from '../shared/http';

const deps = { meetings: new MeetingRepository(), segments: new SegmentRepository() };

/** GET /meetings/{meetingId}/transcript?format=json|txt|srt|vtt */
export const handler = httpRoute(
  { name: 'getTranscript', auth: true, params: MeetingPathSchema, query: TranscriptQuerySchema },
  async ({ userId, params, query }) => {
    if (query.format === 'json') {
      const page = await getTranscriptPage(userId, params.meetingId, query, deps);
      return { status: 200, json: TranscriptPageSchema.parse(page) };
    }
    const file = await getTranscriptFile(userId, params.meetingId, query.format, deps);
    return {
      status: 200,
      text: file.body,
      contentType: file.contentType,
      headers: { 'content-disposition': file.contentDisposition },
    };
  },
);
