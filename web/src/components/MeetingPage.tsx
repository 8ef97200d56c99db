import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, type MeetingView } from '../api';
import { useApp } from '../app-context';
import { startedAt } from '../format';
import { lazyComponent } from '../lazy';
import { MeetingStore } from '../meeting-store';
import { useMeetingPart } from '../use-store';
import { AlertsPanel } from './AlertsPanel';
import { AskBox } from './AskBox';
import { BriefingPanel } from './BriefingPanel';
import { ConnectionBadge } from './ConnectionBadge';
import { DeleteMeeting } from './DeleteMeeting';
import { ExportMenu } from './ExportMenu';
import { LatencyMeter } from './LatencyMeter';
import { NotificationToggle } from './NotificationToggle';
import { OwnerControls } from './OwnerControls';
import { Player, type PlayerHandle } from './Player';
import { SharePanel } from './SharePanel';
import { StatusBadge } from './StatusBadge';
import { MeetingTranscript } from './Transcript';

/** The microphone of a microphone meeting: loaded only when such a meeting is opened by its owner. */
const MicPanel = lazyComponent(() => import('../mic/MicPanel').then((m) => m.MicPanel));

/** Open stores, for the benchmark's test hook (`window.parleyTestHooks`). */
export const openStores = new Map<string, MeetingStore>();

const NO_KEYWORDS: readonly string[] = [];

/** The latency panel changes with every line: it alone re-renders for it. */
function MeetingLatency({ store }: { store: MeetingStore }) {
  return <LatencyMeter latency={useMeetingPart(store, (s) => s.latency)} />;
}

export function MeetingPage({ meetingId }: { meetingId: string }) {
  const { api, client } = useApp();
  const store = useMemo(() => new MeetingStore(meetingId), [meetingId]);
  // Only what this page shows itself: a new line re-renders the transcript and alerts, not the page.
  const liveStatus = useMeetingPart(store, (s) => s.status);
  const connection = useMeetingPart(store, (s) => s.connection);
  const briefing = useMeetingPart(store, (s) => s.briefing);
  const briefingAdded = useMeetingPart(store, (s) => s.briefingAdded);
  const getBlocks = useCallback(() => store.snapshot().blocks, [store]);
  const [meeting, setMeeting] = useState<MeetingView>();
  const [loadError, setLoadError] = useState<string>();
  const player = useRef<PlayerHandle | undefined>(undefined);
  const mic = useRef<{ beforeStop(): Promise<void> } | undefined>(undefined);
  const [canSeek, setCanSeek] = useState(false);
  const onSeek = useCallback((ms: number) => void player.current?.seek(ms), []);

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
  }, [api, client, meetingId, store]);

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
  const status = liveStatus ?? meeting?.status;
  const owner = meeting?.role === 'owner';
  const microphone = owner && meeting?.source === 'microphone';
  return (
    <main class="page meeting-page">
      <div class="meeting-head">
        <h1>{meeting?.title ?? 'Meeting'}</h1>
        <StatusBadge status={status} />
        <ConnectionBadge state={connection} />
        {meeting && (
          <p class="meta">
            Started <time dateTime={meeting.createdAt}>{startedAt(meeting.createdAt)}</time>
            {owner ? '' : ' · shared with you (read only)'}
          </p>
        )}
      </div>
      <div class="meeting-grid">
        <div class="transcript-column">
          <Player
            meetingId={meetingId}
            status={status}
            getBlocks={getBlocks}
            handle={player}
            onAvailable={setCanSeek}
          />
          <MeetingTranscript store={store} onSeek={canSeek ? onSeek : undefined} />
        </div>
        <aside class="side" aria-label="Meeting tools">
          {microphone && (
            <MicPanel meetingId={meetingId} streamUrl={meeting?.streamUrl} status={status} handle={mic} />
          )}
          {owner && meeting && (
            <OwnerControls
              store={store}
              status={status}
              keywords={meeting.keywords}
              language={meeting.language}
              source={meeting.source}
              beforeStop={() => mic.current?.beforeStop() ?? Promise.resolve()}
              onConfigured={(config) => {
                setMeeting({ ...meeting, ...config });
                store.setKeywords(config.keywords);
              }}
            />
          )}
          <AlertsPanel store={store} keywords={meeting?.keywords ?? NO_KEYWORDS} />
          <NotificationToggle store={store} title={meeting?.title ?? 'Parley'} />
          <BriefingPanel meetingId={meetingId} live={briefing} added={briefingAdded} />
          <MeetingLatency store={store} />
          <AskBox
            meetingId={meetingId}
            canSpeak={owner && (status === 'live' || status === 'paused' || status === 'joining')}
          />
          <ExportMenu meetingId={meetingId} />
          {owner && meeting && <SharePanel meetingId={meetingId} initial={meeting.sharedWith ?? []} />}
          {owner && <DeleteMeeting meetingId={meetingId} status={status} />}
        </aside>
      </div>
    </main>
  );
}
