import {
  endpointTokenMatches,
  hashEndpointToken,
  newEndpointToken,
} from '../../core/meetings/endpoint-token';

describe('endpoint tokens', () => {
  it('stores only a hash that matches its own token', () => {
    const { token, hash } = newEndpointToken();
    expect(hash).not.toContain(token);
    expect(hash).toBe(hashEndpointToken(token));
    expect(endpointTokenMatches(token, hash)).toBe(true);
  });

  it('rejects another token, a truncated one and a malformed hash', () => {
    const a = newEndpointToken();
    const b = newEndpointToken();
    expect(endpointTokenMatches(b.token, a.hash)).toBe(false);
    expect(endpointTokenMatches(a.token.slice(0, -1), a.hash)).toBe(false);
    expect(endpointTokenMatches(a.token, 'abc')).toBe(false);
  });
});
