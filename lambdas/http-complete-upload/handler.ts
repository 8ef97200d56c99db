import { s3 } from '../../core/clients/s3';
import { bucketName } from '../../core/config';
import { JobRepository } from '../../core/jobs/repository';
import { completeUpload } from '../../core/jobs/service';
import { CompleteUploadRequestSchema, JobPathSchema } from '../../core/rest/job-routes';
import { httpRoute } from '../shared/http';

const deps = {
  jobs: new JobRepository(),
  s3: s3(),
  bucket: bucketName('media'),
};

/** POST /jobs/{jobId}/upload/complete */
export const handler = httpRoute(
  { name: 'completeUpload', auth: true, params: JobPathSchema, body: CompleteUploadRequestSchema },
  async ({ userId, params, body }) => ({
    status: 200,
    json: await completeUpload(userId, params.jobId, body, deps),
  }),
);
