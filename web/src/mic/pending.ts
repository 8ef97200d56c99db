/**
 * Hands the microphone the record page opened (after the user's click, so the permission prompt
 * and the AudioContext start from a gesture) to the meeting page's microphone panel.
 */
let pending: { meetingId: string; stream: MediaStream } | undefined;

export function handOver(meetingId: string, stream: MediaStream): void {
  if (pending) for (const track of pending.stream.getTracks()) track.stop();
  pending = { meetingId, stream };
}

/** The stream opened for this meeting, once (undefined after a reload). */
export function takeStream(meetingId: string): MediaStream | undefined {
  if (pending?.meetingId !== meetingId) return undefined;
  const { stream } = pending;
  pending = undefined;
  return stream;
}
