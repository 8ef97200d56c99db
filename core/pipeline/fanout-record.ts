/**
 * One SQS record of the transcript-events queue in the fan-out Lambda: parse it, hand it to
 * TranscriptFanout, and park it in the DLQ when it fails its last delivery.
 *
 * A record failing its last delivery is parked here and counts as handled: on a FIFO queue the
 * later records of its meeting are retried with it, and would otherwise reach their own last
 * delivery together with it and be dead-lettered although they are fine.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SendMessageCommandInput } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { parkRecord } from './dlq-park';
import { PipelineEventSchema } from './events';
import type { TranscriptFanout } from './transcript-fanout';

export type { FanoutMetric } from './dlq-park';

import type { FanoutMetric } from './dlq-park';

export interface FanoutRecordDeps {
  deadLetterQueueUrl: string;
  /** The queue's redrive maxReceiveCount: the delivery that reaches it is the last. */
  maxReceiveCount: number;
  /** Sends to SQS (core/clients/sqs.ts `sendMessage`). */
  send: (input: SendMessageCommandInput) => Promise<void>;
  count: (metric: FanoutMetric) => void;
  /** Called for each final delivered, with the time from its production (segment timestamp). */
  onFinal?: (latencyMs: number) => void;
  logger: Logger;
}

/** A record that can never be handled; it fails until it is parked. */
export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

export async function handleFanoutRecord(
  fanout: TranscriptFanout,
  record: SQSRecord,
  deps: FanoutRecordDeps,
): Promise<void> {
  try {
    const event = parseRecord(record, deps);
    // The record's id keys the shard messages it sends, so a redelivery re-sends the same ones.
    await fanout.handle(event, { id: record.messageId });
    if (event.type === 'transcript' && event.segment.isFinal) {
      const produced = Date.parse(event.segment.timestamp);
      if (Number.isFinite(produced)) deps.onFinal?.(Math.max(0, Date.now() - produced));
    }
  } catch (error) {
    const receives = Number(record.attributes.ApproximateReceiveCount);
    if (receives < deps.maxReceiveCount) throw error;
    await parkRecord(record, error, deps);
  }
}

function parseRecord(record: SQSRecord, deps: FanoutRecordDeps) {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    body = undefined;
  }
  const parsed = PipelineEventSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  deps.logger.error('malformed pipeline event', {
    messageId: record.messageId,
    issues: parsed.error.issues.slice(0, 3),
  });
  deps.count('MalformedEvents');
  throw new MalformedEventError(`message ${record.messageId} is not a pipeline event`);
}
