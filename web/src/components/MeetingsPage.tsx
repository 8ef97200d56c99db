import { useEffect, useState } from 'preact/hooks';
import { ApiError, type MeetingView } from '../api';
import { useApp } from '../app-context';
import { duration, startedAt } from '../format';
import { navigate, onLinkClick } from '../router';
import { forgetShared, rememberedShared } from '../shared-meetings';
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

/** The REST API lists only your own meetings; ones shared with you are remembered once opened. */
function SharedMeetings() {
  const { api, userId } = useApp();
  const [meetings, setMeetings] = useState<MeetingView[]>([]);
  const [openId, setOpenId] = useState('');

  useEffect(() => {
    let cancelled = false;
    void Promise.all(
      rememberedShared(userId).map((id) =>
        api.getMeeting(id).catch((e) => {
          if (e instanceof ApiError && e.status === 404) forgetShared(userId, id);
          return undefined;
        }),
      ),
    ).then((found) => {
      if (!cancelled)
        setMeetings(found.filter((m): m is MeetingView => m !== undefined && m.role === 'viewer'));
    });
    return () => {
      cancelled = true;
    };
  }, [api, userId]);

  const open = (event: Event) => {
    event.preventDefault();
    const id = /([A-Za-z0-9_-]{1,64})\/?$/.exec(openId.trim())?.[1];
    if (id) navigate(`/meetings/${id}`);
  };

  return (
    <section aria-labelledby="shared-heading">
      <h2 id="shared-heading">Shared with you</h2>
      {meetings.length > 0 ? (
        <MeetingTable meetings={meetings} />
      ) : (
        <p>Meetings shared with you appear here once you open their link.</p>
      )}
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
