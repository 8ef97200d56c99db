import { s3 } from '../../core/clients/s3';
import { bucketName } from '../../core/config';
import { JobRepository } from '../../core/jobs/repository';
import { createJob } from '../../core/jobs/service';
import { MeetingRepository } from '../../core/meetings/repository';
import { CreateJobRequestSchema } from '../../core/rest/job-routes';
import { httpRoute } from '../shared/http';

const deps = {
  jobs: new JobRepository(),
  meetings: new MeetingRepository(),
  s3: s3(),
  bucket: bucketName('media'),
};

/** POST /jobs */
export const handler = httpRoute(
  { name: 'createJob', auth: true, body: CreateJobRequestSchema },
  async ({ userId, body }) => {
    const created = await createJob(userId, body, deps);
    return { status: 201, json: created, headers: { location: `/jobs/${created.job.jobId}` } };
  },
);
