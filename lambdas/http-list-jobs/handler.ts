import { JobRepository } from '../../core/jobs/repository';
import { listJobs } from '../../core/jobs/service';
import { ListJobsQuerySchema } from '../../core/rest/job-routes';
import { httpRoute } from '../shared/http';

const jobs = new JobRepository();

/** GET /jobs */
export const handler = httpRoute(
  { name: 'listJobs', auth: true, query: ListJobsQuerySchema },
  async ({ userId, query }) => ({ status: 200, json: await listJobs(userId, query, { jobs }) }),
);
