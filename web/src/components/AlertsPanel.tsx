import type { AlertEntry } from '../meeting-store';
import { scrollToLine } from './Transcript';

/** The list shows the newest alerts only (the counts cover all): a long meeting keeps a cheap DOM. */
const MAX_LISTED = 200;

export function AlertsPanel({
  alerts,
  keywords,
}: {
  alerts: readonly AlertEntry[];
  keywords: readonly string[];
}) {
  const counts = new Map<string, number>();
  for (const keyword of keywords) counts.set(keyword, 0);
  for (const alert of alerts) counts.set(alert.keyword, (counts.get(alert.keyword) ?? 0) + 1);
  return (
    <section class="panel alerts-panel" aria-labelledby="alerts-heading">
      <h2 id="alerts-heading">
        Alerts <span class="count">({alerts.length})</span>
      </h2>
      {counts.size === 0 ? (
        <p>No keywords set.</p>
      ) : (
        <ul class="keyword-counts" aria-label="Keyword counts">
          {[...counts].map(([keyword, count]) => (
            <li key={keyword}>
              <mark>{keyword}</mark> <span class="count">{count}</span>
            </li>
          ))}
        </ul>
      )}
      {alerts.length > 0 && (
        <ol class="alert-list">
          {alerts.slice(-MAX_LISTED).map((alert) => (
            <li key={alert.key} class={alert.state === 'provisional' ? 'provisional' : undefined}>
              <button type="button" class="link-button" onClick={() => scrollToLine(alert.seq)}>
                “{alert.keyword}” in line {alert.seq}
              </button>
              {alert.state === 'provisional' && <span class="badge"> unconfirmed</span>}
              <span class="alert-text"> {alert.text}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
