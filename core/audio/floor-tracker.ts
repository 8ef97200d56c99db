/**
 * Who holds the floor when: built from Recall's participant events (speech_on / speech_off)
 * and from which separate-audio stream carried sound. Answers "who spoke most of
 * [startMs, endMs]" for a transcript segment. Times are meeting ms.
 */
interface Turn {
  participantId: number;
  startMs: number;
  endMs: number | undefined; // open while speaking
}

export class FloorTracker {
  private readonly names = new Map<number, string>();
  private turns: Turn[] = [];

  constructor(private readonly maxTurns = 2_000) {}

  join(participantId: number, name: string | null | undefined): void {
    this.names.set(participantId, name?.trim() || `Participant ${participantId}`);
  }

  speechOn(participantId: number, atMs: number): void {
    if (this.openTurn(participantId)) return;
    this.turns.push({ participantId, startMs: atMs, endMs: undefined });
    if (this.turns.length > this.maxTurns) this.turns = this.turns.slice(-this.maxTurns);
  }

  speechOff(participantId: number, atMs: number): void {
    const turn = this.openTurn(participantId);
    if (turn) turn.endMs = Math.max(atMs, turn.startMs);
  }

  leave(participantId: number, atMs: number): void {
    this.speechOff(participantId, atMs);
  }

  /** Separate audio: a non-silent frame from a participant is evidence they are speaking. */
  heard(participantId: number, startMs: number, endMs: number): void {
    const last = [...this.turns].reverse().find((t) => t.participantId === participantId);
    if (last && last.endMs !== undefined && startMs - last.endMs <= 300) {
      last.endMs = Math.max(last.endMs, endMs);
      return;
    }
    if (last && last.endMs === undefined) return;
    this.turns.push({ participantId, startMs, endMs });
  }

  nameOf(participantId: number): string {
    return this.names.get(participantId) ?? `Participant ${participantId}`;
  }

  /** The participant who spoke most of the interval, or undefined when nobody held the floor. */
  speakerFor(startMs: number, endMs: number, nowMs = Number.POSITIVE_INFINITY): string | undefined {
    const overlap = new Map<number, number>();
    const end = Math.max(endMs, startMs + 1);
    for (const turn of this.turns) {
      const turnEnd = turn.endMs ?? nowMs;
      const o = Math.min(end, turnEnd) - Math.max(startMs, turn.startMs);
      if (o > 0) overlap.set(turn.participantId, (overlap.get(turn.participantId) ?? 0) + o);
    }
    let best: number | undefined;
    let bestOverlap = 0;
    for (const [id, o] of overlap) {
      if (o > bestOverlap) {
        best = id;
        bestOverlap = o;
      }
    }
    return best === undefined ? undefined : this.nameOf(best);
  }

  private openTurn(participantId: number): Turn | undefined {
    for (let i = this.turns.length - 1; i >= 0; i--) {
      const t = this.turns[i] as Turn;
      if (t.participantId === participantId && t.endMs === undefined) return t;
    }
    return undefined;
  }
}
