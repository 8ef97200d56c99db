/**
 * Batched frames (docs/protocol.md "Batched frames"): several server messages in one WebSocket
 * frame, `{ type: "batch", messages: [...] }`, for clients that subscribed with `batch: true`.
 *
 * API Gateway bills one message per frame (per 32 KB of it): a final and the alerts it confirms,
 * or a replay of stored finals, cost one message instead of one each. A batch is kept within
 * one 32 KB billing unit, so it never costs more than its messages would alone; a message
 * that is larger on its own goes alone, unwrapped. Order is kept: frames in order, messages in
 * order within a frame.
 */
import type { ServerMessage } from './protocol';

/** API Gateway's billing unit for a WebSocket message. */
export const MAX_BATCH_FRAME_BYTES = 32 * 1024;

/** `{"type":"batch","messages":[` + `]}` */
const ENVELOPE_BYTES = Buffer.byteLength(JSON.stringify({ type: 'batch', messages: [] }));

/** `messages` packed into as few frames as fit `maxBytes` each; a lone message is not wrapped. */
export function packMessages(
  messages: readonly ServerMessage[],
  maxBytes = MAX_BATCH_FRAME_BYTES,
): ServerMessage[] {
  const frames: ServerMessage[] = [];
  let group: ServerMessage[] = [];
  let bytes = ENVELOPE_BYTES;
  const close = () => {
    if (group.length === 1) frames.push(group[0] as ServerMessage);
    else if (group.length > 1) frames.push({ type: 'batch', messages: group });
    group = [];
    bytes = ENVELOPE_BYTES;
  };
  for (const message of messages) {
    const size = Buffer.byteLength(JSON.stringify(message));
    // With the comma that separates it from the message before it.
    if (group.length > 0 && bytes + 1 + size > maxBytes) close();
    bytes += size + (group.length > 0 ? 1 : 0);
    group.push(message);
  }
  close();
  return frames;
}

/** The messages of one received frame, in order (a batch's, or the frame's own). */
export function unpackMessages(message: ServerMessage): ServerMessage[] {
  return message.type === 'batch' ? message.messages : [message];
}

/**
 * Posts a stream of messages to one connection: with `batch`, packed into frames of up to
 * `maxBytes` (posted as each fills, the rest on `flush`); without, each at once. `add` and
 * `flush` return false once the connection is gone (nothing more is posted).
 */
export class FrameWriter {
  private pending: ServerMessage[] = [];
  private bytes = ENVELOPE_BYTES;
  private gone = false;

  constructor(
    private readonly post: (message: ServerMessage) => Promise<boolean>,
    private readonly batch: boolean,
    private readonly maxBytes = MAX_BATCH_FRAME_BYTES,
  ) {}

  async add(message: ServerMessage): Promise<boolean> {
    if (this.gone) return false;
    if (!this.batch) return this.send(message);
    const size = Buffer.byteLength(JSON.stringify(message));
    // With the comma that separates it from the message before it.
    if (this.pending.length > 0 && this.bytes + 1 + size > this.maxBytes && !(await this.flush())) {
      return false;
    }
    this.bytes += size + (this.pending.length > 0 ? 1 : 0);
    this.pending.push(message);
    return true;
  }

  async flush(): Promise<boolean> {
    const messages = this.pending;
    this.pending = [];
    this.bytes = ENVELOPE_BYTES;
    for (const frame of packMessages(messages, this.maxBytes)) {
      if (!(await this.send(frame))) return false;
    }
    return !this.gone;
  }

  private async send(message: ServerMessage): Promise<boolean> {
    if (this.gone) return false;
    if (!(await this.post(message))) this.gone = true;
    return !this.gone;
  }
}
