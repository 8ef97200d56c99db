/**
 * File transcription jobs in DynamoDB (stage, percent, ETA, checkpoint, result). Every write
 * the worker makes is conditional on the job not having ended, so a cancelled job is never
 * brought back by a late progress write, and the writer learns that it was cancelled.
 */
import { batchGetAll } from '../clients/dynamodb-batch';
import { GetCommand, leanDynamo, PutCommand, QueryCommand, UpdateCommand } from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { isConditionalFailure } from '../meetings/repository';
import type { Job, JobStage } from './model';

export type { Job } from './model';

const ENDED = [':complete', ':failed', ':cancelled'];
const ENDED_VALUES = { ':complete': 'complete', ':failed': 'failed', ':cancelled': 'cancelled' };

export class JobRepository {
  constructor(private readonly table: string = tableName('jobs')) {}

  async create(job: Job): Promise<void> {
    await leanDynamo().send(
      new PutCommand({
        TableName: this.table,
        Item: job,
        ConditionExpression: 'attribute_not_exists(jobId)',
      }),
    );
  }

  async get(jobId: string): Promise<Job | undefined> {
    const out = await leanDynamo().send(new GetCommand({ TableName: this.table, Key: { jobId } }));
    const job = out.Item as Job | undefined;
    // TTL deletion is lazy (and dynalite never deletes): an expired job is gone.
    if (job && job.expiresAt < Date.now() / 1000) return undefined;
    return job;
  }

  /** The owner's jobs, newest first (byOwner index). */
  async listByOwner(
    ownerId: string,
    opts: { limit: number; cursor?: Record<string, unknown> },
  ): Promise<{ items: Job[]; cursor?: Record<string, unknown> }> {
    const out = await leanDynamo().send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byOwner',
        KeyConditionExpression: 'ownerId = :o',
        ExpressionAttributeValues: { ':o': ownerId },
        ScanIndexForward: false,
        Limit: opts.limit,
        ExclusiveStartKey: opts.cursor,
      }),
    );
    // The byOwner index holds keys only (core/resources.ts: a running job is updated every
    // progress tick); the page's jobs are read from the table, in the index's order.
    const ids = (out.Items ?? []).map((k) => String(k.jobId));
    const found =
      ids.length === 0
        ? []
        : ((await batchGetAll(
            this.table,
            ids.map((jobId) => ({ jobId })),
          )) as unknown as Job[]);
    const byId = new Map(found.map((j) => [j.jobId, j]));
    const now = Date.now() / 1000;
    return {
      items: ids.flatMap((id) => {
        const job = byId.get(id);
        return job && job.expiresAt >= now ? [job] : [];
      }),
      cursor: out.LastEvaluatedKey,
    };
  }

  /**
   * Sets fields (and optionally the stage) while the job has not ended; `from` further limits
   * the stages it may move from. Returns the job after the write, or undefined when the job has
   * ended (or is not in `from`): the caller stops.
   */
  async update(
    jobId: string,
    fields: Partial<Omit<Job, 'jobId' | 'ownerId'>>,
    opts: { from?: readonly JobStage[]; remove?: readonly (keyof Job)[] } = {},
  ): Promise<Job | undefined> {
    const names: Record<string, string> = { '#stage': 'stage' };
    const values: Record<string, unknown> = { ...ENDED_VALUES };
    const sets: string[] = [];
    for (const [key, value] of Object.entries({ updatedAt: new Date().toISOString(), ...fields })) {
      if (value === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    let condition = `attribute_exists(jobId) AND NOT (#stage IN (${ENDED.join(', ')}))`;
    if (opts.from && opts.from.length > 0) {
      const from = opts.from.map((stage, i) => {
        values[`:from${i}`] = stage;
        return `:from${i}`;
      });
      condition += ` AND #stage IN (${from.join(', ')})`;
    }
    const removes = (opts.remove ?? []).map((key) => {
      names[`#r_${String(key)}`] = String(key);
      return `#r_${String(key)}`;
    });
    try {
      const out = await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { jobId },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as Job;
    } catch (error) {
      if (isConditionalFailure(error)) return undefined;
      throw error;
    }
  }

  /** A worker takes the job: counts the attempt. Undefined when the job has ended. */
  async claim(jobId: string): Promise<Job | undefined> {
    try {
      const out = await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { jobId },
          UpdateExpression: 'SET updatedAt = :now ADD attempts :one',
          ConditionExpression: `attribute_exists(jobId) AND NOT (#stage IN (${ENDED.join(', ')}))`,
          ExpressionAttributeNames: { '#stage': 'stage' },
          ExpressionAttributeValues: { ...ENDED_VALUES, ':now': new Date().toISOString(), ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as Job;
    } catch (error) {
      if (isConditionalFailure(error)) return undefined;
      throw error;
    }
  }
}
