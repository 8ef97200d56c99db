import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, type MeetingView } from '../api';
import { useApp } from '../app-context';
import { startedAt } from '../format';
import { MeetingStore } from '../meeting-store';
import { rememberShared } from '../shared-meetings';
import { useMeeting } from '../use-store';
import { AlertsPanel } from './AlertsPanel';
import { AskBox } from './AskBox';
import { BriefingPanel } from './BriefingPanel';
import { ConnectionBadge } from './ConnectionBadge';
import { ExportMenu } from './ExportMenu';
import { LatencyMeter } from './LatencyMeter';
import { NotificationToggle } from './NotificationToggle';
import { OwnerControls } from './OwnerControls';
import { SharePanel } from './SharePanel';
import { StatusBadge } from './StatusBadge';
import { Transcript } from './Transcript';

/** Open stores, for the benchmark's test hook (`window.parleyTestHooks`). */
export const openStores = new Map<string, MeetingStore>();

export function MeetingPage({ meetingId }: { meetingId: string }) {
  const { api, client, userId } = useApp();
  const store = useMemo(() => new MeetingStore(meetingId), [meetingId]);
  const snapshot = useMeeting(store);
  const [meeting, setMeeting] = useState<MeetingView>();
  const [loadError, setLoadError] = useState<string>();

  useEffect(() => {
    openStores.set(meetingId, store);
    const detach = store.attach(client);
    client.subscribe(meetingId, 0);
    let cancelled = false;
    api.getMeeting(meetingId).then(
      (m) => {
        if (cancelled) return;
        setMeeting(m);
        store.setKeywords(m.keywords);
        if (m.role === 'viewer') rememberShared(userId, meetingId);
      },
      (e) => {
        if (cancelled) return;
        setLoadError(
          e instanceof ApiError && e.status === 404
            ? 'No such meeting, or it is not shared with you.'
            : e instanceof Error
              ? e.message
              : String(e),
        );
        client.unsubscribe(meetingId);
      },
    );
    return () => {
      cancelled = true;
      openStores.delete(meetingId);
      detach();
      client.unsubscribe(meetingId);
    };
  }, [api, client, meetingId, store, userId]);

  if (loadError) {
    return (
      <main class="page">
        <h1>Meeting not available</h1>
        <p role="alert" class="error">
          {loadError}
        </p>
      </main>
    );
  }
  const status = snapshot.status ?? meeting?.status;
  const owner = meeting?.role === 'owner';
  return (
    <main class="page meeting-page">
      <div class="meeting-head">
        <h1>{meeting?.title ?? 'Meeting'}</h1>
        <StatusBadge status={status} />
        <ConnectionBadge state={snapshot.connection} />
        {meeting && (
          <p class="meta">
            Started <time dateTime={meeting.createdAt}>{startedAt(meeting.createdAt)}</time>
            {owner ? '' : ' · shared with you (read only)'}
          </p>
        )}
      </div>
      <div class="meeting-grid">
        <Transcript snapshot={snapshot} />
        <aside class="side" aria-label="Meeting tools">
          {owner && meeting && (
            <OwnerControls
              store={store}
              status={status}
              keywords={meeting.keywords}
              language={meeting.language}
              onConfigured={(config) => {
                setMeeting({ ...meeting, ...config });
                store.setKeywords(config.keywords);
              }}
            />
          )}
          <AlertsPanel alerts={snapshot.alerts} keywords={meeting?.keywords ?? []} />
          <NotificationToggle store={store} title={meeting?.title ?? 'Parley'} />
          <BriefingPanel meetingId={meetingId} live={snapshot.briefing} added={snapshot.briefingAdded} />
          <LatencyMeter latency={snapshot.latency} />
          <AskBox
            meetingId={meetingId}
            canSpeak={owner && (status === 'live' || status === 'paused' || status === 'joining')}
          />
          <ExportMenu meetingId={meetingId} />
          {owner && meeting && <SharePanel meetingId={meetingId} initial={meeting.sharedWith ?? []} />}
        </aside>
      </div>
    </main>
  );
}
