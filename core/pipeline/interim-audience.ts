/**
 * What an interim needs from DynamoDB — its meeting's subscribers and keywords — kept per
 * container for a second, so an interim's path reads nothing (issue #15.3: the two reads were
 * most of Parley's share of an interim's latency).
 *
 * Why only interims: an interim is superseded within about a second and carries no delivery
 * guarantee; a final does, so it always reads both fresh (after it is stored: "found here or in
 * the replay") and refreshes this entry. What an interim may see, documented in docs/protocol.md:
 * the audience and keywords of up to `INTERIM_AUDIENCE_MS` ago — a viewer who subscribed within it
 * gets interims from the next final on (its replay and every final are unaffected); a keyword
 * edit raises provisional alerts from then on (confirmed alerts use the final's fresh read).
 * The keywords kept here serve only interims that came without the gateway's (events.ts
 * `keywords`): a gateway that knows the meeting sends them with every interim it shows.
 */

export const INTERIM_AUDIENCE_MS = 1_000;
/** Meetings kept at most (one container serves one meeting at a time in practice). */
export const INTERIM_AUDIENCE_MAX = 1_000;

export interface Audience<S> {
  subscribers: S;
  keywords: string[];
}

export class InterimAudience<S> {
  private readonly entries = new Map<string, Audience<S> & { at: number }>();

  constructor(
    private readonly ttlMs = INTERIM_AUDIENCE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The meeting's audience if read within the last `ttlMs`. */
  get(meetingId: string): Audience<S> | undefined {
    const entry = this.entries.get(meetingId);
    if (!entry) return undefined;
    if (this.now() - entry.at < this.ttlMs) return entry;
    this.entries.delete(meetingId);
    return undefined;
  }

  /** Keeps a fresh read (the oldest meeting goes past `INTERIM_AUDIENCE_MAX`). */
  set(meetingId: string, audience: Audience<S>): void {
    this.entries.delete(meetingId);
    this.entries.set(meetingId, { ...audience, at: this.now() });
    if (this.entries.size > INTERIM_AUDIENCE_MAX) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** Meetings kept now (tests). */
  get size(): number {
    return this.entries.size;
  }
}
