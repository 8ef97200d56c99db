import { useState } from 'preact/hooks';
import type { AskResponse } from '../api';
import { ApiError } from '../api';
import { useApp } from '../app-context';
import { scrollToLine } from './Transcript';

export function AskBox({ meetingId, canSpeak }: { meetingId: string; canSpeak: boolean }) {
  const { api } = useApp();
  const [question, setQuestion] = useState('');
  const [speak, setSpeak] = useState(false);
  const [speechUnavailable, setSpeechUnavailable] = useState(false);
  const [answer, setAnswer] = useState<AskResponse>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!question.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      setAnswer(await api.ask(meetingId, question.trim(), speak && canSpeak && !speechUnavailable));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'SPEECH_UNAVAILABLE') {
        setSpeechUnavailable(true);
        setSpeak(false);
      }
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel ask" aria-labelledby="ask-heading" aria-busy={busy}>
      <h2 id="ask-heading">Ask about this meeting</h2>
      <form class="stacked-form compact" onSubmit={submit}>
        <div class="field">
          <label for="question">Question</label>
          <input
            id="question"
            value={question}
            maxLength={1000}
            onInput={(e) => setQuestion(e.currentTarget.value)}
            placeholder="What was decided?"
          />
        </div>
        {canSpeak && !speechUnavailable && (
          <label class="checkbox">
            <input type="checkbox" checked={speak} onChange={(e) => setSpeak(e.currentTarget.checked)} /> Have
            the bot say it in the call
          </label>
        )}
        <button type="submit" disabled={busy || !question.trim()}>
          {busy ? 'Asking…' : 'Ask'}
        </button>
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {answer && (
        <div class="answer" data-testid="answer">
          <p>{answer.answer}</p>
          {answer.citations.length > 0 && (
            <p class="citations">
              Sources:{' '}
              {answer.citations.map((seq) => (
                <button
                  key={seq}
                  type="button"
                  class="link-button citation"
                  onClick={() => scrollToLine(seq)}
                >
                  line {seq}
                </button>
              ))}
            </p>
          )}
          <p class="meta">
            {answer.engine}
            {answer.spoken ? ' · spoken in the call' : ''}
          </p>
        </div>
      )}
    </section>
  );
}
