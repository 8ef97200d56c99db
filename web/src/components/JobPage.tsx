import { memo } from 'preact/compat';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useApp } from '../app-context';
import { meetingTime, speakerColour } from '../format';
import { cancelJob, describeError } from '../jobs-api';
import { type JobLine, type JobSnapshot, JobStore, type Transport } from '../jobs-store';
import { uploads } from '../jobs-uploads';
import { onLinkClick } from '../router';
import { ExportMenu } from './ExportMenu';
import { formatBytes, StageBadge, TranscriptionProgress, UploadProgressBar } from './JobProgress';

/** One file job: its upload, its transcription live (or polled), its transcript, cancel. */
export function JobPage({ jobId }: { jobId: string }) {
  const { api, client } = useApp();
  const store = useMemo(() => new JobStore(jobId, api, client), [jobId, api, client]);
  const [snapshot, setSnapshot] = useState(() => store.snapshot());
  useEffect(() => {
    const close = store.open();
    const off = store.subscribe(() => setSnapshot(store.snapshot()));
    setSnapshot(store.snapshot());
    return () => {
      off();
      close();
    };
  }, [store]);

  const { job, stage } = snapshot;
  const title = job?.title || job?.fileName || snapshot.upload?.fileName || 'Transcription';
  const ended = stage === 'complete' || stage === 'failed' || stage === 'cancelled';

  return (
    <main class="page job-page">
      <p>
        <a href="/jobs" onClick={onLinkClick}>
          ← Your transcriptions
        </a>
      </p>
      <h1>
        {title} <StageBadge stage={stage} />
      </h1>
      {job && (
        <p class="meta">
          {job.fileName} · {formatBytes(job.sizeBytes)} · {job.language}
        </p>
      )}
      {snapshot.loadError && !job && (
        <p role="alert" class="error">
          {snapshot.loadError}
        </p>
      )}
      <TransportNotice transport={snapshot.transport} ended={ended} />
      {snapshot.upload && <UploadProgressBar upload={snapshot.upload} />}
      <TranscriptionProgress snapshot={snapshot} />
      {snapshot.error && (
        <p role="alert" class="error" data-testid="job-error">
          {snapshot.error.message} ({snapshot.error.code})
        </p>
      )}
      {!ended && stage && <CancelButton jobId={jobId} store={store} />}
      <JobTranscript snapshot={snapshot} />
      {(stage === 'complete' || (stage === 'failed' && snapshot.lineCount > 0)) && (
        <>
          <ExportMenu meetingId={job?.meetingId ?? jobId} />
          <p>
            <a href={`/meetings/${job?.meetingId ?? jobId}`} onClick={onLinkClick}>
              Open as a meeting (briefing and questions)
            </a>
          </p>
        </>
      )}
    </main>
  );
}

function TransportNotice({ transport, ended }: { transport: Transport; ended: boolean }) {
  const [, tick] = useState(0);
  useEffect(() => {
    if (transport.kind !== 'polling' || ended) return;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [transport, ended]);
  if (transport.kind !== 'polling') return null;
  const seconds = Math.max(0, Math.ceil((transport.nextAt - Date.now()) / 1000));
  return (
    <p class="notice" role="status" data-testid="polling-notice">
      Live updates are unavailable (the realtime connection is down), so this page checks the job
      {ended ? '' : seconds > 0 ? ` again in ${seconds} s` : ' now'}.
    </p>
  );
}

function CancelButton({ jobId, store }: { jobId: string; store: JobStore }) {
  const { api } = useApp();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      uploads.abort(jobId);
      store.applyView(await cancelJob(api, jobId));
      dialog.current?.close();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="button-row">
      <button type="button" class="danger" onClick={() => dialog.current?.showModal()}>
        Cancel transcription
      </button>
      <dialog ref={dialog} aria-labelledby="cancel-job-heading">
        <h2 id="cancel-job-heading">Cancel this transcription?</h2>
        <p>Parley stops working on the file. Lines already transcribed are kept.</p>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <div class="button-row">
          <button type="button" class="danger" disabled={busy} onClick={() => void confirm()}>
            Yes, cancel it
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Keep going
          </button>
        </div>
      </dialog>
    </div>
  );
}

/** Lines as they are made; scrolls along unless the reader scrolled up. */
function JobTranscript({ snapshot }: { snapshot: JobSnapshot }) {
  const scroller = useRef<HTMLElement>(null);
  const following = useRef(true);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  }, [snapshot.lineCount]);
  const onScroll = () => {
    const el = scroller.current;
    if (el) following.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  };
  const waiting =
    snapshot.stage === 'complete'
      ? 'No speech was found in this file.'
      : 'Lines appear here as they are transcribed.';
  return (
    <section class="transcript-panel" aria-labelledby="job-transcript-heading">
      <h2 id="job-transcript-heading">
        Transcript{' '}
        <span class="count">
          ({snapshot.lineCount} {snapshot.lineCount === 1 ? 'line' : 'lines'})
        </span>
      </h2>
      <section
        class="transcript"
        ref={scroller}
        onScroll={onScroll}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        tabIndex={0}
        aria-label="Transcript lines"
      >
        {snapshot.lineCount === 0 && <p class="placeholder">{waiting}</p>}
        <ol class="lines">
          {snapshot.blocks.map((block) => (
            <LineBlock key={block[0]?.seq} lines={block} />
          ))}
        </ol>
      </section>
    </section>
  );
}

const LineBlock = memo(
  function LineBlock({ lines }: { lines: readonly JobLine[] }) {
    return (
      <>
        {lines.map((line) => (
          <li key={line.seq} id={`line-${line.seq}`} class="line" data-seq={line.seq}>
            <time class="at">{meetingTime(line.startMs)}</time>{' '}
            <span class={`speaker speaker-${speakerColour(line.speaker)}`}>{line.speaker}</span>{' '}
            <span class="text">{line.text}</span>
          </li>
        ))}
      </>
    );
  },
  (prev, next) => prev.lines === next.lines,
);
