/**
 * `/record`: a meeting from the microphone (no bot). Asks for the microphone first (so a refusal
 * creates no meeting), then `POST /meetings {source: "microphone"}`, then opens the meeting page,
 * whose microphone panel (MicPanel) streams to the audio gateway. Loaded on demand.
 */
import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { useApp } from '../app-context';
import { navigate } from '../router';
import { requestMicrophone } from './capture';
import { handOver, rememberStreamUrl } from './pending';

export function RecordPage() {
  const { api } = useApp();
  const [title, setTitle] = useState('');
  const [keywords, setKeywords] = useState('');
  const [language, setLanguage] = useState('en');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    let stream: MediaStream | undefined;
    try {
      try {
        stream = await requestMicrophone();
      } catch (e) {
        throw new Error(
          e instanceof DOMException && e.name === 'NotAllowedError'
            ? 'Microphone access was refused. Allow it in the browser (address bar) and try again.'
            : e instanceof DOMException && e.name === 'NotFoundError'
              ? 'No microphone was found.'
              : e instanceof Error
                ? e.message
                : String(e),
        );
      }
      const words = keywords
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      const meeting = await api.createMeeting({
        source: 'microphone',
        ...(title.trim() ? { title: title.trim() } : {}),
        ...(words.length ? { keywords: words } : {}),
        ...(language.trim() ? { language: language.trim() } : {}),
      });
      if (!meeting.streamUrl) throw new Error('The API did not say where to stream this meeting');
      rememberStreamUrl(meeting.meetingId, meeting.streamUrl);
      handOver(meeting.meetingId, stream);
      stream = undefined;
      navigate(`/meetings/${meeting.meetingId}`);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      setError(e instanceof ApiError && e.code ? `${message} (${e.code})` : message);
    } finally {
      for (const track of stream?.getTracks() ?? []) track.stop();
      setBusy(false);
    }
  };

  return (
    <main class="page">
      <h1>Record</h1>
      <p>
        Transcribe what this device's microphone hears: an in-person meeting, a call on speaker, a dictation.
        Audio is kept in this browser until the server has stored it, so a dropped connection or a reloaded
        page loses nothing.
      </p>
      <form class="stacked-form" onSubmit={submit} noValidate>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <div class="field">
          <label for="rec-title">Title</label>
          <input
            id="rec-title"
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
            placeholder="Untitled meeting"
          />
        </div>
        <div class="field">
          <label for="rec-keywords">Keywords</label>
          <input
            id="rec-keywords"
            value={keywords}
            onInput={(e) => setKeywords(e.currentTarget.value)}
            placeholder="budget, deadline"
            aria-describedby="rec-keywords-hint"
          />
          <p id="rec-keywords-hint" class="hint">
            Comma-separated words that raise an alert when said.
          </p>
        </div>
        <div class="field">
          <label for="rec-language">Language</label>
          <input id="rec-language" value={language} onInput={(e) => setLanguage(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Start recording'}
        </button>
      </form>
    </main>
  );
}
