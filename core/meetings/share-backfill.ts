/**
 * One-off backfill of the shares table from the meetings' own `sharedWith` lists.
 *
 * Before the shares table existed, a share was only the reader's id in the meeting item's
 * `sharedWith` (still the authority for access). `GET /meetings` now finds the meetings shared
 * with a user in the shares table, so a meeting shared before it existed is readable by its
 * reader but not listed until it is shared again. This writes the missing share items.
 *
 * - Reads the meetings table with one paged Scan (only items with a non-empty `sharedWith`,
 *   projected to the four attributes needed): an operator's one-off, never a request path.
 * - Writes each share with `attribute_not_exists`, so a share the routes already recorded keeps
 *   its `sharedAt`, and running it again (or after a crash midway) writes nothing twice.
 * - A meeting unshared between the scan and the write leaves a share item behind; listings
 *   check the meeting itself, so it is never shown (as after a failed unshare: see
 *   share-repository.ts).
 */
import {
  GetCommand,
  leanDynamo,
  PutCommand,
  ScanCommand,
  type ScanCommandOutput,
} from '../clients/dynamodb-lean';
import { tableName } from '../config';
import { isConditionalFailure } from './repository';
import { type ShareItem, shareKey } from './share-repository';

export interface BackfillOptions {
  meetingsTable?: string;
  sharesTable?: string;
  /** Count what would be written, write nothing. */
  dryRun?: boolean;
  /** Items per Scan page (before the filter). */
  pageSize?: number;
  /** Called after every Scan page (progress for the operator). */
  onPage?: (report: BackfillReport) => void;
}

export interface BackfillReport {
  /** Meeting items the Scan read (every item, before the filter). */
  scanned: number;
  /** Meetings with at least one reader in `sharedWith`. */
  sharedMeetings: number;
  /** Share items written (or, in a dry run, missing). */
  created: number;
  /** Share items that were already there. */
  existing: number;
  /** `sharedWith` entries that are not user ids (not strings, or empty): skipped. */
  skipped: number;
}

interface SharedMeetingItem {
  meetingId: string;
  ownerId: string;
  createdAt: string;
  sharedWith: unknown;
}

export async function backfillShares(opts: BackfillOptions = {}): Promise<BackfillReport> {
  const meetingsTable = opts.meetingsTable ?? tableName('meetings');
  const sharesTable = opts.sharesTable ?? tableName('shares');
  const report: BackfillReport = { scanned: 0, sharedMeetings: 0, created: 0, existing: 0, skipped: 0 };
  const now = new Date().toISOString();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page: ScanCommandOutput = await leanDynamo().send(
      new ScanCommand({
        TableName: meetingsTable,
        FilterExpression: 'size(sharedWith) > :zero',
        ProjectionExpression: 'meetingId, ownerId, createdAt, sharedWith',
        ExpressionAttributeValues: { ':zero': 0 },
        Limit: opts.pageSize ?? 500,
        ExclusiveStartKey: startKey,
      }),
    );
    report.scanned += page.ScannedCount ?? 0;
    for (const meeting of (page.Items ?? []) as SharedMeetingItem[]) {
      if (!Array.isArray(meeting.sharedWith)) continue;
      report.sharedMeetings++;
      for (const readerId of meeting.sharedWith) {
        if (typeof readerId !== 'string' || readerId.length === 0) {
          report.skipped++;
          continue;
        }
        const item: ShareItem = {
          readerId,
          meetingKey: shareKey(meeting),
          meetingId: meeting.meetingId,
          ownerId: meeting.ownerId,
          meetingCreatedAt: meeting.createdAt,
          sharedAt: now,
        };
        if (opts.dryRun) {
          if (await shareExists(sharesTable, item)) report.existing++;
          else report.created++;
          continue;
        }
        try {
          await leanDynamo().send(
            new PutCommand({
              TableName: sharesTable,
              Item: item,
              ConditionExpression: 'attribute_not_exists(readerId)',
            }),
          );
          report.created++;
        } catch (error) {
          if (!isConditionalFailure(error)) throw error;
          report.existing++;
        }
      }
    }
    opts.onPage?.({ ...report });
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return report;
}

async function shareExists(table: string, item: ShareItem): Promise<boolean> {
  const out = await leanDynamo().send(
    new GetCommand({
      TableName: table,
      Key: { readerId: item.readerId, meetingKey: item.meetingKey },
      ProjectionExpression: 'readerId',
    }),
  );
  return out.Item !== undefined;
}
