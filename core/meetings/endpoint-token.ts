import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The per-meeting secret in the URL Recall connects to. Only its SHA-256 is stored; the
 * check compares digests in constant time.
 */
export function newEndpointToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashEndpointToken(token) };
}

export function hashEndpointToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function endpointTokenMatches(token: string, storedHash: string): boolean {
  const given = Buffer.from(hashEndpointToken(token), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
