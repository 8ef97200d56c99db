/**
 * `npm run tail -- <meetingId> [--user alice]`: the live transcript in a terminal, with
 * speakers, interims replaced in place, keyword alerts and status changes. Uses the same
 * reference client as the tests and the web page, so it reconnects and resumes by itself.
 */
import WebSocket from 'ws';
import { ParleyClient } from '../../core/realtime/client';
import { cliArgs, localToken, readLocalEndpoints } from './local-endpoints';

const tty = process.stdout.isTTY === true;
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const yellow = (s: string) => (tty ? `\x1b[33m${s}\x1b[0m` : s);

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

async function main(): Promise<void> {
  const { values, positionals } = cliArgs({ user: { type: 'string', default: 'alice' } });
  const meetingId = positionals[0];
  if (!meetingId) throw new Error('usage: npm run tail -- <meetingId> [--user alice]');
  const endpoints = readLocalEndpoints();
  const user = String(values.user);
  const client = new ParleyClient({
    url: endpoints.ws,
    token: () => localToken(user),
    WebSocketImpl: WebSocket as never,
  });
  let interimShown = false;
  const clearInterim = () => {
    if (interimShown && tty) process.stdout.write('\r\x1b[2K');
    interimShown = false;
  };
  client.on('open', () => client.subscribe(meetingId));
  client.on('subscribed', (s) => {
    clearInterim();
    process.stdout.write(dim(`— subscribed to ${s.meetingId} (${s.status}, ${s.lastSeq} finals stored)\n`));
  });
  client.on('final', ({ segment }) => {
    clearInterim();
    process.stdout.write(`${dim(clock(segment.startMs))} ${bold(`${segment.speaker}:`)} ${segment.text}\n`);
  });
  client.on('interim', ({ segment }) => {
    if (!tty) return;
    clearInterim();
    process.stdout.write(
      dim(
        `${clock(segment.startMs)} ${segment.speaker}: ${segment.text}`.slice(
          0,
          (process.stdout.columns ?? 100) - 1,
        ),
      ),
    );
    interimShown = true;
  });
  client.on('keyword_alert', (a) => {
    clearInterim();
    process.stdout.write(yellow(`  ⚑ keyword "${a.keyword}" (seq ${a.seq})\n`));
  });
  client.on('status', (s) => {
    clearInterim();
    process.stdout.write(dim(`— status: ${s.status}\n`));
  });
  client.on('error', (e) => {
    clearInterim();
    process.stdout.write(yellow(`— error ${e.code}: ${e.message}\n`));
  });
  client.on('close', ({ code }) => {
    clearInterim();
    process.stdout.write(dim(`— disconnected (${code}); reconnecting…\n`));
  });
  client.connect();
  process.on('SIGINT', () => {
    client.close();
    process.exit(0);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
