/**
 * The file-transcription pages load on first use, so the first load of the console does not
 * carry them (bench/web.ts measures the first-load JavaScript).
 */
import { useEffect, useState } from 'preact/hooks';
import type { Route } from '../router';

type Pages = typeof import('./jobs-pages');
let loaded: Pages | undefined;
let loading: Promise<Pages> | undefined;
const load = () => {
  loading ??= import('./jobs-pages').then((pages) => {
    loaded = pages;
    return pages;
  });
  return loading;
};

export type JobsRouteName = Extract<Route, { name: 'jobs' | 'upload' | 'job' }>;

export function JobsRoute({ route }: { route: JobsRouteName }) {
  const [pages, setPages] = useState(loaded);
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (pages) return;
    load().then(setPages, (e: unknown) => {
      loading = undefined;
      setError(e instanceof Error ? e.message : String(e));
    });
  }, [pages]);
  if (error)
    return (
      <main class="page">
        <p role="alert" class="error">
          This page could not load ({error}).{' '}
          <button type="button" onClick={() => location.reload()}>
            Reload
          </button>
        </p>
      </main>
    );
  if (!pages)
    return (
      <main class="page">
        <p aria-live="polite">Loading…</p>
      </main>
    );
  if (route.name === 'upload') return <pages.UploadPage />;
  if (route.name === 'jobs') return <pages.JobsPage />;
  return <pages.JobPage key={route.jobId} jobId={route.jobId} />;
}
