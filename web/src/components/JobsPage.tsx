import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../app-context';
import { startedAt } from '../format';
import { describeError, type JobView, listJobs } from '../jobs-api';
import { onLinkClick } from '../router';
import { formatBytes, formatSeconds, StageBadge } from './JobProgress';

/** Your file transcriptions, newest first, paged with the REST cursor. */
export function JobsPage() {
  const { api } = useApp();
  const [jobs, setJobs] = useState<JobView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();

  const load = async (from?: string | null) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await listJobs(api, from);
      setJobs((prev) => (from ? [...prev, ...page.jobs] : page.jobs));
      setCursor(page.nextCursor);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  return (
    <main class="page jobs-page">
      <h1>Transcriptions</h1>
      <p>
        <a class="button" href="/upload" onClick={onLinkClick}>
          Upload a file
        </a>
      </p>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!loading && jobs.length === 0 && !error && (
        <p>No transcriptions yet. Upload a recording to start one.</p>
      )}
      {jobs.length > 0 && (
        <ul class="meeting-list job-list">
          {jobs.map((job) => (
            <li key={job.jobId} class="meeting-item" data-job-id={job.jobId}>
              <a href={`/jobs/${job.jobId}`} onClick={onLinkClick}>
                {job.title || job.fileName}
              </a>
              <StageBadge stage={job.stage} />
              <span class="meta">
                {job.stage === 'complete' || job.stage === 'cancelled' || job.stage === 'failed'
                  ? ''
                  : `${Math.floor(job.percent)}% · `}
                <time dateTime={job.createdAt}>{startedAt(job.createdAt)}</time>
                {' · '}
                {formatBytes(job.sizeBytes)}
                {job.durationSeconds ? ` · ${formatSeconds(job.durationSeconds)}` : ''}
                {job.segments ? ` · ${job.segments} lines` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)} disabled={loading}>
          Load more
        </button>
      )}
      {loading && <p aria-live="polite">Loading…</p>}
    </main>
  );
}
