import { JobRepository } from '../../core/jobs/repository';
import { getJob } from '../../core/jobs/service';
import { JobPathSchema } from '../../core/rest/job-routes';
import { httpRoute } from '../shared/http';

const jobs = new JobRepository();

/** GET /jobs/{jobId}: the same state `get_state` returns over the WebSocket API. */
export const handler = httpRoute(
  { name: 'getJob', auth: true, params: JobPathSchema },
  async ({ userId, params }) => ({ status: 200, json: await getJob(userId, params.jobId, { jobs }) }),
);
