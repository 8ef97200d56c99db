import { useEffect, useState } from 'preact/hooks';
import type { ConnectionState } from '../meeting-store';

export function ConnectionBadge({ state }: { state: ConnectionState }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (state.kind !== 'reconnecting') return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [state]);
  let label: string;
  switch (state.kind) {
    case 'connected':
      label = 'Connected';
      break;
    case 'connecting':
      label = 'Connecting…';
      break;
    case 'offline':
      label = 'Offline';
      break;
    case 'reconnecting': {
      const seconds = Math.max(0, Math.ceil((state.at - now) / 1000));
      label = seconds > 0 ? `Reconnecting in ${seconds} s` : 'Reconnecting…';
      break;
    }
  }
  return (
    <p class={`connection connection-${state.kind}`} role="status" data-testid="connection">
      {label}
    </p>
  );
}
