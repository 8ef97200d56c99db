/**
 * Maps the session's stream clock (ms of audio sent to the speech engine) to meeting time
 * (ms from meeting start, from Recall's `timestamp.relative`). Paused audio is never sent,
 * so the two drift apart at every pause; each discontinuity adds an anchor.
 */
export class AudioClock {
  /** Ascending by streamMs. */
  private anchors: { streamMs: number; meetingMs: number }[] = [];

  /** Record that the audio at `streamMs` was heard at `meetingMs`. Only jumps > toleranceMs add anchors. */
  observe(streamMs: number, meetingMs: number, toleranceMs = 40): void {
    const last = this.anchors[this.anchors.length - 1];
    if (last) {
      const predicted = last.meetingMs + (streamMs - last.streamMs);
      if (Math.abs(predicted - meetingMs) <= toleranceMs) return;
      // Meeting time never runs backwards for one stream.
      if (meetingMs < predicted) meetingMs = predicted;
    }
    this.anchors.push({ streamMs, meetingMs });
  }

  toMeetingMs(streamMs: number): number {
    let anchor = this.anchors[0];
    if (!anchor) return Math.max(0, Math.round(streamMs));
    for (let i = this.anchors.length - 1; i >= 0; i--) {
      const candidate = this.anchors[i] as { streamMs: number; meetingMs: number };
      if (candidate.streamMs <= streamMs) {
        anchor = candidate;
        break;
      }
    }
    return Math.max(0, Math.round(anchor.meetingMs + (streamMs - anchor.streamMs)));
  }

  /** Drop anchors no longer needed (all but the last one at or before `streamMs`). */
  prune(streamMs: number): void {
    let keepFrom = 0;
    for (let i = 0; i < this.anchors.length; i++) {
      if ((this.anchors[i] as { streamMs: number }).streamMs <= streamMs) keepFrom = i;
    }
    if (keepFrom > 0) this.anchors = this.anchors.slice(keepFrom);
  }
}
