/**
 * The lean SigV4 signer against AWS's published SigV4 test suite (aws-sig-v4-test-suite, the
 * 2015-08-30 vectors: AKIDEXAMPLE, region us-east-1, service `service`), AWS's IAM ListUsers
 * example, and the SDK's own signer (same request, same time, same credentials → same
 * Authorization header).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { managementApi } from '../../core/clients/management-api';
import { amzDate, SigV4Signer, sha256Hex } from '../../core/clients/sigv4';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const AT = Date.UTC(2015, 7, 30, 12, 36, 0);
const noCredentials = () => Promise.reject(new Error('not used'));

function suiteSigner(): SigV4Signer {
  return new SigV4Signer('service', 'us-east-1', noCredentials);
}

const signature = (authorization: string | undefined) =>
  /Signature=([0-9a-f]{64})$/.exec(authorization ?? '')?.[1];

describe('SigV4Signer against the AWS SigV4 test suite', () => {
  it('formats the request time as x-amz-date', () => {
    expect(amzDate(AT)).toBe('20150830T123600Z');
  });

  it.each([
    ['get-vanilla', 'GET', {}, {}, '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    ['post-vanilla', 'POST', {}, {}, '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
    [
      'post-vanilla-query',
      'POST',
      { Param1: 'value1' },
      {},
      '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
    ],
    [
      'post-header-key-sort',
      'POST',
      {},
      { 'My-Header1': 'value1' },
      'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c',
    ],
    [
      'post-header-value-case',
      'POST',
      {},
      { 'My-Header1': 'VALUE1' },
      'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d',
    ],
  ])('signs %s as the suite does', (_name, method, query, extra, expected) => {
    const headers = suiteSigner().signWith(
      CREDENTIALS,
      { method, path: '/', query, headers: { Host: 'example.amazonaws.com', ...extra } },
      AT,
    );
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    expect(signature(headers.authorization)).toBe(expected);
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/us-east-1\/service\/aws4_request, SignedHeaders=host;/,
    );
  });

  it("signs AWS's IAM ListUsers example, with a query and a content type", () => {
    const signer = new SigV4Signer('iam', 'us-east-1', noCredentials);
    const headers = signer.signWith(
      CREDENTIALS,
      {
        method: 'GET',
        path: '/',
        query: { Action: 'ListUsers', Version: '2010-05-08' },
        headers: {
          host: 'iam.amazonaws.com',
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        },
      },
      AT,
    );
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
    );
  });

  it('derives the signing key once per date and again when the date or the secret changes', () => {
    const signer = suiteSigner();
    const day1 = signer.signingKey(CREDENTIALS.secretAccessKey, '20150830');
    expect(signer.signingKey(CREDENTIALS.secretAccessKey, '20150830')).toBe(day1);
    const day2 = signer.signingKey(CREDENTIALS.secretAccessKey, '20150831');
    expect(day2).not.toBe(day1);
    expect(day2.equals(day1)).toBe(false);
    expect(signer.signingKey('another-secret', '20150831').equals(day2)).toBe(false);
  });

  it('adds and signs the session token when the credentials carry one', () => {
    const headers = suiteSigner().signWith(
      { ...CREDENTIALS, sessionToken: 'token-abc' },
      { method: 'POST', path: '/', headers: { host: 'example.amazonaws.com' } },
      AT,
    );
    expect(headers['x-amz-security-token']).toBe('token-abc');
    expect(headers.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');
  });
});

interface SdkSigner {
  sign(
    request: Record<string, unknown>,
    options: { signingDate: Date },
  ): Promise<{ headers: Record<string, string> }>;
}

describe('SigV4Signer against the SDK signer', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.AWS_REGION = 'eu-west-1';
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
    process.env.AWS_SESSION_TOKEN = 'session-token-example';
  });
  afterAll(() => {
    process.env = saved;
  });
  const credentials = { ...CREDENTIALS, sessionToken: 'session-token-example' };

  it('signs a PostToConnection exactly as the management API client signs it', async () => {
    const endpoint = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
    const sdk = await (managementApi(endpoint).config.signer as unknown as () => Promise<SdkSigner>)();
    const data = Buffer.from('{"type":"transcript","text":"hello (world) it\'s *me*"}');
    // An id with characters that are encoded on the wire and encoded again in the canonical path.
    const path = `/prod/@connections/${encodeURIComponent('L0SM9cO+FvHcCIhw=')}`;
    const headers = {
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'content-type': 'application/octet-stream',
      'content-length': String(data.length),
      'x-amz-content-sha256': sha256Hex(data),
    };
    const signingDate = new Date(Date.UTC(2026, 11, 2, 7, 30, 15));
    const expected = await sdk.sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: headers.host,
        path,
        query: {},
        headers: { ...headers },
        body: data,
      },
      { signingDate },
    );
    const ours = new SigV4Signer('execute-api', 'eu-west-1', noCredentials).signWith(
      credentials,
      { method: 'POST', path, headers, payloadHash: sha256Hex(data) },
      signingDate.getTime(),
    );
    expect(ours.authorization).toBe(expected.headers.authorization);
    expect(ours['x-amz-security-token']).toBe(expected.headers['x-amz-security-token']);
  });

  it('signs a DynamoDB PutItem exactly as the DynamoDB client signs it', async () => {
    const client = new DynamoDBClient({ region: 'eu-west-1' });
    try {
      const sdk = await (client.config.signer as unknown as () => Promise<SdkSigner>)();
      const body = JSON.stringify({ TableName: 't', Item: { id: { S: 'a b' } } });
      const headers = {
        host: 'dynamodb.eu-west-1.amazonaws.com',
        'content-type': 'application/x-amz-json-1.0',
        'content-length': String(Buffer.byteLength(body)),
        'x-amz-target': 'DynamoDB_20120810.PutItem',
      };
      const signingDate = new Date(Date.UTC(2026, 0, 1, 23, 59, 59));
      const expected = await sdk.sign(
        {
          method: 'POST',
          protocol: 'https:',
          hostname: headers.host,
          path: '/',
          query: {},
          headers: { ...headers },
          body,
        },
        { signingDate },
      );
      // The SDK adds the payload hash header to DynamoDB requests too; the lean client sends it.
      const ours = new SigV4Signer('dynamodb', 'eu-west-1', noCredentials).signWith(
        credentials,
        { method: 'POST', path: '/', headers: { ...headers, 'x-amz-content-sha256': sha256Hex(body) }, body },
        signingDate.getTime(),
      );
      expect(ours.authorization).toBe(expected.headers.authorization);
    } finally {
      client.destroy();
    }
  });
});
