import { S3Client } from '@aws-sdk/client-s3';
import { awsConfig } from '../config';
import { onDestroyClients } from './lifecycle';

let client: S3Client | undefined;

/** The one S3 client of this process; local mode changes its endpoint and path style. */
export function s3(): S3Client {
  if (!client) {
    const cfg = awsConfig();
    const created = new S3Client({
      region: cfg.region,
      endpoint: cfg.endpoints.s3,
      // s3rver serves path-style URLs only and does not check the newer default checksums.
      forcePathStyle: cfg.local,
      requestChecksumCalculation: cfg.local ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      responseChecksumValidation: cfg.local ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    });
    client = created;
    onDestroyClients(() => {
      created.destroy();
      client = undefined;
    });
  }
  return client;
}
