/**
 * Local stand-in for an S3 event notification to SQS: s3rver's object events for one bucket
 * and key prefix, sent to a local queue with the body S3 sends (`{ Records: [...] }`, the key
 * URL-encoded with spaces as '+'). On AWS the bucket's notification configuration does this
 * (lib/constructs/file-jobs.ts). docs/local-mode.md lists how the two differ.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface S3NotificationOptions {
  events: EventEmitter;
  sqs: SQSClient;
  queueUrl: string;
  bucket: string;
  /** Only keys under this prefix (the notification's filter). */
  prefix: string;
  logger: Logger;
}

interface S3rverRecord {
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string } };
}

/** S3 URL-encodes keys in notifications (spaces as '+', '/' kept). */
export function encodeNotificationKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

export function forwardS3Notifications(opts: S3NotificationOptions): { stop(): Promise<void> } {
  const inFlight = new Set<Promise<void>>();
  const listener = (event: { Records?: S3rverRecord[] }) => {
    const records = (event.Records ?? []).filter(
      (r) =>
        r.eventName?.startsWith('ObjectCreated:') &&
        r.s3?.bucket?.name === opts.bucket &&
        typeof r.s3.object?.key === 'string' &&
        r.s3.object.key.startsWith(opts.prefix),
    );
    for (const record of records) {
      const body = {
        Records: [
          {
            ...record,
            eventSource: 'aws:s3',
            s3: {
              ...record.s3,
              object: { ...record.s3?.object, key: encodeNotificationKey(record.s3?.object?.key as string) },
            },
          },
        ],
      };
      const sending = opts.sqs
        .send(new SendMessageCommand({ QueueUrl: opts.queueUrl, MessageBody: JSON.stringify(body) }))
        .then(
          () => undefined,
          (error: unknown) => opts.logger.error('S3 notification not delivered', { error: String(error) }),
        );
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
    }
  };
  opts.events.on('event', listener);
  return {
    async stop() {
      opts.events.off('event', listener);
      await Promise.all(inFlight);
    },
  };
}
