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
      {alerts.length > 0 && (
        <ol class="alert-list">
          {alerts.map((alert) => (
            <AlertItem key={alert.key} alert={alert} />
          ))}
        </ol>
      )}
    </section>
  );
}

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
