/**
 * DynamoDB access for meetings. Every write that can be retried is idempotent or
 * conditional; nothing here uses transactions (dynalite lacks them).
 */
import { retry } from '../backoff';
import { batchGetAll } from '../clients/dynamodb-batch';
import {
  GetCommand,
  leanDynamo,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  ScanCommand,
  type ScanCommandOutput,
  UpdateCommand,
} from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { ConflictError, NotFoundError } from '../errors';
import type { DesiredState, Meeting, MeetingStatus } from './model';

/** Most commands (pause / resume / stop) one meeting accepts; far above any real meeting's. */
export const MAX_COMMANDS = 1_000;

/** What the audio gateway reads to follow a meeting's commands and status. */
export type ControlState = Pick<Meeting, 'meetingId' | 'status' | 'commandLog' | 'keywords' | 'language'>;

export class MeetingRepository {
  constructor(private readonly table: string = tableName('meetings')) {}

  async create(meeting: Meeting): Promise<void> {
    try {
      await leanDynamo().send(
        new PutCommand({
          TableName: this.table,
          Item: meeting,
          ConditionExpression: 'attribute_not_exists(meetingId)',
        }),
      );
    } catch (error) {
      if (isConditionalFailure(error)) throw new ConflictError(`Meeting ${meeting.meetingId} already exists`);
      throw error;
    }
  }

  async get(meetingId: string): Promise<Meeting | undefined> {
    const out = await leanDynamo().send(new GetCommand({ TableName: this.table, Key: { meetingId } }));
    return out.Item as Meeting | undefined;
  }

  async require(meetingId: string): Promise<Meeting> {
    const meeting = await this.get(meetingId);
    if (!meeting) throw new NotFoundError(`Meeting ${meetingId} not found`, 'MEETING_NOT_FOUND');
    return meeting;
  }

  /** Hands out `count` seqs and returns the first; unique and increasing across processes. */
  async reserveSeqs(meetingId: string, count = 1): Promise<number> {
    try {
      const out = await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression: 'ADD seqCounter :n',
          ConditionExpression: 'attribute_exists(meetingId)',
          ExpressionAttributeValues: { ':n': count },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(out.Attributes?.seqCounter) - count + 1;
    } catch (error) {
      if (isConditionalFailure(error))
        throw new NotFoundError(`Meeting ${meetingId} not found`, 'MEETING_NOT_FOUND');
      throw error;
    }
  }

  /**
   * Gives back `from`…`seq`, the last ones reserved, if nobody has reserved after them (a
   * session that stops gracefully returns what it reserved and did not use, so the next session
   * continues without a gap). Returns whether they were given back.
   */
  async releaseSeq(meetingId: string, seq: number, from = seq): Promise<boolean> {
    try {
      await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression: 'SET seqCounter = :previous',
          ConditionExpression: 'seqCounter = :seq',
          ExpressionAttributeValues: { ':seq': seq, ':previous': from - 1 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Marks the meeting as being handed over by a stopping task until `untilMs` (epoch ms): the
   * next task's session holds its events until the mark is cleared (or expires), so the old
   * task's last finals come first.
   */
  async setHandover(meetingId: string, untilMs: number): Promise<void> {
    await leanDynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId },
        UpdateExpression: 'SET handoverUntil = :u',
        ConditionExpression: 'attribute_exists(meetingId)',
        ExpressionAttributeValues: { ':u': untilMs },
      }),
    );
  }

  async clearHandover(meetingId: string): Promise<void> {
    await leanDynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId },
        UpdateExpression: 'REMOVE handoverUntil',
        ConditionExpression: 'attribute_exists(meetingId)',
      }),
    );
  }

  /** Sets the status and returns the new status epoch (for the event's deduplication id). */
  async setStatus(meetingId: string, status: MeetingStatus, now = new Date()): Promise<number> {
    const ended = status === 'ended' || status === 'failed';
    const out = await leanDynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId },
        UpdateExpression: `SET #status = :status, updatedAt = :now${ended ? ', endedAt = if_not_exists(endedAt, :now)' : ''} ADD statusEpoch :one`,
        ConditionExpression: 'attribute_exists(meetingId)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':now': now.toISOString(), ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.statusEpoch ?? 0);
  }

  /**
   * Sets the status only if the current one is in `from` (a conditional write, so a late or
   * out-of-order signal cannot move a meeting backwards). Returns the new status epoch, or
   * undefined when the meeting was not in one of those statuses.
   */
  async setStatusIf(
    meetingId: string,
    status: MeetingStatus,
    from: readonly MeetingStatus[],
    now = new Date(),
  ): Promise<number | undefined> {
    if (from.length === 0) return undefined;
    const ended = status === 'ended' || status === 'failed';
    const names = from.map((_, i) => `:from${i}`);
    try {
      const out = await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression: `SET #status = :status, updatedAt = :now${ended ? ', endedAt = if_not_exists(endedAt, :now)' : ''} ADD statusEpoch :one`,
          ConditionExpression: `attribute_exists(meetingId) AND #status IN (${names.join(', ')})`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': status,
            ':now': now.toISOString(),
            ':one': 1,
            ...Object.fromEntries(from.map((value, i) => [names[i], value])),
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(out.Attributes?.statusEpoch ?? 0);
    } catch (error) {
      if (isConditionalFailure(error)) return undefined;
      throw error;
    }
  }

  async setBot(meetingId: string, botId: string): Promise<void> {
    await leanDynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId },
        UpdateExpression: 'SET botId = :b, updatedAt = :now',
        ConditionExpression: 'attribute_exists(meetingId)',
        ExpressionAttributeValues: { ':b': botId, ':now': new Date().toISOString() },
      }),
    );
  }

  /**
   * Appends a transition to the meeting's command log (and keeps `desiredState`, the latest one,
   * for readers). The audio gateway applies the log in order and acknowledges with
   * `ackCommands`. At most MAX_COMMANDS per meeting.
   */
  async appendCommand(meetingId: string, transition: DesiredState, now = new Date()): Promise<number> {
    try {
      const out = await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression:
            'SET commandLog = list_append(if_not_exists(commandLog, :empty), :entry), desiredState = :d, updatedAt = :now',
          ConditionExpression:
            'attribute_exists(meetingId) AND (attribute_not_exists(commandLog) OR size(commandLog) < :max)',
          ExpressionAttributeValues: {
            ':empty': [],
            ':entry': [transition],
            ':d': transition,
            ':now': now.toISOString(),
            ':max': MAX_COMMANDS,
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return (out.Attributes?.commandLog as unknown[] | undefined)?.length ?? 0;
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
      await this.require(meetingId);
      throw new ConflictError(`A meeting takes at most ${MAX_COMMANDS} commands`, 'INVALID_STATE');
    }
  }

  /** Records that the audio gateway has applied the first `count` commands (never lowers it). */
  async ackCommands(meetingId: string, count: number): Promise<void> {
    await this.raise(meetingId, 'commandsApplied', count);
  }

  async configure(meetingId: string, config: { keywords?: string[]; language?: string }): Promise<void> {
    const sets: string[] = ['updatedAt = :now'];
    const values: Record<string, unknown> = { ':now': new Date().toISOString() };
    if (config.keywords) {
      sets.push('keywords = :k');
      values[':k'] = config.keywords;
    }
    if (config.language) {
      sets.push('#language = :l');
      values[':l'] = config.language;
    }
    await leanDynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(meetingId)',
        ...(config.language ? { ExpressionAttributeNames: { '#language': 'language' } } : {}),
        ExpressionAttributeValues: values,
      }),
    );
  }

  /**
   * Takes the meeting's next subscription slot (0, 1, 2, …; `ADD subscriptionSlots`), from which
   * a subscription's fan-out shard is `floor(slot / shard size)`: a shard never exceeds its size.
   */
  async takeSubscriptionSlot(meetingId: string): Promise<number> {
    const out = await leanDynamo().send(
      new UpdateCommand({
        TableName: this.table,
        Key: { meetingId },
        UpdateExpression: 'ADD subscriptionSlots :one',
        ConditionExpression: 'attribute_exists(meetingId)',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.subscriptionSlots) - 1;
  }

  /**
   * The fan-out's delivered mark for final `seq`, written once the final is posted: raises
   * lastSeq to `seq` and lastFinalEndMs to `endMs`, never lowering either (a recovered final has
   * a newer seq than its time). One write; a second only when one of the two moves on and the
   * other does not: a recovered final raises the seq alone, and a final whose seq is not above
   * lastSeq (it reached the fan-out out of order: the next task's finals below a stopping task's
   * late seq, a DLQ redrive) raises the end alone when its audio ends later, so the lost-span
   * recovery does not re-transcribe what is stored. Returns whether lastSeq moved to `seq`.
   */
  async advanceLastSeq(meetingId: string, seq: number, endMs?: number): Promise<boolean> {
    const raiseSeq = 'attribute_exists(meetingId) AND (attribute_not_exists(lastSeq) OR lastSeq < :seq)';
    try {
      await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression:
            endMs === undefined ? 'SET lastSeq = :seq' : 'SET lastSeq = :seq, lastFinalEndMs = :end',
          ConditionExpression:
            endMs === undefined
              ? raiseSeq
              : `${raiseSeq} AND (attribute_not_exists(lastFinalEndMs) OR lastFinalEndMs < :end)`,
          ExpressionAttributeValues: endMs === undefined ? { ':seq': seq } : { ':seq': seq, ':end': endMs },
          // Why it failed, at no read cost: a second write only for the one of the two that moves on.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
      if (endMs === undefined) return false;
      const old = (error as { Item?: { lastSeq?: unknown; lastFinalEndMs?: unknown } }).Item;
      // Emulators may not return the old item: then each is tried alone.
      const seqBehind = old === undefined || Number(old.lastSeq ?? 0) < seq;
      if (seqBehind && (await this.advanceLastSeq(meetingId, seq))) return true;
      if (old === undefined || Number(old.lastFinalEndMs ?? 0) < endMs)
        await this.raise(meetingId, 'lastFinalEndMs', endMs);
      return false;
    }
  }

  /** Raises a numeric attribute to `value`, never lowering it (nothing when the meeting is gone). */
  private async raise(
    meetingId: string,
    attribute: 'commandsApplied' | 'lastFinalEndMs',
    value: number,
  ): Promise<void> {
    try {
      await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression: 'SET #a = :v',
          ConditionExpression: 'attribute_exists(meetingId) AND (attribute_not_exists(#a) OR #a < :v)',
          ExpressionAttributeNames: { '#a': attribute },
          ExpressionAttributeValues: { ':v': value },
        }),
      );
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
    }
  }

  /**
   * The meeting's lastSeq, read strongly consistent (only the attribute): the fan-out asks when a
   * final it is handed was stored before, to tell a redelivery of a posted final (seq ≤ lastSeq)
   * from one whose post never finished. 0 when the meeting has none (or is gone).
   */
  async deliveredThrough(meetingId: string): Promise<number> {
    const out = await leanDynamo().send(
      new GetCommand({
        TableName: this.table,
        Key: { meetingId },
        ProjectionExpression: 'lastSeq',
        ConsistentRead: true,
      }),
    );
    return Number(out.Item?.lastSeq ?? 0);
  }

  /**
   * One page of an owner's meetings, newest first; `cursor` is DynamoDB's LastEvaluatedKey. The
   * byOwner index holds keys only (core/resources.ts: a meeting is updated once per final, and
   * an index projecting every attribute was rewritten each time), so the page's meetings are
   * then read from the table, in the index's order; one deleted meanwhile is left out.
   */
  async listByOwner(
    ownerId: string,
    opts: { limit?: number; cursor?: Record<string, unknown> } = {},
  ): Promise<{ items: Meeting[]; cursor?: Record<string, unknown> }> {
    const out: QueryCommandOutput = await leanDynamo().send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byOwner',
        KeyConditionExpression: 'ownerId = :o',
        ExpressionAttributeValues: { ':o': ownerId },
        ScanIndexForward: false,
        Limit: opts.limit ?? 20,
        ExclusiveStartKey: opts.cursor,
      }),
    );
    const ids = (out.Items ?? []).map((k) => String(k.meetingId));
    const byId = new Map((await this.getMany(ids)).map((m) => [m.meetingId, m]));
    const items = ids.flatMap((id) => {
      const meeting = byId.get(id);
      return meeting ? [meeting] : [];
    });
    return { items, cursor: out.LastEvaluatedKey };
  }

  /** The meeting whose Recall bot is `botId` (byBot index), if any. */
  async findByBot(botId: string): Promise<Meeting | undefined> {
    const out: QueryCommandOutput = await leanDynamo().send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byBot',
        KeyConditionExpression: 'botId = :b',
        ExpressionAttributeValues: { ':b': botId },
        Limit: 1,
      }),
    );
    const found = out.Items?.[0] as Meeting | undefined;
    // The index is eventually consistent: read the item itself for current state.
    return found ? this.get(found.meetingId) : undefined;
  }

  /** Adds `userId` to the readers of a meeting. Idempotent; returns the readers afterwards. */
  async share(meetingId: string, userId: string, maxShares: number, now = new Date()): Promise<string[]> {
    try {
      const out = await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression:
            'SET sharedWith = list_append(if_not_exists(sharedWith, :empty), :user), updatedAt = :now',
          ConditionExpression:
            'attribute_exists(meetingId) AND (attribute_not_exists(sharedWith) OR (NOT contains(sharedWith, :id) AND size(sharedWith) < :max))',
          ExpressionAttributeValues: {
            ':empty': [],
            ':user': [userId],
            ':id': userId,
            ':max': maxShares,
            ':now': now.toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return (out.Attributes?.sharedWith as string[] | undefined) ?? [userId];
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
      const meeting = await this.require(meetingId);
      const readers = meeting.sharedWith ?? [];
      if (readers.includes(userId)) return readers;
      throw new ConflictError(`A meeting can be shared with at most ${maxShares} users`, 'TOO_MANY_SHARES');
    }
  }

  /** Removes `userId` from the readers of a meeting. Idempotent; returns the readers afterwards. */
  async unshare(meetingId: string, userId: string, now = new Date()): Promise<string[]> {
    const attempt = async (): Promise<string[]> => {
      const meeting = await this.require(meetingId);
      const readers = meeting.sharedWith ?? [];
      const index = readers.indexOf(userId);
      if (index < 0) return readers;
      await leanDynamo().send(
        new UpdateCommand({
          TableName: this.table,
          Key: { meetingId },
          UpdateExpression: `REMOVE sharedWith[${index}] SET updatedAt = :now`,
          // The list may have changed since it was read: remove only the entry that was read.
          ConditionExpression: `sharedWith[${index}] = :id`,
          ExpressionAttributeValues: { ':id': userId, ':now': now.toISOString() },
        }),
      );
      return readers.filter((reader) => reader !== userId);
    };
    try {
      // Optimistic concurrency: a lost race reads the list again at once, five tries in all.
      return await retry(attempt, {
        maxAttempts: 5,
        baseMs: 0,
        jitter: 'none',
        retryable: isConditionalFailure,
      });
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
      throw new ConflictError(
        'The meeting changed while it was being updated; try again',
        'CONCURRENT_UPDATE',
      );
    }
  }

  /**
   * Meetings in `status` whose last update is older than `before`: a paged Scan (no index serves
   * it; the sweeper runs it every few minutes), at most `maxPages` pages per call.
   */
  async findStale(
    status: MeetingStatus,
    before: Date,
    maxPages: number,
  ): Promise<{ meetingIds: string[]; complete: boolean }> {
    const meetingIds: string[] = [];
    let cursor: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const out: ScanCommandOutput = await leanDynamo().send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: '#status = :status AND updatedAt < :before',
          ProjectionExpression: 'meetingId',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status, ':before': before.toISOString() },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of out.Items ?? []) meetingIds.push(String(item.meetingId));
      cursor = out.LastEvaluatedKey;
      pages++;
    } while (cursor && pages < maxPages);
    return { meetingIds, complete: cursor === undefined };
  }

  /** The meetings of `meetingIds` that exist (BatchGetItem, 100 keys a call), in no order. */
  async getMany(meetingIds: readonly string[]): Promise<Meeting[]> {
    if (meetingIds.length === 0) return [];
    const items = await batchGetAll(
      this.table,
      [...new Set(meetingIds)].map((meetingId) => ({ meetingId })),
    );
    return items as unknown as Meeting[];
  }

  /**
   * What the live sessions need to follow commands: one BatchGet per 100 meetings. Keys left
   * unprocessed are retried; still unprocessed, it throws UnprocessedItemsError.
   */
  async getControlStates(meetingIds: readonly string[]): Promise<Map<string, ControlState>> {
    const result = new Map<string, ControlState>();
    const items = await batchGetAll(
      this.table,
      meetingIds.map((meetingId) => ({ meetingId })),
      {
        projection: 'meetingId, commandLog, #status, keywords, #language',
        names: { '#status': 'status', '#language': 'language' },
      },
    );
    for (const item of items) result.set(String(item.meetingId), item as unknown as ControlState);
    return result;
  }
}

export function isConditionalFailure(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}
