import { useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { useApp } from '../app-context';
import { ACCEPT, contentTypeOf, createJob, describeError } from '../jobs-api';
import { uploads } from '../jobs-uploads';
import { navigate, onLinkClick } from '../router';
import { formatBytes } from './JobProgress';

/** Pick or drop a recording, then it uploads and the job page follows it to its transcript. */
export function UploadPage() {
  const { api, config } = useApp();
  const [file, setFile] = useState<File>();
  const [title, setTitle] = useState('');
  const [language, setLanguage] = useState('en');
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; field?: string }>();
  const input = useRef<HTMLInputElement>(null);

  const choose = (files: FileList | null | undefined) => {
    const picked = files?.[0];
    if (!picked) return;
    setError(undefined);
    if (!contentTypeOf(picked))
      setError({
        message: `“${picked.name}” is not a type Parley reads (audio or video files)`,
        field: 'file',
      });
    setFile(picked);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) {
      setError({ message: 'Choose a file first', field: 'file' });
      return;
    }
    const contentType = contentTypeOf(file);
    if (!contentType) return;
    setBusy(true);
    setError(undefined);
    try {
      const { job, upload } = await createJob(api, {
        fileName: file.name,
        contentType,
        sizeBytes: file.size,
        ...(language.trim() ? { language: language.trim() } : {}),
        ...(title.trim() ? { title: title.trim() } : {}),
      });
      // The upload runs on in this tab; the job page shows it and then the transcription.
      void uploads.start(api, job.jobId, file, upload);
      navigate(`/jobs/${job.jobId}`);
    } catch (e) {
      setError({
        message: describeError(e),
        ...(e instanceof ApiError && e.field ? { field: e.field } : {}),
      });
      setBusy(false);
    }
  };

  const fieldError = (field: string) =>
    error?.field === field ||
    (field === 'file' && ['contentType', 'sizeBytes', 'fileName'].includes(error?.field ?? ''))
      ? error?.message
      : undefined;
  const fileError = fieldError('file');

  return (
    <main class="page upload-page">
      <h1>Transcribe a recording</h1>
      <p>
        An interview, a lecture, last week’s all-hands: upload an audio or video file and watch it being
        transcribed.{' '}
        <a href="/jobs" onClick={onLinkClick}>
          Your transcriptions
        </a>
      </p>
      <form class="upload-form" onSubmit={(e) => void submit(e)} noValidate>
        <label
          class={`drop-zone${dragging ? ' dragging' : ''}${file ? ' has-file' : ''}`}
          for="upload-file"
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            choose(e.dataTransfer?.files);
          }}
          data-testid="drop-zone"
        >
          <span class="drop-title">{file ? file.name : 'Drop a file here, or choose one'}</span>
          <span class="meta">
            {file
              ? `${formatBytes(file.size)} · ${contentTypeOf(file) ?? 'unknown type'}`
              : 'mp3, m4a, wav, flac, ogg, opus, webm, mp4, mov · up to 4 GiB and 4 hours'}
          </span>
          <input
            ref={input}
            id="upload-file"
            type="file"
            accept={ACCEPT}
            aria-label="Audio or video file"
            aria-invalid={fileError ? true : undefined}
            aria-describedby={fileError ? 'upload-file-error' : undefined}
            onChange={(e) => choose(e.currentTarget.files)}
          />
        </label>
        {fileError && (
          <p id="upload-file-error" role="alert" class="error">
            {fileError}
          </p>
        )}
        <label for="upload-title">Title (optional)</label>
        <input
          id="upload-title"
          value={title}
          maxLength={200}
          onInput={(e) => setTitle(e.currentTarget.value)}
          placeholder={file?.name ?? 'All-hands, 1 December'}
        />
        <label for="upload-language">Language</label>
        <input
          id="upload-language"
          value={language}
          onInput={(e) => setLanguage(e.currentTarget.value)}
          aria-invalid={error?.field === 'language' ? true : undefined}
        />
        {error?.field === 'language' && (
          <p role="alert" class="error">
            {error.message}
          </p>
        )}
        {error && !fileError && error.field !== 'language' && (
          <p role="alert" class="error">
            {error.message}
          </p>
        )}
        <div class="button-row">
          <button type="submit" class="primary" disabled={busy || !file || !contentTypeOf(file)}>
            {busy ? 'Starting…' : 'Upload and transcribe'}
          </button>
        </div>
      </form>
      <p class="meta">
        Files go straight to the {config.stage} stage’s storage; the transcript is yours alone.
      </p>
    </main>
  );
}
