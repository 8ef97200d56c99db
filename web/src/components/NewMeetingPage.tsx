import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { useApp } from '../app-context';
import { navigate } from '../router';

type Field = 'meetingUrl' | 'title' | 'keywords' | 'language';
const FIELDS: readonly Field[] = ['meetingUrl', 'title', 'keywords', 'language'];

/** `keywords.3` → `keywords`: the API names nested fields with a dotted path. */
function fieldOf(path: string | undefined): Field | undefined {
  const top = path?.split('.')[0];
  return FIELDS.find((f) => f === top);
}

export function NewMeetingPage() {
  const { api, config } = useApp();
  const [meetingUrl, setMeetingUrl] = useState('');
  const [title, setTitle] = useState('');
  const [keywords, setKeywords] = useState('');
  const [language, setLanguage] = useState('en');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const local = config.recordings !== undefined || config.stage === 'local';

  const submit = async (event: Event) => {
    event.preventDefault();
    setErrors({});
    setFormError(undefined);
    setBusy(true);
    try {
      const words = keywords
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      const meeting = await api.createMeeting({
        meetingUrl: meetingUrl.trim(),
        ...(title.trim() ? { title: title.trim() } : {}),
        ...(words.length ? { keywords: words } : {}),
        ...(language.trim() ? { language: language.trim() } : {}),
      });
      navigate(`/meetings/${meeting.meetingId}`);
    } catch (e) {
      const field = e instanceof ApiError ? fieldOf(e.field) : undefined;
      const message = e instanceof Error ? e.message : String(e);
      if (field) setErrors({ [field]: message });
      else setFormError(e instanceof ApiError && e.code ? `${message} (${e.code})` : message);
    } finally {
      setBusy(false);
    }
  };

  const described = (field: Field) =>
    errors[field] ? { 'aria-invalid': true, 'aria-describedby': `${field}-error` } : {};
  const fieldError = (field: Field) =>
    errors[field] ? (
      <p id={`${field}-error`} class="field-error">
        {errors[field]}
      </p>
    ) : null;

  return (
    <main class="page">
      <h1>New meeting</h1>
      <form class="stacked-form" onSubmit={submit} noValidate>
        {formError && (
          <p role="alert" class="error">
            {formError}
          </p>
        )}
        {local && (
          <div class="field">
            <label for="recording">Recording to play (local mode)</label>
            <select
              id="recording"
              onChange={(e) => {
                const value = e.currentTarget.value;
                if (value) setMeetingUrl(value);
              }}
            >
              <option value="">Choose…</option>
              <option value="local://sample">Sample meeting</option>
              {(config.recordings ?? []).map((name) => (
                <option key={name} value={`local://recordings/${encodeURIComponent(name)}`}>
                  {name}
                </option>
              ))}
            </select>
          </div>
        )}
        <div class="field">
          <label for="meetingUrl">Meeting link</label>
          <input
            id="meetingUrl"
            name="meetingUrl"
            inputMode="url"
            autoComplete="off"
            required
            value={meetingUrl}
            onInput={(e) => setMeetingUrl(e.currentTarget.value)}
            placeholder={local ? 'https://zoom.us/j/… or local://sample' : 'https://zoom.us/j/…'}
            {...described('meetingUrl')}
          />
          {fieldError('meetingUrl')}
        </div>
        <div class="field">
          <label for="title">Title</label>
          <input
            id="title"
            name="title"
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
            placeholder="Untitled meeting"
            {...described('title')}
          />
          {fieldError('title')}
        </div>
        <div class="field">
          <label for="keywords">Keywords</label>
          <input
            id="keywords"
            name="keywords"
            value={keywords}
            onInput={(e) => setKeywords(e.currentTarget.value)}
            placeholder="budget, launch date"
            aria-describedby={errors.keywords ? 'keywords-error' : 'keywords-hint'}
            {...(errors.keywords ? { 'aria-invalid': true } : {})}
          />
          <p id="keywords-hint" class="hint">
            Comma-separated words or phrases; lines containing one raise an alert.
          </p>
          {fieldError('keywords')}
        </div>
        <div class="field">
          <label for="language">Language</label>
          <input
            id="language"
            name="language"
            value={language}
            onInput={(e) => setLanguage(e.currentTarget.value)}
            placeholder="en"
            {...described('language')}
          />
          {fieldError('language')}
        </div>
        <button type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Start meeting'}
        </button>
      </form>
    </main>
  );
}
