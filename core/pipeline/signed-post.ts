/**
 * PostToConnection for the fan-out's hot loop: one SigV4-signed HTTP POST per subscriber on
 * kept-alive sockets, without the SDK client's per-request middleware stack (serialisation,
 * endpoint resolution, retry, user agent, logging), which costs ~0.3 ms of CPU per post and was
 * 80 % of a 1,000-subscriber fan-out (docs/benchmarks.md). Signed by the lean SigV4 signer
 * (core/clients/sigv4.ts: the day's signing key cached; credentials from the Lambda / Fargate
 * environment, core/clients/aws-credentials.ts), region from AWS_REGION, signing name
 * `execute-api`; test/unit/sigv4.test.ts checks it against the SDK client's own signer.
 * `remove` is DeleteConnection (the fan-out's eviction and the routes' replies use the same poster).
 *
 * Per post, only what differs per connection is done: a broadcast posts one body, so its headers
 * are built, canonicalised and laid out as raw header pairs once a second (`prepare`), and each
 * post adds its path's signature (one SHA-256, one HMAC); deadlines are one timer for all open
 * requests (core/clients/request-deadlines.ts), not a socket timer per request. Client CPU per
 * post: 1.10× a bare node:http POST's (1.38× before; bench/fanout-post-cost.ts).
 *
 * Contract of `postToConnection` (core/clients/management-api.ts): 'sent', 'gone' on 410, and a
 * thrown error for anything else (status in `$metadata.httpStatusCode`, API Gateway's error type
 * as `name`). Retries: none by default (the fan-out's callers retry a failing connection
 * alone); `connectionPoster`, which every other ConnectionFanout uses, tries a 429 / 5xx /
 * timeout / network failure twice, as the SDK client it replaced (maxAttempts 2).
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { retry } from '../backoff';
import { awsCredentials, type CredentialsSource } from '../clients/aws-credentials';
import { onDestroyClients } from '../clients/lifecycle';
import { RequestDeadlines } from '../clients/request-deadlines';
import {
  canonicalPath,
  EMPTY_SHA256,
  type PreparedSigning,
  SigV4Signer,
  sha256Hex,
  uriEscape,
} from '../clients/sigv4';
import { awsConfig } from '../config';

export { sha256Hex } from '../clients/sigv4';

/** Same limits as the SDK client's handler in core/clients/management-api.ts. */
const MAX_SOCKETS = 64;
const REQUEST_TIMEOUT_MS = 5_000;

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
  private readonly connectionsPath: string;
  private readonly canonicalConnectionsPath: string;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly signer: SigV4Signer;
  private readonly credentials: CredentialsSource;
  private last?: RequestShape;
  /** One timer for every open request (a socket timer per request costs more than signing it). */
  private readonly deadlines: RequestDeadlines<ClientRequest>;
  private registered = false;

  /**
   * `attempts`: tries per call for a throttled (429), failed (5xx), timed-out or network-broken
   * request. 1 for the fan-out (its callers retry a failing connection alone); the routes'
   * replies use 2, as the SDK client they replace did (maxAttempts 2). `timeoutMs`: a request
   * without an answer by then fails with a `TimeoutError` (up to a fifth later).
   */
  constructor(
    endpoint: string,
    private readonly attempts = 1,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    this.deadlines = new RequestDeadlines<ClientRequest>(timeoutMs, (req) =>
      req.destroy(new ManagementPostError(0, 'TimeoutError', `${req.method} ${req.path} timed out`)),
    );
    this.url = new URL(endpoint);
    this.connectionsPath = `${this.url.pathname.replace(/\/$/, '')}/@connections/`;
    this.canonicalConnectionsPath = canonicalPath(this.connectionsPath);
    const https = this.url.protocol === 'https:';
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS })
      : new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
    this.send = https ? httpsRequest : httpRequest;
    this.credentials = awsCredentials();
    this.signer = new SigV4Signer('execute-api', awsConfig().region, this.credentials);
  }

  /** Posts `data` (already serialised); `payloadHash` is its hex SHA-256 when the caller has it. */
  async post(connectionId: string, data: Buffer, payloadHash = sha256Hex(data)): Promise<PostResult> {
    const status = await this.callWithRetries('POST', connectionId, data, payloadHash);
    if (status.code >= 200 && status.code < 300) return 'sent';
    if (status.code === 410) return 'gone';
    throw new ManagementPostError(
      status.code,
      status.errorType,
      `PostToConnection ${connectionId}: HTTP ${status.code} ${status.errorType} ${status.body}`.trim(),
    );
  }

  /** DeleteConnection: closes the client's socket; an already gone connection counts as closed. */
  async remove(connectionId: string): Promise<void> {
    const status = await this.callWithRetries('DELETE', connectionId, EMPTY, EMPTY_SHA256);
    if ((status.code >= 200 && status.code < 300) || status.code === 410) return;
    throw new ManagementPostError(
      status.code,
      status.errorType,
      `DeleteConnection ${connectionId}: HTTP ${status.code} ${status.errorType} ${status.body}`.trim(),
    );
  }

  hash(data: Buffer): string {
    return sha256Hex(data);
  }

  /** Closes the kept-alive sockets. */
  destroy(): void {
    this.agent.destroy();
  }

  private callWithRetries(
    method: 'POST' | 'DELETE',
    connectionId: string,
    data: Buffer,
    payloadHash: string,
  ): Promise<Answer> {
    if (this.attempts <= 1) return this.call(method, connectionId, data, payloadHash);
    return retry(
      async () => {
        const answer = await this.call(method, connectionId, data, payloadHash);
        if (answer.code === 429 || answer.code >= 500) throw new TransientAnswer(answer);
        return answer;
      },
      { maxAttempts: this.attempts, baseMs: 100, retryable: isTransient },
    ).catch((error: unknown) => {
      // Out of attempts on a throttled or failed answer: the caller sees that answer.
      if (error instanceof TransientAnswer) return error.answer;
      throw error;
    });
  }

  private call(
    method: 'POST' | 'DELETE',
    connectionId: string,
    data: Buffer,
    payloadHash: string,
  ): Promise<Answer> {
    if (!this.registered) {
      // Local mode closes every client's sockets when its stack stops; the next call opens new ones.
      this.registered = true;
      onDestroyClients(() => {
        this.agent.destroy();
        this.registered = false;
      });
    }
    const shape = this.shape(method, data.length, payloadHash);
    if (shape) return this.signedRequest(shape, method, connectionId, data);
    return this.prepare(method, data, payloadHash).then((s) =>
      this.signedRequest(s, method, connectionId, data),
    );
  }

  private signedRequest(
    shape: RequestShape,
    method: string,
    connectionId: string,
    data: Buffer,
  ): Promise<Answer> {
    // The path the SDK builds ('@' literal, the id percent-encoded), and its canonical form.
    const id = encodeURIComponent(connectionId);
    const path = `${this.connectionsPath}${id}`;
    const canonical = `${this.canonicalConnectionsPath}${uriEscape(id)}`;
    const headers = [...shape.headers, 'authorization', shape.signing.authorization(path, canonical)];
    return this.request(method, path, headers, data, true);
  }

  /**
   * The last request shape (method, body) while its second lasts: a broadcast posts one body to
   * every connection, so its headers are built and canonicalised once a second, not once a post
   * (core/clients/sigv4.ts `prepare`).
   */
  private shape(method: string, length: number, payloadHash: string): RequestShape | undefined {
    const s = this.last;
    if (!s || s.method !== method || s.length !== length || s.payloadHash !== payloadHash) return undefined;
    return Math.floor(Date.now() / 1000) === s.second ? s : undefined;
  }

  private async prepare(method: 'POST' | 'DELETE', data: Buffer, payloadHash: string): Promise<RequestShape> {
    const credentials = await this.credentials();
    const now = Date.now();
    const signing = this.signer.prepare(
      credentials,
      {
        method,
        headers: {
          host: this.url.host,
          ...(method === 'POST'
            ? { 'content-type': 'application/octet-stream', 'content-length': String(data.length) }
            : {}),
          'x-amz-content-sha256': payloadHash,
        },
        payloadHash,
      },
      now,
    );
    const shape: RequestShape = {
      method,
      length: data.length,
      payloadHash,
      second: Math.floor(now / 1000),
      signing,
      // Raw header pairs: node:http writes them without validating each header again per request.
      headers: Object.entries(signing.headers).flat(),
    };
    this.last = shape;
    return shape;
  }

  /**
   * One HTTP request. `retryStale`: a kept-alive socket the server closed while idle fails the
   * request that reuses it (as the SDK's handler, which retries it): one retry on a fresh socket.
   */
  private request(
    method: string,
    path: string,
    headers: string[],
    data: Buffer,
    retryStale: boolean,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = this.send(
        {
          method,
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          path,
          headers: headers as unknown as Record<string, string>,
          agent: this.agent,
        },
        (res: IncomingMessage) => {
          const code = res.statusCode ?? 0;
          const fail = (error: Error) => {
            this.deadlines.end(req);
            reject(error);
          };
          if (code >= 200 && code < 300) {
            // No header read: `res.headers` builds an object of them on first access.
            res.resume();
            res.on('end', () => {
              this.deadlines.end(req);
              resolve({ code, errorType: '', body: '' });
            });
            res.on('error', fail);
            return;
          }
          const errorType = String(res.headers['x-amzn-errortype'] ?? '').split(':')[0] ?? '';
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.length < 4 && chunks.push(c));
          res.on('end', () => {
            this.deadlines.end(req);
            resolve({ code, errorType, body: Buffer.concat(chunks).toString('utf8').slice(0, 300) });
          });
          res.on('error', fail);
        },
      );
      this.deadlines.start(req);
      req.on('error', (error: NodeJS.ErrnoException) => {
        this.deadlines.end(req);
        const stale = req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
        if (!stale) reject(error);
        else if (retryStale) resolve(this.request(method, path, headers, data, false));
        else reject(new StaleSocketError(error));
      });
      req.end(data.length > 0 ? data : undefined);
    });
  }
}

/** One request shape's signing and its headers as raw pairs (all but `authorization`). */
interface RequestShape {
  method: string;
  length: number;
  payloadHash: string;
  second: number;
  signing: PreparedSigning;
  headers: string[];
}

interface Answer {
  code: number;
  errorType: string;
  body: string;
}

const EMPTY = Buffer.alloc(0);

class TransientAnswer extends Error {
  constructor(readonly answer: Answer) {
    super(`HTTP ${answer.code}`);
  }
}

const isTransient = (error: unknown) =>
  error instanceof TransientAnswer ||
  (error instanceof ManagementPostError && error.name === 'TimeoutError') ||
  ['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT'].includes((error as NodeJS.ErrnoException).code ?? '');

const posters = new Map<string, SignedConnectionPoster>();

/**
 * The process's one poster per management endpoint (kept-alive sockets shared by every caller),
 * for the routes' replies: two attempts per call.
 */
export function connectionPoster(endpoint: string): SignedConnectionPoster {
  let poster = posters.get(endpoint);
  if (!poster) {
    poster = new SignedConnectionPoster(endpoint, 2);
    posters.set(endpoint, poster);
    onDestroyClients(() => posters.delete(endpoint));
  }
  return poster;
}
