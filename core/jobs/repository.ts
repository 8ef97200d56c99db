/**
 * File transcription jobs in DynamoDB (stage, percent, ETA, checkpoint, result). Every write
 * the worker makes is conditional on the job not having ended, so a cancelled job is never
 * brought back by a late progress write, and the writer learns that it was cancelled.
 */
import { batchGetAll } from '../clients/dynamodb-batch';
import { GetCommand, leanDynamo, PutCommand, QueryCommand, UpdateCommand } from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { isConditionalFailure } from '../meetings/repository';
import { type Job, type JobStage, TERMINAL_JOB_STAGES } from './model';

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
   * the stages it may move from, and `owner` to the worker run holding the lease. Returns the job
   * after the write, or undefined when the job has ended (or is not in `from`, or `owner` no longer
   * holds it): the caller stops.
   */
  async update(
    jobId: string,
    fields: Partial<Omit<Job, 'jobId' | 'ownerId'>>,
    opts: { from?: readonly JobStage[]; remove?: readonly (keyof Job)[]; owner?: string } = {},
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
    if (opts.owner !== undefined) {
      // A worker run writes only while it holds the lease (claim).
      names['#c_leaseOwner'] = 'leaseOwner';
      values[':c_leaseOwner'] = opts.owner;
      condition += ' AND #c_leaseOwner = :c_leaseOwner';
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

  /**
   * A worker run takes the job with a lease until `lease.expiresAt` (epoch ms) and counts the
   * attempt, unless the job has ended or another run's lease has not yet expired (`now`).
   */
  async claim(
    jobId: string,
    lease: { owner: string; expiresAt: number },
    now: number = Date.now(),
  ): Promise<ClaimResult> {
    try {
      const out = await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { jobId },
          UpdateExpression:
            'SET updatedAt = :at, leaseOwner = :owner, leaseExpiresAt = :until ADD attempts :one',
          ConditionExpression: `attribute_exists(jobId) AND NOT (#stage IN (${ENDED.join(', ')})) AND (attribute_not_exists(leaseExpiresAt) OR leaseExpiresAt < :now OR leaseOwner = :owner)`,
          ExpressionAttributeNames: { '#stage': 'stage' },
          ExpressionAttributeValues: {
            ...ENDED_VALUES,
            ':at': new Date(now).toISOString(),
            ':now': now,
            ':owner': lease.owner,
            ':until': lease.expiresAt,
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { status: 'claimed', job: out.Attributes as Job };
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
      const job = await this.get(jobId);
      if (!job) return { status: 'missing' };
      if (TERMINAL_JOB_STAGES.has(job.stage)) return { status: 'ended' };
      return { status: 'leased', leaseExpiresAt: job.leaseExpiresAt ?? now };
    }
  }

  /** Extends the lease of `owner` (epoch ms); 'lost' when another run holds the job now. */
  async renewLease(jobId: string, owner: string, expiresAt: number): Promise<LeaseWrite> {
    const updated = await this.update(jobId, { leaseExpiresAt: expiresAt }, { owner });
    return updated ? 'renewed' : this.whyNotWritten(jobId, owner);
  }

  /** Why a write conditional on `owner`'s lease was refused: the job ended, or the lease is gone. */
  async whyNotWritten(jobId: string, owner: string): Promise<'ended' | 'lost'> {
    const job = await this.get(jobId);
    if (!job || TERMINAL_JOB_STAGES.has(job.stage)) return 'ended';
    return job.leaseOwner === owner ? 'ended' : 'lost';
  }
}

export type ClaimResult =
  | { status: 'claimed'; job: Job }
  /** Another run holds the job until then (epoch ms). */
  | { status: 'leased'; leaseExpiresAt: number }
  | { status: 'ended' }
  | { status: 'missing' };

export type LeaseWrite = 'renewed' | 'ended' | 'lost';
