import { useState } from 'preact/hooks';
import type { TranscriptFormat } from '../api';
import { useApp } from '../app-context';

const FORMATS: { format: TranscriptFormat; label: string }[] = [
  { format: 'txt', label: 'Text (.txt)' },
  { format: 'srt', label: 'Subtitles (.srt)' },
  { format: 'vtt', label: 'WebVTT (.vtt)' },
  { format: 'json', label: 'JSON (.json)' },
];

export function ExportMenu({ meetingId }: { meetingId: string }) {
  const { api } = useApp();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const download = async (format: TranscriptFormat) => {
    setBusy(true);
    setError(undefined);
    try {
      const { blob, filename } = await api.transcriptFile(meetingId, format);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel export" aria-labelledby="export-heading">
      <h2 id="export-heading">Export transcript</h2>
      <div class="button-row">
        {FORMATS.map(({ format, label }) => (
          <button key={format} type="button" disabled={busy} onClick={() => void download(format)}>
            {label}
          </button>
        ))}
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}
