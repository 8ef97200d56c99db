import { svixHeaders, svixSignature, verifySvixSignature } from '../../core/recall/webhook-signature';

// The example published in Svix's documentation.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

describe('Svix webhook signatures', () => {
  it('reproduces the signature from the Svix documentation', () => {
    expect(svixSignature(SECRET, ID, TIMESTAMP, BODY)).toBe(SIGNATURE);
    expect(svixHeaders(SECRET, ID, TIMESTAMP, BODY)).toEqual({
      'webhook-id': ID,
      'webhook-timestamp': String(TIMESTAMP),
      'webhook-signature': `v1,${SIGNATURE}`,
    });
  });

  it('verifies webhook- and svix- headers, and any of several rotated signatures', () => {
    const options = { nowSeconds: TIMESTAMP + 10 };
    const headers = svixHeaders(SECRET, ID, TIMESTAMP, BODY);
    expect(verifySvixSignature(SECRET, headers, BODY, options)).toBe(true);
    expect(
      verifySvixSignature(
        SECRET,
        { 'svix-id': ID, 'svix-timestamp': String(TIMESTAMP), 'svix-signature': `v1,AAAA v1,${SIGNATURE}` },
        BODY,
        options,
      ),
    ).toBe(true);
  });

  it('rejects a changed body, a wrong secret, an old timestamp and missing headers', () => {
    const headers = svixHeaders(SECRET, ID, TIMESTAMP, BODY);
    const now = { nowSeconds: TIMESTAMP };
    expect(verifySvixSignature(SECRET, headers, `${BODY} `, now)).toBe(false);
    expect(verifySvixSignature('whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', headers, BODY, now)).toBe(false);
    expect(verifySvixSignature(SECRET, headers, BODY, { nowSeconds: TIMESTAMP + 301 })).toBe(false);
    expect(verifySvixSignature(SECRET, { 'webhook-id': ID }, BODY, now)).toBe(false);
    expect(
      verifySvixSignature(SECRET, { ...headers, 'webhook-signature': `v2,${SIGNATURE}` }, BODY, now),
    ).toBe(false);
  });

  it('refuses a secret that is not base64', () => {
    expect(() => svixSignature('whsec_not base64!', ID, TIMESTAMP, BODY)).toThrow(TypeError);
  });
});
