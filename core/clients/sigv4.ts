/**
 * AWS Signature Version 4 for the few request shapes Parley sends without the SDK (DynamoDB's
 * JSON API, the WebSocket management API, SQS's JSON API): header signing, node:crypto only.
 *
 * The signing key (four HMACs of the secret) is derived once per date, region, service and
 * secret and reused, and the date string once per second, so a signature costs one SHA-256 of
 * the canonical request and one HMAC (the SDK's signer re-derives a lookup HMAC of the secret on
 * every call; docs/benchmarks.md "Fan-out").
 *
 * Canonical request as AWS specifies it (and as the SDK's signer builds it for these services):
 * the path as sent, each segment URI-encoded once more; the query sorted and RFC 3986-encoded;
 * every header given signed, names lower-cased, values trimmed with inner runs of spaces
 * collapsed, sorted by name. Checked against AWS's SigV4 test suite and the SDK's own signer
 * (test/unit/sigv4.test.ts).
 */
import * as crypto from 'node:crypto';
import { createHash, createHmac } from 'node:crypto';
import type { AwsCredentials, CredentialsSource } from './aws-credentials';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface SignableRequest {
  method: string;
  /** The path exactly as it goes on the wire (already percent-encoded where it must be). */
  path: string;
  /** Query parameters, unencoded. */
  query?: Readonly<Record<string, string>>;
  /** Every header to send and sign; must include `host`. Names in any case. */
  headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body; computed from `body` when absent. */
  payloadHash?: string;
  body?: string | Uint8Array;
}

/** One-shot `crypto.hash` where Node has it (20.12+, 21.7+): no Hash object per call. */
const oneShot = (
  crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }
).hash;

export function sha256Hex(data: string | Uint8Array): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves `!'()*` alone). */
export function uriEscape(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${(c.codePointAt(0) as number).toString(16).toUpperCase()}`,
  );
}

/** The path as SigV4 canonicalises it: each segment URI-encoded once more. */
export function canonicalPath(path: string): string {
  return path
    .split('/')
    .map((segment) => uriEscape(segment))
    .join('/');
}

function canonicalQuery(query: Readonly<Record<string, string>> | undefined): string {
  if (!query) return '';
  return Object.keys(query)
    .map((key) => [uriEscape(key), uriEscape(query[key] as string)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

/** `20150830T123600Z` for an epoch-ms time. */
export function amzDate(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2015-08-30T12:36:00.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** One request shape's signing: its headers (without `authorization`) and the signature per path. */
export interface PreparedSigning {
  headers: Readonly<Record<string, string>>;
  /** `canonical`: the path's canonical form when the caller has it (`canonicalPath`). */
  authorization(path: string, canonical?: string): string;
}

/** Signs requests for one service in one region. */
export class SigV4Signer {
  private key?: { secret: string; date: string; key: Buffer };
  private date?: { second: number; value: string };

  constructor(
    readonly service: string,
    readonly region: string,
    private readonly credentials: CredentialsSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** The headers to send: the request's own plus `x-amz-date`, the session token and `authorization`. */
  async sign(request: SignableRequest): Promise<Record<string, string>> {
    return this.signWith(await this.credentials(), request);
  }

  /** As `sign`, with credentials already at hand (and an optional fixed time, for tests). */
  signWith(credentials: AwsCredentials, request: SignableRequest, atMs = this.now()): Record<string, string> {
    const prepared = this.prepare(credentials, request, atMs);
    return { ...prepared.headers, authorization: prepared.authorization(request.path) };
  }

  /**
   * Signing for requests that differ only in their path (one broadcast's posts to many
   * connections): the headers, their canonical form, the scope and the key are built once, so
   * each path costs one SHA-256 and one HMAC. Valid for the second `atMs` falls in (x-amz-date).
   */
  prepare(
    credentials: AwsCredentials,
    request: Omit<SignableRequest, 'path'>,
    atMs = this.now(),
  ): PreparedSigning {
    const datetime = this.amzDate(atMs);
    const date = datetime.slice(0, 8);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    headers['x-amz-date'] = datetime;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;

    const names = Object.keys(headers).sort();
    let canonicalHeaders = '';
    for (const name of names) {
      canonicalHeaders += `${name}:${String(headers[name]).trim().replace(/\s+/g, ' ')}\n`;
    }
    const signedHeaders = names.join(';');
    const payloadHash = request.payloadHash ?? sha256Hex(request.body ?? '');
    const afterPath = `\n${canonicalQuery(request.query)}\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const scope = `${date}/${this.region}/${this.service}/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${datetime}\n${scope}\n`;
    const key = this.signingKey(credentials.secretAccessKey, date);
    const credential = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=`;
    return {
      headers,
      authorization: (path, canonical = canonicalPath(path)) => {
        const canonicalRequest = `${request.method}\n${canonical}${afterPath}`;
        const signature = createHmac('sha256', key)
          .update(toSign + sha256Hex(canonicalRequest))
          .digest('hex');
        return credential + signature;
      },
    };
  }

  /** kSigning for `date` (YYYYMMDD), derived once per date and secret. */
  signingKey(secret: string, date: string): Buffer {
    const cached = this.key;
    if (cached && cached.date === date && cached.secret === secret) return cached.key;
    const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(this.region).digest();
    const kService = createHmac('sha256', kRegion).update(this.service).digest();
    const key = createHmac('sha256', kService).update('aws4_request').digest();
    this.key = { secret, date, key };
    return key;
  }

  private amzDate(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (this.date?.second !== second) this.date = { second, value: amzDate(ms) };
    return this.date.value;
  }
}
