/**
 * Maps the session's stream clock (ms of audio sent to the speech engine) to meeting time
 * (ms from meeting start, from Recall's `timestamp.relative`). Paused audio is never sent,
 * so the two drift apart at every pause; each discontinuity adds an anchor.
 *
 * Recall's timestamps are input from outside, so one frame cannot move meeting time by
 * itself: a forward jump is held as a candidate until the next frame confirms it (its time
 * follows on from the jump). A frame that the next one contradicts, or one that runs
 * backwards, is rejected and counted by the caller; meeting time keeps following the
 * stream's own clock.
 */
export type ClockVerdict =
  /** The frame's time agrees with the clock. */
  | 'ok'
  /** A forward jump, held until the next frame confirms it. */
  | 'held'
  /** The previous frame's jump was confirmed and is now an anchor. */
  | 'confirmed'
  /** The frame's time was not believed (backwards, or a jump the next frame contradicted). */
  | 'rejected';

interface Anchor {
  streamMs: number;
  meetingMs: number;
}

export class AudioClock {
  /** Ascending by streamMs. */
  private anchors: Anchor[] = [];
  private candidate: Anchor | undefined;

  constructor(private readonly toleranceMs = 40) {}

  /**
   * Record that the audio at `streamMs` was heard at `meetingMs`. Returns the verdict; when a
   * held jump turns out wrong, the verdict for the frame that carried it is `rejected` (the
   * caller counts one bad frame either way).
   */
  observe(streamMs: number, meetingMs: number): ClockVerdict {
    const candidate = this.candidate;
    this.candidate = undefined;
    if (
      candidate &&
      Math.abs(candidate.meetingMs + (streamMs - candidate.streamMs) - meetingMs) <= this.toleranceMs
    ) {
      this.anchors.push(candidate);
      return 'confirmed';
    }
    const last = this.anchors[this.anchors.length - 1];
    if (!last) {
      // Not even the first frame is believed alone (a new task may join mid-meeting at any time).
      this.candidate = { streamMs, meetingMs };
      return candidate ? 'rejected' : 'held';
    }
    const predicted = last.meetingMs + (streamMs - last.streamMs);
    if (Math.abs(predicted - meetingMs) <= this.toleranceMs) return candidate ? 'rejected' : 'ok';
    // Meeting time never runs backwards for one stream.
    if (meetingMs < predicted) return 'rejected';
    this.candidate = { streamMs, meetingMs };
    return candidate ? 'rejected' : 'held';
  }

  /**
   * The last frame's time is held, not judged yet (the stream's first frame, or a forward
   * jump): until the next frame, `toMeetingMs` does not place that frame where it was heard.
   */
  get pending(): boolean {
    return this.candidate !== undefined;
  }

  /**
   * Meeting ms of the END of audio that finishes at `streamMs`: audio ending exactly at a
   * discontinuity (a pause, a reconnect gap) belongs before it, so the anchor that starts at
   * `streamMs` is not used. A final flushed at a pause thus never stretches over the pause.
   */
  toMeetingEndMs(streamMs: number): number {
    let anchor = this.anchors[0];
    if (!anchor) return Math.max(0, Math.round(streamMs));
    for (let i = this.anchors.length - 1; i >= 0; i--) {
      const a = this.anchors[i] as Anchor;
      if (a.streamMs < streamMs) {
        anchor = a;
        break;
      }
    }
    return Math.max(0, Math.round(anchor.meetingMs + (streamMs - anchor.streamMs)));
  }

  /** Meeting ms of the audio at `streamMs`. */
  toMeetingMs(streamMs: number): number {
    let anchor = this.anchors[0];
    if (!anchor) return Math.max(0, Math.round(streamMs));
    for (let i = this.anchors.length - 1; i >= 0; i--) {
      const a = this.anchors[i] as Anchor;
      if (a.streamMs <= streamMs) {
        anchor = a;
        break;
      }
    }
    return Math.max(0, Math.round(anchor.meetingMs + (streamMs - anchor.streamMs)));
  }

  /** Drop anchors no longer needed (all but the last one at or before `streamMs`). */
  prune(streamMs: number): void {
    let keepFrom = 0;
    for (let i = 0; i < this.anchors.length; i++) {
      if ((this.anchors[i] as Anchor).streamMs <= streamMs) keepFrom = i;
    }
    if (keepFrom > 0) this.anchors = this.anchors.slice(keepFrom);
  }
}
