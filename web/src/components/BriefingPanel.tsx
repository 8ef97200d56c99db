import { useState } from 'preact/hooks';
import type { BriefingDelta, RollingBriefing } from '../../../core/briefing/rolling-model';
import type { Brief } from '../api';
import { useApp } from '../app-context';

/**
 * The meeting's briefing: the rolling one pushed live while the meeting runs (what its last
 * update added is marked "new"), and a full briefing on request.
 */
export function BriefingPanel({
  meetingId,
  live,
  added,
}: {
  meetingId: string;
  live?: RollingBriefing | undefined;
  added?: BriefingDelta | undefined;
}) {
  const { api } = useApp();
  const [brief, setBrief] = useState<Brief>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const load = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setBrief(await api.brief(meetingId));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  // A full briefing on request wins until the live one covers more of the meeting.
  const showLive = live !== undefined && (brief === undefined || live.coversSeq > brief.coversSeq);
  const shown = showLive ? live : brief;
  const fresh = showLive ? added : undefined;
  return (
    <section class="panel briefing" aria-labelledby="briefing-heading" aria-busy={busy}>
      <h2 id="briefing-heading">Briefing</h2>
      <button type="button" onClick={() => void load()} disabled={busy}>
        {brief ? 'Regenerate briefing' : 'Get briefing'}
      </button>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {shown && (
        <div class="brief" data-testid={showLive ? 'live-briefing' : 'briefing'}>
          <h3>Summary</h3>
          <p data-testid="brief-summary">{shown.summary || 'Nothing to summarise yet.'}</p>
          <BriefList title="Key points" items={shown.keyPoints} fresh={fresh?.keyPoints} />
          <BriefList title="Decisions" items={shown.decisions} fresh={fresh?.decisions} />
          <BriefList
            title="Action items"
            items={shown.actionItems.map(actionText)}
            fresh={fresh?.actionItems.map(actionText)}
          />
          <BriefList title="Open questions" items={shown.openQuestions} fresh={fresh?.openQuestions} />
          <BriefList title="Blockers" items={shown.blockers ?? []} fresh={fresh?.blockers} />
          <BriefList title="Topics" items={shown.topics ?? []} fresh={fresh?.topics} />
          <p class="meta">
            {showLive ? `Live, update ${live.updates} · ` : ''}Covers lines up to {shown.coversSeq} ·{' '}
            {shown.engine}
          </p>
        </div>
      )}
    </section>
  );
}

function actionText(a: { text: string; owner?: string; due?: string }): string {
  return `${a.text}${a.owner ? ` — ${a.owner}` : ''}${a.due ? ` (due ${a.due})` : ''}`;
}

function BriefList({
  title,
  items,
  fresh = [],
}: {
  title: string;
  items: readonly string[];
  fresh?: readonly string[] | undefined;
}) {
  if (items.length === 0) return null;
  const isNew = new Set(fresh);
  return (
    <>
      <h3>{title}</h3>
      <ul>
        {items.map((item, i) => (
          <li key={i}>
            {item}
            {isNew.has(item) && <span class="badge new"> new</span>}
          </li>
        ))}
      </ul>
    </>
  );
}
