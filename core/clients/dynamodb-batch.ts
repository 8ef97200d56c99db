/**
 * BatchGetItem / BatchWriteItem through the process's lean DynamoDB client (./dynamodb-lean.ts), retrying what DynamoDB
 * leaves unprocessed (it does under throttling) with the backoff helper. What is still
 * unprocessed after the retries fails loudly with UnprocessedItemsError: never a silent drop.
 */
import { type BackoffOptions, retry } from '../backoff';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  leanDynamo,
  type WriteRequest,
} from './dynamodb-lean';

export type { WriteRequest } from './dynamodb-lean';

type Key = Record<string, unknown>;

/** Items DynamoDB did not process after every retry. */
export class UnprocessedItemsError extends Error {
  constructor(
    readonly operation: 'BatchGetItem' | 'BatchWriteItem',
    readonly table: string,
    readonly count: number,
  ) {
    super(`${operation} left ${count} item(s) of ${table} unprocessed after retries`);
    this.name = 'UnprocessedItemsError';
  }
}

/** Default: 6 attempts, 50 ms doubling to 1 s (about 2 s in all). */
export const BATCH_RETRY: BackoffOptions = { maxAttempts: 6, baseMs: 50, maxDelayMs: 1_000 };

const onlyUnprocessed = (error: unknown) => error instanceof UnprocessedItemsError;

/** Writes (puts/deletes) in chunks of 25. */
export async function batchWriteAll(
  table: string,
  requests: readonly WriteRequest[],
  policy: BackoffOptions = BATCH_RETRY,
): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25);
    await retry(
      async () => {
        const out: BatchWriteCommandOutput = await leanDynamo().send(
          new BatchWriteCommand({ RequestItems: { [table]: pending } }),
        );
        pending = out.UnprocessedItems?.[table] ?? [];
        if (pending.length > 0) throw new UnprocessedItemsError('BatchWriteItem', table, pending.length);
      },
      { ...policy, retryable: onlyUnprocessed },
    );
  }
}

/** Reads items by key in chunks of 100; the order of the result is not the order of the keys. */
export async function batchGetAll(
  table: string,
  keys: readonly Key[],
  options: { projection?: string; names?: Record<string, string> } = {},
  policy: BackoffOptions = BATCH_RETRY,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending = keys.slice(i, i + 100);
    await retry(
      async () => {
        const out: BatchGetCommandOutput = await leanDynamo().send(
          new BatchGetCommand({
            RequestItems: {
              [table]: {
                Keys: pending,
                ...(options.projection ? { ProjectionExpression: options.projection } : {}),
                ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
              },
            },
          }),
        );
        items.push(...(out.Responses?.[table] ?? []));
        pending = out.UnprocessedKeys?.[table]?.Keys ?? [];
        if (pending.length > 0) throw new UnprocessedItemsError('BatchGetItem', table, pending.length);
      },
      { ...policy, retryable: onlyUnprocessed },
    );
  }
  return items;
}
