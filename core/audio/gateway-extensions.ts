/**
 * What the audio gateway (core/audio/audio-gateway.ts) delegates beyond Recall: browser
 * microphone streams (core/audio/browser-ingress.ts) and the recording archive
 * (core/audio/recording-archiver.ts). The gateway calls these few methods at fixed points, so
 * neither feature lives inside its Recall code.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { BrowserIngress, SessionHost } from './browser-ingress';
import type { ArchivedAudioReader } from './lost-span-recovery';
import type { MeetingSession, SessionInput } from './meeting-session';
import type { RecordingArchiver } from './recording-archiver';

export type { SessionHost } from './browser-ingress';

export interface GatewayExtensions {
  /** Whether an upgrade on this path is the extension's (checked before the Recall path). */
  handlesPath(pathname: string): boolean;
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, host: SessionHost): void;
  /** A new session started (any ingress). */
  follow(meetingId: string, session: MeetingSession): void;
  /** Hand a Recall input to its session (and archive what the session forwards). */
  forward(session: MeetingSession, input: SessionInput, receivedAt: number): void;
  /** The task crashed (tests): drop everything unstored, close every socket at once. */
  kill(): void;
  /** Archived Recall audio of a span (a new session re-transcribes what a crashed task lost). */
  readArchivedAudio?: ArchivedAudioReader;
  /** Flush archives of finished sessions and assemble ended meetings' recordings (before exit). */
  settle(): Promise<void>;
  /** The task has stopped (its sessions are over): close remaining sockets and stop timers. */
  shutdown(): void;
}

export class LiveAudioExtensions implements GatewayExtensions {
  constructor(
    readonly archiver: RecordingArchiver,
    readonly browser: BrowserIngress | undefined,
  ) {}

  handlesPath(pathname: string): boolean {
    return this.browser?.handlesPath(pathname) ?? false;
  }

  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, host: SessionHost): void {
    this.browser?.upgrade(req, socket, head, host);
  }

  follow(meetingId: string, session: MeetingSession): void {
    this.archiver.follow(meetingId, session);
  }

  forward(session: MeetingSession, input: SessionInput, receivedAt: number): void {
    this.archiver.forward(session, input, receivedAt);
  }

  readonly readArchivedAudio: ArchivedAudioReader = (meetingId, fromMs, untilMs) =>
    this.archiver.readArchived(meetingId, fromMs, untilMs);

  kill(): void {
    this.browser?.kill();
    this.archiver.abandonAll();
  }

  settle(): Promise<void> {
    return this.archiver.settle();
  }

  shutdown(): void {
    this.browser?.shutdown();
    this.archiver.close();
  }
}
