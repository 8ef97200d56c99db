/**
 * A small client for AWS's JSON-RPC APIs (`POST /`, `X-Amz-Target: <prefix>.<Operation>`,
 * `application/x-amz-json-1.0`): DynamoDB and SQS. SigV4-signed (./sigv4.ts), kept-alive
 * sockets, a bounded request time, and retries through core/backoff.ts for what the SDK's
 * standard retry mode retries: throttling, 5xx, and network failures (a kept-alive socket the
 * server closed, a timeout).
 *
 * A failure is an `AwsServiceError` shaped like the SDK's service exceptions: `name` is the
 * service's error type (`ConditionalCheckFailedException`, …), `$metadata.httpStatusCode` its
 * status, and the fields of the error body are kept (DynamoDB's `Item` with
 * ReturnValuesOnConditionCheckFailure), so callers that test `error.name` work unchanged.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type BackoffOptions, retry } from '../backoff';
import { awsConfig } from '../config';
import { awsCredentials, type CredentialsSource } from './aws-credentials';
import { SigV4Signer, sha256Hex } from './sigv4';

export class AwsServiceError extends Error {
  readonly $metadata: { httpStatusCode: number; attempts?: number };
  readonly $fault: 'client' | 'server';
  /** The error body's other fields (e.g. DynamoDB's `Item`). */
  readonly details: Record<string, unknown>;
  constructor(name: string, message: string, status: number, details: Record<string, unknown> = {}) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
    this.$fault = status >= 500 ? 'server' : 'client';
    this.details = details;
  }
}

/** Error types worth another attempt (the SDK's throttling list, as DynamoDB and SQS name them). */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionInProgressException',
  'RequestThrottled',
]);
const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN']);

export function isRetryableAwsError(error: unknown): boolean {
  if (error instanceof AwsServiceError) {
    return (
      error.$metadata.httpStatusCode >= 500 ||
      error.$metadata.httpStatusCode === 429 ||
      THROTTLING.has(error.name)
    );
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (
    (code !== undefined && RETRYABLE_NETWORK.has(code)) ||
    (error as Error | undefined)?.name === 'TimeoutError'
  );
}

export interface AwsJsonClientOptions {
  /** SigV4 signing name: `dynamodb`, `sqs`. */
  service: string;
  region: string;
  /** `https://dynamodb.us-east-1.amazonaws.com` (or an emulator's http URL). */
  endpoint: string;
  /** `DynamoDB_20120810`, `AmazonSQS`. */
  targetPrefix: string;
  credentials: CredentialsSource;
  /** Attempts per call including the first (the SDK's default is 3; Parley's DynamoDB client used 5). */
  maxAttempts?: number;
  /** Abort one attempt after this long. Default 20 s. */
  requestTimeoutMs?: number;
  /** Backoff between attempts (core/backoff.ts); default 50 ms doubling, capped at 2 s. */
  backoff?: Pick<BackoffOptions, 'baseMs' | 'maxDelayMs' | 'jitter' | 'sleep' | 'random'>;
}

export class AwsJsonClient {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly signer: SigV4Signer;
  private readonly path: string;

  constructor(private readonly options: AwsJsonClientOptions) {
    this.url = new URL(options.endpoint);
    const https = this.url.protocol === 'https:';
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 50 })
      : new HttpAgent({ keepAlive: true, maxSockets: 50 });
    this.send = https ? httpsRequest : httpRequest;
    this.signer = new SigV4Signer(options.service, options.region, options.credentials);
    this.path = this.url.pathname || '/';
  }

  /** Calls `operation` with `input`; resolves with the parsed answer, throws AwsServiceError. */
  async call<T>(operation: string, input: unknown, options: { abortSignal?: AbortSignal } = {}): Promise<T> {
    const body = Buffer.from(JSON.stringify(input));
    const payloadHash = sha256Hex(body);
    return retry(
      async () => {
        const headers = await this.signer.sign({
          method: 'POST',
          path: this.path,
          headers: {
            host: this.url.host,
            'content-type': 'application/x-amz-json-1.0',
            'content-length': String(body.length),
            'x-amz-target': `${this.options.targetPrefix}.${operation}`,
            // As the SDK's clients send it (test/unit/sigv4.test.ts).
            'x-amz-content-sha256': payloadHash,
          },
          payloadHash,
        });
        return (await this.request(headers, body, options.abortSignal)) as T;
      },
      {
        maxAttempts: this.options.maxAttempts ?? 3,
        baseMs: 50,
        maxDelayMs: 2_000,
        ...this.options.backoff,
        retryable: isRetryableAwsError,
        ...(options.abortSignal ? { signal: options.abortSignal } : {}),
      },
    );
  }

  /** Closes the kept-alive sockets. */
  destroy(): void {
    this.agent.destroy();
  }

  private request(headers: Record<string, string>, body: Buffer, signal?: AbortSignal): Promise<unknown> {
    const timeoutMs = this.options.requestTimeoutMs ?? 20_000;
    return new Promise((resolve, reject) => {
      const req = this.send(
        {
          method: 'POST',
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          path: this.path,
          headers,
          agent: this.agent,
          ...(signal ? { signal } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown> = {};
            try {
              parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
            } catch {
              if (status >= 200 && status < 300) {
                reject(new AwsServiceError('SerializationError', 'The answer is not JSON', status));
                return;
              }
            }
            if (status >= 200 && status < 300) {
              resolve(parsed);
              return;
            }
            reject(toServiceError(status, res.headers['x-amzn-errortype'], parsed, text));
          });
        },
      );
      req.setTimeout(timeoutMs, () => {
        const error = new Error(`no answer in ${timeoutMs} ms`);
        error.name = 'TimeoutError';
        req.destroy(error);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException` → `ConditionalCheckFailedException`. */
function toServiceError(
  status: number,
  header: string | string[] | undefined,
  body: Record<string, unknown>,
  text: string,
): AwsServiceError {
  const raw =
    (typeof body.__type === 'string' ? body.__type : undefined) ??
    (typeof header === 'string' ? header : undefined) ??
    (typeof body.code === 'string' ? body.code : undefined) ??
    `HTTP${status}`;
  const name = (raw.split('#').pop() ?? raw).split(':')[0] as string;
  const message = String(body.message ?? body.Message ?? (text.slice(0, 300) || name));
  const { __type: _type, message: _m, Message: _M, ...details } = body;
  return new AwsServiceError(name, message, status, details);
}

/**
 * A client for `service` at this process's configured region and endpoint (local mode sets the
 * endpoint), with the environment's credentials and 5 attempts, as Parley's SDK clients.
 */
export function configuredJsonClient(service: 'dynamodb' | 'sqs', targetPrefix: string): AwsJsonClient {
  const cfg = awsConfig();
  return new AwsJsonClient({
    service,
    region: cfg.region,
    endpoint: cfg.endpoints[service] ?? `https://${service}.${cfg.region}.amazonaws.com`,
    targetPrefix,
    credentials: awsCredentials(),
    maxAttempts: 5,
  });
}
