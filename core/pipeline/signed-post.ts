/**
 * PostToConnection for the fan-out's hot loop: one SigV4-signed HTTP POST per subscriber on
 * kept-alive sockets, without the SDK client's per-request middleware stack (serialisation,
 * endpoint resolution, retry, user agent, logging), which costs ~0.3 ms of CPU per post and was
 * 80 % of a 1,000-subscriber fan-out (docs/benchmarks.md). The signer is the SDK client's own
 * (same credentials chain, region and signing name `execute-api`), so requests are signed exactly
 * as the client signs them.
 *
 * Contract of `postToConnection` (core/clients/management-api.ts): 'sent', 'gone' on 410, and a
 * thrown error for anything else (status in `$metadata.httpStatusCode`, API Gateway's error type
 * as `name`). No retry here: ConnectionFanout's callers retry a failing connection alone.
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { onDestroyClients } from '../clients/lifecycle';
import { managementApi } from '../clients/management-api';

/** Same limits as the SDK client's handler in core/clients/management-api.ts. */
const MAX_SOCKETS = 64;
const REQUEST_TIMEOUT_MS = 5_000;

interface Signer {
  sign(request: SignableRequest): Promise<SignableRequest>;
}
interface SignableRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: unknown;
}

/** A failed PostToConnection, shaped like the SDK's service exceptions for `isGone` and logs. */
export class ManagementPostError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(status: number, errorType: string, message: string) {
    super(message);
    this.name = errorType || `HTTP${status}`;
    this.$metadata = { httpStatusCode: status };
  }
}

export type PostResult = 'sent' | 'gone';

/** The request went out on a reused kept-alive socket that turned out closed. */
class StaleSocketError extends Error {
  constructor(override readonly cause: Error) {
    super(`stale kept-alive socket: ${cause.message}`);
    this.name = 'StaleSocketError';
  }
}

/** Posts to one API Gateway stage's connections (`https://{domain}/{stage}`). */
export class SignedConnectionPoster {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private signer?: Promise<Signer>;

  constructor(private readonly endpoint: string) {
    this.url = new URL(endpoint);
    const https = this.url.protocol === 'https:';
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS })
      : new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
    this.send = https ? httpsRequest : httpRequest;
  }

  /** Posts `data` (already serialised); `payloadHash` is its hex SHA-256 when the caller has it. */
  async post(connectionId: string, data: Buffer, payloadHash = sha256Hex(data)): Promise<PostResult> {
    const signer = await this.getSigner();
    const basePath = this.url.pathname.replace(/\/$/, '');
    const signed = await signer.sign({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      ...(this.url.port ? { port: Number(this.url.port) } : {}),
      // The path the SDK builds for PostToConnection ('@' literal, the id percent-encoded).
      path: `${basePath}/@connections/${encodeURIComponent(connectionId)}`,
      query: {},
      headers: {
        host: this.url.host,
        'content-type': 'application/octet-stream',
        'content-length': String(data.length),
        'x-amz-content-sha256': payloadHash,
      },
      body: data,
    });
    let status: Awaited<ReturnType<SignedConnectionPoster['request']>>;
    try {
      status = await this.request(signed, data);
    } catch (error) {
      // A kept-alive socket the server closed while idle fails the request that reuses it (as
      // the SDK's handler, which retries it): one retry on a fresh socket. Anything else throws.
      if (!(error instanceof StaleSocketError)) throw error;
      status = await this.request(signed, data);
    }
    if (status.code >= 200 && status.code < 300) return 'sent';
    if (status.code === 410) return 'gone';
    throw new ManagementPostError(
      status.code,
      status.errorType,
      `PostToConnection ${connectionId}: HTTP ${status.code} ${status.errorType} ${status.body}`.trim(),
    );
  }

  hash(data: Buffer): string {
    return sha256Hex(data);
  }

  /** Closes the kept-alive sockets. */
  destroy(): void {
    this.agent.destroy();
  }

  private getSigner(): Promise<Signer> {
    if (!this.signer) {
      // The SDK client's resolved signer: its credentials provider refreshes expiring credentials.
      const signer = (managementApi(this.endpoint).config.signer as unknown as () => Promise<Signer>)();
      this.signer = signer;
      // A failed resolution is not kept: the next post tries again.
      signer.catch(() => {
        if (this.signer === signer) this.signer = undefined;
      });
      // Local mode closes every client's sockets when its stack stops; the next post starts afresh.
      onDestroyClients(() => {
        this.agent.destroy();
        this.signer = undefined;
      });
    }
    return this.signer;
  }

  private request(
    signed: SignableRequest,
    data: Buffer,
  ): Promise<{ code: number; errorType: string; body: string }> {
    return new Promise((resolve, reject) => {
      const req = this.send(
        {
          method: 'POST',
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          path: signed.path,
          headers: signed.headers,
          agent: this.agent,
        },
        (res: IncomingMessage) => {
          const code = res.statusCode ?? 0;
          const errorType = String(res.headers['x-amzn-errortype'] ?? '').split(':')[0] ?? '';
          if (code >= 200 && code < 300) {
            res.resume();
            res.on('end', () => resolve({ code, errorType, body: '' }));
            res.on('error', reject);
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.length < 4 && chunks.push(c));
          res.on('end', () =>
            resolve({ code, errorType, body: Buffer.concat(chunks).toString('utf8').slice(0, 300) }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(new ManagementPostError(0, 'TimeoutError', 'PostToConnection timed out')),
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
        reject(stale ? new StaleSocketError(error) : error);
      });
      req.end(data);
    });
  }
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
