import { useRef, useState } from 'preact/hooks';
import type { MeetingSource, MeetingStatus } from '../../../core/meetings/model';
import { useApp } from '../app-context';
import type { MeetingStore } from '../meeting-store';

const ACTIVE: ReadonlySet<MeetingStatus> = new Set(['joining', 'live', 'paused']);

export function OwnerControls(props: {
  store: MeetingStore;
  status: MeetingStatus | undefined;
  keywords: readonly string[];
  language: string;
  onConfigured: (config: { keywords: string[]; language: string }) => void;
  /** Runs before `stop` is sent (a microphone meeting stores its last audio first). */
  beforeStop?: () => Promise<void>;
  /** Where the meeting's audio comes from: the Stop dialog says what stopping does to it. */
  source?: MeetingSource;
}) {
  const { client } = useApp();
  const { store, status } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const dialog = useRef<HTMLDialogElement>(null);

  const run = async (command: 'pause' | 'resume' | 'stop') => {
    setBusy(true);
    setError(undefined);
    try {
      if (command === 'stop') await props.beforeStop?.();
      const ack = await client.command(store.meetingId, command);
      store.setStatus(ack.status);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (!status || !ACTIVE.has(status)) return null;
  return (
    <section class="panel controls" aria-labelledby="controls-heading">
      <h2 id="controls-heading">Controls</h2>
      <div class="button-row">
        {status === 'paused' ? (
          <button type="button" disabled={busy} onClick={() => void run('resume')}>
            Resume
          </button>
        ) : (
          <button type="button" disabled={busy || status !== 'live'} onClick={() => void run('pause')}>
            Pause
          </button>
        )}
        <button type="button" class="danger" disabled={busy} onClick={() => dialog.current?.showModal()}>
          Stop
        </button>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <dialog ref={dialog} aria-labelledby="stop-title">
        <form
          method="dialog"
          onSubmit={(e) => {
            const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
            if (submitter?.value === 'stop') void run('stop');
          }}
        >
          <h3 id="stop-title">Stop this meeting?</h3>
          <p>
            {props.source === 'microphone'
              ? 'Recording stops (the audio this browser still holds is stored first) and the microphone is released.'
              : 'The bot leaves the call.'}{' '}
            Transcription cannot be resumed.
          </p>
          <div class="button-row">
            <button type="submit" value="cancel">
              Keep going
            </button>
            <button type="submit" value="stop" class="danger">
              Stop meeting
            </button>
          </div>
        </form>
      </dialog>
      <ConfigureForm {...props} />
    </section>
  );
}

function ConfigureForm(props: {
  store: MeetingStore;
  keywords: readonly string[];
  language: string;
  onConfigured: (config: { keywords: string[]; language: string }) => void;
  /** Runs before `stop` is sent (a microphone meeting stores its last audio first). */
  beforeStop?: () => Promise<void>;
}) {
  const { client } = useApp();
  const [keywords, setKeywords] = useState(props.keywords.join(', '));
  const [language, setLanguage] = useState(props.language);
  const [message, setMessage] = useState<{ error: boolean; text: string }>();

  const submit = async (event: Event) => {
    event.preventDefault();
    const words = keywords
      .split(',')
      .map((k) => k.trim().toLowerCase())
      .filter(Boolean);
    try {
      await client.command(props.store.meetingId, 'configure', {
        keywords: words,
        language: language.trim(),
      });
      props.onConfigured({ keywords: [...new Set(words)], language: language.trim() });
      setMessage({ error: false, text: 'Saved.' });
    } catch (e) {
      setMessage({ error: true, text: e instanceof Error ? e.message : String(e) });
    }
  };

  return (
    <form class="stacked-form compact" onSubmit={submit} aria-label="Keywords and language">
      <div class="field">
        <label for="configure-keywords">Keywords</label>
        <input
          id="configure-keywords"
          value={keywords}
          onInput={(e) => setKeywords(e.currentTarget.value)}
          placeholder="budget, launch date"
        />
      </div>
      <div class="field">
        <label for="configure-language">Language</label>
        <input id="configure-language" value={language} onInput={(e) => setLanguage(e.currentTarget.value)} />
      </div>
      <button type="submit">Save keywords and language</button>
      {message && (
        <p role={message.error ? 'alert' : 'status'} class={message.error ? 'error' : 'ok'}>
          {message.text}
        </p>
      )}
    </form>
  );
}
