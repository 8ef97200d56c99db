import { useEffect, useState } from 'preact/hooks';
import type { MeetingSnapshot, MeetingStore } from './meeting-store';

/** The store's current snapshot; re-renders when it changes (at most once a frame). */
export function useMeeting(store: MeetingStore): MeetingSnapshot {
  const [snapshot, setSnapshot] = useState(() => store.snapshot());
  useEffect(() => {
    setSnapshot(store.snapshot());
    return store.subscribe(() => setSnapshot(store.snapshot()));
  }, [store]);
  return snapshot;
}
