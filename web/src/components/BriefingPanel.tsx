import { useState } from 'preact/hooks';
import type { Brief } from '../api';
import { useApp } from '../app-context';

export function BriefingPanel({ meetingId }: { meetingId: string }) {
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
      {brief && (
        <div class="brief">
          <h3>Summary</h3>
          <p data-testid="brief-summary">{brief.summary || 'Nothing to summarise yet.'}</p>
          <BriefList title="Key points" items={brief.keyPoints} />
          <BriefList title="Decisions" items={brief.decisions} />
          <BriefList
            title="Action items"
            items={brief.actionItems.map((a) => (a.owner ? `${a.text} — ${a.owner}` : a.text))}
          />
          <BriefList title="Open questions" items={brief.openQuestions} />
          <p class="meta">
            Covers lines up to {brief.coversSeq} · {brief.engine}
          </p>
        </div>
      )}
    </section>
  );
}

function BriefList({ title, items }: { title: string; items: readonly string[] }) {
  if (items.length === 0) return null;
  return (
    <>
      <h3>{title}</h3>
      <ul>
        {items.map((item, i) => (
          <li key={i}>{item}</li>
        ))}
      </ul>
    </>
  );
}
