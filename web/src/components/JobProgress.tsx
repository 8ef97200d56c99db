import type { JobStage } from '../jobs-api';
import { STAGE_ORDER } from '../jobs-api';
import type { JobSnapshot } from '../jobs-store';
import type { UploadState } from '../jobs-uploads';

export const STAGE_LABELS: Readonly<Record<JobStage, string>> = {
  uploading: 'Uploading',
  queued: 'Queued',
  decoding: 'Decoding',
  transcribing: 'Transcribing',
  finalizing: 'Finalizing',
  complete: 'Complete',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** `42 s`, `3 min 5 s`, `1 h 2 min`. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function StageBadge({ stage }: { stage: JobStage | undefined }) {
  if (!stage) return null;
  return <span class={`badge job-stage stage-${stage}`}>{STAGE_LABELS[stage]}</span>;
}

/** The browser's upload: bytes sent, parts, speed; a progress bar of its own. */
export function UploadProgressBar({ upload }: { upload: UploadState }) {
  const { sent, total, part, parts, retries } = upload.progress;
  const percent = total > 0 ? Math.floor((sent / total) * 100) : 0;
  return (
    <section class="panel upload-progress" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload</h2>
      <progress
        class="bar"
        max={100}
        value={upload.done ? 100 : percent}
        aria-label="Upload progress"
        aria-valuetext={`${upload.done ? 100 : percent}%`}
      />
      <p class="meta" data-testid="upload-status">
        {upload.error
          ? ''
          : upload.done
            ? `Uploaded ${formatBytes(total)}`
            : `Uploading ${formatBytes(sent)} of ${formatBytes(total)} (${percent}%)`}
        {!upload.error && parts > 1 ? ` · part ${Math.min(part, parts)} of ${parts}` : ''}
        {!upload.error && upload.bytesPerSecond && !upload.done
          ? ` · ${formatBytes(upload.bytesPerSecond)}/s`
          : ''}
        {retries > 0 ? ` · ${retries} ${retries === 1 ? 'part' : 'parts'} sent again` : ''}
      </p>
      {upload.error && (
        <p role="alert" class="error">
          {upload.error}
        </p>
      )}
    </section>
  );
}

/** Stage, percent, ETA and speed as a progress bar, and the stages ticked off in order. */
export function TranscriptionProgress({ snapshot }: { snapshot: JobSnapshot }) {
  const { stage, percent, speed, etaSeconds, etaConfidence, audioSecondsProcessed, audioSecondsTotal } =
    snapshot;
  const ended = stage === 'complete' || stage === 'failed' || stage === 'cancelled';
  const current = stage ? STAGE_ORDER.indexOf(stage) : -1;
  const shown = Math.floor(percent);
  return (
    <section class="panel job-progress" aria-labelledby="progress-heading">
      <h2 id="progress-heading">Transcription</h2>
      <progress
        class={`bar${stage === 'failed' || stage === 'cancelled' ? ' stopped' : ''}`}
        max={100}
        value={shown}
        aria-label="Transcription progress"
        aria-valuetext={`${shown}%${stage ? `, ${STAGE_LABELS[stage]}` : ''}`}
      />
      <p class="job-figures">
        <strong data-testid="job-percent">{shown}%</strong>
        {' · '}
        <span data-testid="job-stage">{stage ? STAGE_LABELS[stage] : 'Loading…'}</span>
        {!ended && etaSeconds !== undefined && stage === 'transcribing' && (
          <span data-testid="job-eta">
            {' · '}about {formatSeconds(etaSeconds)} left
            {etaConfidence !== undefined && etaConfidence < 0.3 ? ' (rough estimate)' : ''}
          </span>
        )}
        {speed !== undefined &&
          speed > 0 &&
          (stage === 'transcribing' || stage === 'finalizing' || ended) && (
            <span data-testid="job-speed">
              {' · '}
              {speed.toFixed(1)}× real time
            </span>
          )}
        {audioSecondsTotal ? (
          <span class="meta">
            {' · '}
            {formatSeconds(Math.min(audioSecondsProcessed, audioSecondsTotal))} of{' '}
            {formatSeconds(audioSecondsTotal)} of audio
          </span>
        ) : null}
      </p>
      <ol class="job-stages" aria-label="Stages">
        {STAGE_ORDER.map((s, i) => {
          const state =
            stage === s && !ended ? 'current' : current >= i || snapshot.stages.includes(s) ? 'done' : 'todo';
          return (
            <li
              key={s}
              class={`job-stage-step ${state}`}
              aria-current={state === 'current' ? 'step' : undefined}
            >
              {STAGE_LABELS[s]}
              <span class="visually-hidden">
                {state === 'done' ? ' (done)' : state === 'current' ? ' (now)' : ''}
              </span>
            </li>
          );
        })}
        {(stage === 'failed' || stage === 'cancelled') && (
          <li class="job-stage-step current stopped">{STAGE_LABELS[stage]}</li>
        )}
      </ol>
    </section>
  );
}
