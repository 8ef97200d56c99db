import { useEffect, useState } from 'preact/hooks';
import type { MeetingView } from '../api';
import { useApp } from '../app-context';
import { duration, startedAt } from '../format';
import { navigate, onLinkClick } from '../router';
import { StatusBadge } from './StatusBadge';

export function MeetingsPage() {
  return (
    <main class="page meetings-page">
      <h1>Meetings</h1>
      <p>
        <a class="button" href="/new" onClick={onLinkClick}>
          New meeting
        </a>
      </p>
      <OwnMeetings />
      <SharedMeetings />
    </main>
  );
}

function OwnMeetings() {
  const { api } = useApp();
  const [meetings, setMeetings] = useState<MeetingView[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();

  const load = async (from?: string | null) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await api.listMeetings(from);
      setMeetings((prev) => (from ? [...prev, ...page.meetings] : page.meetings));
      setCursor(page.nextCursor);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  return (
    <section aria-labelledby="own-heading">
      <h2 id="own-heading">Your meetings</h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!loading && meetings.length === 0 && !error && <p>No meetings yet. Start one with “New meeting”.</p>}
      <MeetingTable meetings={meetings} />
      {cursor && (
        <button type="button" onClick={() => void load(cursor)} disabled={loading}>
          Load more
        </button>
      )}
      {loading && <p aria-live="polite">Loading…</p>}
    </section>
  );
}

/** Meetings shared with you are in the list above (the REST API lists them); this opens one by link. */
function SharedMeetings() {
  const [openId, setOpenId] = useState('');

  const open = (event: Event) => {
    event.preventDefault();
    const id = /([A-Za-z0-9_-]{1,64})\/?$/.exec(openId.trim())?.[1];
    if (id) navigate(`/meetings/${id}`);
  };

  return (
    <section aria-labelledby="shared-heading">
      <h2 id="shared-heading">Shared with you</h2>
      <p>Meetings shared with you are listed above, marked “shared with you”. Open one by its link:</p>
      <form class="inline-form" onSubmit={open}>
        <label for="open-meeting">Meeting link or id</label>
        <input
          id="open-meeting"
          value={openId}
          onInput={(e) => setOpenId(e.currentTarget.value)}
          placeholder="https://…/meetings/… or id"
        />
        <button type="submit">Open</button>
      </form>
    </section>
  );
}

function MeetingTable({ meetings }: { meetings: MeetingView[] }) {
  if (meetings.length === 0) return null;
  return (
    <ul class="meeting-list">
      {meetings.map((m) => (
        <li key={m.meetingId} class="meeting-item">
          <a href={`/meetings/${m.meetingId}`} onClick={onLinkClick}>
            {m.title}
          </a>
          <StatusBadge status={m.status} />
          <span class="meta">
            <time dateTime={m.createdAt}>{startedAt(m.createdAt)}</time>
            {' · '}
            {duration(m.createdAt, m.endedAt)}
            {m.role === 'viewer' ? ' · shared with you' : ''}
          </span>
        </li>
      ))}
    </ul>
  );
}
