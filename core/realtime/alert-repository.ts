/**
 * Keyword alerts raised from interims, one item per occurrence (meetingId, alertKey). The put
 * is conditional, so however often the occurrence's interims are delivered (revisions, SQS
 * redelivery, two fan-out containers), exactly one of them raises it. Items expire after a
 * day: they matter only until the occurrence's final arrives.
 */
import { leanDynamo, PutCommand, QueryCommand } from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { isConditionalFailure } from '../meetings/repository';

export const ALERT_TTL_SECONDS = 24 * 3600;

export interface RaisedAlert {
  meetingId: string;
  /** `<seq, 10 digits>#<occurrence key>`: a seq's alerts share a prefix. */
  alertKey: string;
  alertId: string;
  keyword: string;
  occurrence: number;
  seq: number;
  raisedAt: string;
  expiresAt: number;
}

export function alertKey(seq: number, occurrenceKey: string): string {
  return `${String(seq).padStart(10, '0')}#${occurrenceKey}`;
}

export class AlertRepository {
  constructor(private readonly table: string = tableName('alerts')) {}

  /** Records a provisional alert; false when this occurrence was already raised. */
  async raise(alert: Omit<RaisedAlert, 'expiresAt' | 'raisedAt'>, now = new Date()): Promise<boolean> {
    try {
      await leanDynamo().send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...alert,
            raisedAt: now.toISOString(),
            expiresAt: Math.floor(now.getTime() / 1000) + ALERT_TTL_SECONDS,
          } satisfies RaisedAlert,
          ConditionExpression: 'attribute_not_exists(alertKey)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalFailure(error)) return false;
      throw error;
    }
  }

  /** The alerts raised from the interims of one utterance (seq). */
  async forSeq(meetingId: string, seq: number): Promise<RaisedAlert[]> {
    const items: RaisedAlert[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await leanDynamo().send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'meetingId = :m AND begins_with(alertKey, :p)',
          ExpressionAttributeValues: { ':m': meetingId, ':p': alertKey(seq, '') },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((out.Items ?? []) as RaisedAlert[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
