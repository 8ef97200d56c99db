import { useEffect, useRef, useState } from 'preact/hooks';
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

/**
 * One part of the store's snapshot; re-renders only when that part changes (by identity), so
 * a component that shows the status does not re-render for every new line.
 */
export function useMeetingPart<T>(store: MeetingStore, select: (snapshot: MeetingSnapshot) => T): T {
  const [value, setValue] = useState(() => select(store.snapshot()));
  const selectRef = useRef(select);
  selectRef.current = select;
  useEffect(() => {
    const update = () => setValue(() => selectRef.current(store.snapshot()));
    update();
    return store.subscribe(update);
  }, [store]);
  return value;
}
