import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { useApp } from '../app-context';

export function SharePanel({ meetingId, initial }: { meetingId: string; initial: readonly string[] }) {
  const { api } = useApp();
  const [sharedWith, setSharedWith] = useState<readonly string[]>(initial);
  const [userId, setUserId] = useState('');
  const [error, setError] = useState<string>();

  const act = async (fn: () => Promise<{ sharedWith: string[] }>) => {
    setError(undefined);
    try {
      setSharedWith((await fn()).sharedWith);
      return true;
    } catch (e) {
      setError(e instanceof ApiError || e instanceof Error ? e.message : String(e));
      return false;
    }
  };

  return (
    <section class="panel share" aria-labelledby="share-heading">
      <h2 id="share-heading">Sharing</h2>
      {sharedWith.length === 0 ? (
        <p>Only you can see this meeting.</p>
      ) : (
        <ul class="share-list" aria-label="Shared with">
          {sharedWith.map((user) => (
            <li key={user}>
              {user}{' '}
              <button
                type="button"
                class="link-button"
                aria-label={`Stop sharing with ${user}`}
                onClick={() => void act(() => api.unshare(meetingId, user))}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        class="inline-form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (userId.trim() && (await act(() => api.share(meetingId, userId.trim())))) setUserId('');
        }}
      >
        <label for="share-user">User id</label>
        <input id="share-user" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
        <button type="submit">Share</button>
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <p class="hint">
        Readers see the transcript, alerts and briefing, and can ask questions; only you control the bot.
      </p>
    </section>
  );
}
