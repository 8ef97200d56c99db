/**
 * Svix webhook signatures, as Recall signs its bot status webhooks
 * (https://docs.svix.com/receiving/verifying-payloads/how-manual):
 * HMAC-SHA256 over `${id}.${timestamp}.${body}` keyed with the base64 part of the `whsec_…`
 * secret, sent as `webhook-signature: v1,<base64>` (space-separated when secrets rotate) along
 * with `webhook-id` and `webhook-timestamp` (seconds). The `svix-` header prefix means the same.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeStrictBase64 } from './base64';

const SECRET_PREFIX = 'whsec_';

export const SVIX_TOLERANCE_SECONDS = 5 * 60;

// A type alias, not an interface, so it is assignable to Record<string, string | undefined>.
export type SvixHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = decodeStrictBase64(encoded);
  if (key === undefined || key.length === 0) {
    throw new TypeError('Webhook secret must be "whsec_" followed by base64');
  }
  return key;
}

/** Base64 HMAC-SHA256 signature of one message (without the `v1,` prefix). */
export function svixSignature(secret: string, id: string, timestamp: number | string, body: string): string {
  return createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
}

/** The three headers to send with `body`. */
export function svixHeaders(secret: string, id: string, timestampSeconds: number, body: string): SvixHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${svixSignature(secret, id, timestampSeconds, body)}`,
  };
}

/**
 * True when `headers` carry a valid signature of the raw `body` made with `secret`, and the
 * timestamp is within `toleranceSeconds` of now (replay protection). Accepts `svix-` headers too.
 */
export function verifySvixSignature(
  secret: string,
  headers: Record<string, string | undefined>,
  body: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const id = lower['webhook-id'] ?? lower['svix-id'];
  const timestamp = lower['webhook-timestamp'] ?? lower['svix-timestamp'];
  const signatures = lower['webhook-signature'] ?? lower['svix-signature'];
  if (!id || !timestamp || !signatures || !/^\d+$/.test(timestamp)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? SVIX_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(svixSignature(secret, id, timestamp, body));
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',', 2);
    if (version !== 'v1' || signature === undefined) return false;
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
