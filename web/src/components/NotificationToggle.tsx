import { useEffect, useState } from 'preact/hooks';
import type { MeetingStore } from '../meeting-store';

/** Opt-in: a browser notification for each live keyword alert while the tab is hidden. */
export function NotificationToggle({ store, title }: { store: MeetingStore; title: string }) {
  const supported = typeof Notification !== 'undefined';
  const [enabled, setEnabled] = useState(false);
  const [denied, setDenied] = useState(supported && Notification.permission === 'denied');

  useEffect(() => {
    if (!enabled) return;
    return store.onAlert((alert) => {
      if (!document.hidden || Notification.permission !== 'granted') return;
      new Notification(`“${alert.keyword}” — ${title}`, {
        body: alert.text,
        tag: `${alert.seq}:${alert.keyword}`,
      });
    });
  }, [enabled, store, title]);

  if (!supported) return null;
  return (
    <label class="checkbox notify">
      <input
        type="checkbox"
        checked={enabled}
        disabled={denied}
        onChange={async (e) => {
          const want = e.currentTarget.checked;
          if (want && Notification.permission !== 'granted') {
            const permission = await Notification.requestPermission();
            setDenied(permission === 'denied');
            setEnabled(permission === 'granted');
            return;
          }
          setEnabled(want);
        }}
      />{' '}
      Notify me of alerts while this tab is hidden{denied ? ' (blocked by the browser)' : ''}
    </label>
  );
}
