import { memo } from 'preact/compat';
import type { AlertEntry, MeetingStore } from '../meeting-store';
import { useMeetingPart } from '../use-store';
import { scrollToLine } from './Transcript';

/**
 * The list shows the newest alerts only (the store's `recentAlerts`: 50 to 100; the counts cover
 * all), appended at its end, so a long meeting keeps a small DOM and a new alert moves nothing.
 * Counts come from the store (kept as alerts come and go), and each listed alert is a memoised
 * item keyed by its occurrence.
 */
export function AlertsPanel({ store, keywords }: { store: MeetingStore; keywords: readonly string[] }) {
  const alerts = useMeetingPart(store, (s) => s.recentAlerts);
  const total = useMeetingPart(store, (s) => s.alertTotal);
  const counts = useMeetingPart(store, (s) => s.alertCounts);
  // The meeting's keywords first (0 when not heard yet), then any an earlier configuration set.
  const shown: [string, number][] = keywords.map((k) => [k, counts.get(k) ?? 0]);
  const listed = new Set(keywords);
  for (const [keyword, count] of counts) if (!listed.has(keyword)) shown.push([keyword, count]);
  return (
    <section class="panel alerts-panel" aria-labelledby="alerts-heading">
      <h2 id="alerts-heading">
        Alerts <span class="count">({total})</span>
      </h2>
      {shown.length === 0 ? (
        <p>No keywords set.</p>
      ) : (
        <ul class="keyword-counts" aria-label="Keyword counts">
          {shown.map(([keyword, count]) => (
            <li key={keyword}>
              <mark>{keyword}</mark> <span class="count">{count}</span>
            </li>
          ))}
        </ul>
      )}
      {alerts.length > 0 && <ol class="alert-list">{chunks(alerts)}</ol>}
    </section>
  );
}

/** Alerts a list renders as one memoised part: a new alert re-renders one part, not the list. */
const CHUNK = 10;

function chunks(alerts: readonly AlertEntry[]) {
  const parts = [];
  for (let from = 0; from < alerts.length; from += CHUNK) {
    const to = Math.min(alerts.length, from + CHUNK);
    parts.push(<AlertChunk key={alerts[from]?.key} alerts={alerts} from={from} to={to} />);
  }
  return parts;
}

const AlertChunk = memo(
  function AlertChunk({ alerts, from, to }: { alerts: readonly AlertEntry[]; from: number; to: number }) {
    const shown = [];
    for (let i = from; i < to; i++) {
      const alert = alerts[i] as AlertEntry;
      shown.push(<AlertItem key={alert.key} alert={alert} />);
    }
    return <>{shown}</>;
  },
  // The same alerts (objects) at the same places: nothing to render.
  (prev, next) => {
    if (prev.from !== next.from || prev.to !== next.to) return false;
    for (let i = prev.from; i < prev.to; i++) if (prev.alerts[i] !== next.alerts[i]) return false;
    return true;
  },
);

const AlertItem = memo(function AlertItem({ alert }: { alert: AlertEntry }) {
  return (
    <li class={alert.state === 'provisional' ? 'provisional' : undefined}>
      <button type="button" class="link-button" onClick={() => scrollToLine(alert.seq)}>
        {`“${alert.keyword}” in line ${alert.seq}`}
      </button>
      {alert.state === 'provisional' && <span class="badge"> unconfirmed</span>}
      <span class="alert-text">{` ${alert.text}`}</span>
    </li>
  );
});
