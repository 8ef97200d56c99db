import { s3 } from '../../core/clients/s3';
import { bucketName } from '../../core/config';
import { JobRepository } from '../../core/jobs/repository';
import { cancelJob } from '../../core/jobs/service';
import { MeetingRepository } from '../../core/meetings/repository';
import { JobPathSchema } from '../../core/rest/job-routes';
import { httpRoute, publisherFromEnv } from '../shared/http';

const deps = {
  jobs: new JobRepository(),
  meetings: new MeetingRepository(),
  s3: s3(),
  bucket: bucketName('media'),
  publish: publisherFromEnv(),
};

/** DELETE /jobs/{jobId} */
export const handler = httpRoute(
  { name: 'cancelJob', auth: true, params: JobPathSchema },
  async ({ userId, params }) => ({ status: 200, json: await cancelJob(userId, params.jobId, deps) }),
);
