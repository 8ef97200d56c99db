/**
 * Hands the microphone the record page opened (after the user's click, so the permission prompt
 * and the AudioContext start from a gesture) to the meeting page's microphone panel.
 */
let pending: { meetingId: string; stream: MediaStream } | undefined;

export function handOver(meetingId: string, stream: MediaStream): void {
  if (pending) for (const track of pending.stream.getTracks()) track.stop();
  pending = { meetingId, stream };
}

const STREAM_URL_KEY = (meetingId: string) => `parley.mic.streamUrl.${meetingId}`;

/**
 * The create response's `streamUrl` (the audio gateway socket), kept in this browser: the meeting
 * records from the browser that started it, also after a reload.
 */
export function rememberStreamUrl(meetingId: string, streamUrl: string): void {
  try {
    localStorage.setItem(STREAM_URL_KEY(meetingId), streamUrl);
  } catch {
    // Storage full or disabled: the page records until it is closed.
  }
}

export function streamUrlOf(meetingId: string): string | undefined {
  try {
    return localStorage.getItem(STREAM_URL_KEY(meetingId)) ?? undefined;
  } catch {
    return undefined;
  }
}

export function forgetStreamUrl(meetingId: string): void {
  try {
    localStorage.removeItem(STREAM_URL_KEY(meetingId));
  } catch {
    // nothing to forget
  }
}

/** The stream opened for this meeting, once (undefined after a reload). */
export function takeStream(meetingId: string): MediaStream | undefined {
  if (pending?.meetingId !== meetingId) return undefined;
  const { stream } = pending;
  pending = undefined;
  return stream;
}
