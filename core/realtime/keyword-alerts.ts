/**
 * Early keyword alerts: the first interim that contains an occurrence of a keyword raises a
 * `provisional` alert; the utterance's final `confirmed`s or `withdrawn`s it. One alert per
 * occurrence (the k-th "deal" of line 12 is one alert, whatever its interims do), never twice:
 * the raise is a conditional put (AlertRepository), and a per-container cache spares the write
 * for occurrences this container already raised.
 *
 * Every interim must pass through `interim()`, before any coalescing of interims for viewers:
 * the alert is raised by the interim that first shows the keyword, and its message is posted
 * even when that interim's transcript message is not.
 */
import type { Segment } from '../pipeline/events';
import { type AlertRepository, alertKey } from './alert-repository';
import { type Occurrence, occurrences } from './keywords';

export { type Occurrence, occurrences } from './keywords';

import type { AlertState, ServerMessage } from './protocol';

export type KeywordAlertMessage = Extract<ServerMessage, { type: 'keyword_alert' }>;

/** Occurrence keys this container raised, bounded (older halves are forgotten first). */
const CACHE_LIMIT = 20_000;

export class KeywordAlerts {
  private raised = new Set<string>();
  private older = new Set<string>();

  constructor(private readonly repo: Pick<AlertRepository, 'raise' | 'forSeq'>) {}

  /** The provisional alerts an interim raises (occurrences no earlier interim showed). */
  async interim(
    meetingId: string,
    segment: Segment,
    keywords: readonly string[],
  ): Promise<KeywordAlertMessage[]> {
    const out: KeywordAlertMessage[] = [];
    for (const o of occurrences(segment.text, keywords)) {
      const key = `${meetingId}/${alertKey(segment.seq, o.key)}`;
      if (this.raised.has(key) || this.older.has(key)) continue;
      const alertId = alertIdOf(segment, o);
      const fresh = await this.repo.raise({
        meetingId,
        alertKey: alertKey(segment.seq, o.key),
        alertId,
        keyword: o.keyword,
        occurrence: o.occurrence,
        seq: segment.seq,
      });
      this.remember(key);
      if (fresh) out.push(alertMessage(meetingId, segment, o, 'provisional'));
    }
    return out;
  }

  /**
   * A final confirms each of its occurrences (raised before or not) and withdraws the
   * provisional alerts of its seq that it does not contain.
   */
  async final(
    meetingId: string,
    segment: Segment,
    keywords: readonly string[],
  ): Promise<KeywordAlertMessage[]> {
    const found = occurrences(segment.text, keywords);
    // No keywords configured now: nothing raised can be confirmed, but withdrawals still go out.
    const raised = await this.repo.forSeq(meetingId, segment.seq);
    const keys = new Set(found.map((o) => alertKey(segment.seq, o.key)));
    const out = found.map((o) => alertMessage(meetingId, segment, o, 'confirmed'));
    for (const r of raised) {
      if (keys.has(r.alertKey)) continue;
      const key = r.alertKey.slice(r.alertKey.indexOf('#') + 1);
      out.push(
        alertMessage(meetingId, segment, { keyword: r.keyword, occurrence: r.occurrence, key }, 'withdrawn'),
      );
    }
    return out;
  }

  private remember(key: string): void {
    this.raised.add(key);
    if (this.raised.size >= CACHE_LIMIT / 2) {
      this.older = this.raised;
      this.raised = new Set();
    }
  }
}

function alertIdOf(segment: Pick<Segment, 'id'>, o: Pick<Occurrence, 'keyword' | 'occurrence'>): string {
  return `${segment.id}:${o.keyword.toLowerCase()}:${o.occurrence}`;
}

/** The `keyword_alert` message for one occurrence of a keyword in a segment. */
export function alertMessage(
  meetingId: string,
  segment: Segment,
  o: Occurrence,
  state: AlertState,
): KeywordAlertMessage {
  return {
    type: 'keyword_alert',
    meetingId,
    keyword: o.keyword,
    segmentId: segment.id,
    seq: segment.seq,
    text: segment.text,
    timestamp: segment.timestamp,
    alertId: alertIdOf(segment, o),
    occurrence: o.occurrence,
    state,
  };
}
