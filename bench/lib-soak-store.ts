/**
 * What the emulated AWS holds (bench/soak.ts): items and their bytes per DynamoDB table, objects
 * and bytes in S3. The emulators run in the stack's process and keep this data in its memory
 * (dynalite in memory, s3rver on disk), so the stack's memory may grow with it; the soak compares
 * its growth with this data's growth to tell stored data from a leak.
 *
 * Bytes are the items' DynamoDB JSON (attribute names and values as the wire carries them), a
 * stand-in for DynamoDB's item size; dynalite keeps each item once per table and once more per
 * index it is projected into, as LevelDB values with their keys.
 */

import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { dynamo } from '../core/clients/dynamodb';
import { s3 } from '../core/clients/s3';
import { bucketName, tableName } from '../core/config';
import { BUCKETS, type BucketKey, TABLES, type TableKey } from '../core/resources';

export interface StoredData {
  tables: Record<string, { items: number; bytes: number }>;
  items: number;
  itemBytes: number;
  objects: number;
  objectBytes: number;
}

export async function storedData(): Promise<StoredData> {
  const tables: StoredData['tables'] = {};
  for (const key of Object.keys(TABLES) as TableKey[]) {
    let items = 0;
    let bytes = 0;
    let start: Record<string, never> | undefined;
    do {
      // The low-level client: items stay in DynamoDB JSON, whose length is the size we report.
      const page = await dynamo().send(
        new ScanCommand({ TableName: tableName(key), ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) bytes += Buffer.byteLength(JSON.stringify(item));
      items += page.Count ?? 0;
      start = page.LastEvaluatedKey as typeof start;
    } while (start);
    tables[key] = { items, bytes };
  }
  let objects = 0;
  let objectBytes = 0;
  for (const key of Object.keys(BUCKETS) as BucketKey[]) {
    for await (const page of paginateListObjectsV2({ client: s3() }, { Bucket: bucketName(key) })) {
      for (const o of page.Contents ?? []) {
        objects++;
        objectBytes += o.Size ?? 0;
      }
    }
  }
  const all = Object.values(tables);
  return {
    tables,
    items: all.reduce((n, t) => n + t.items, 0),
    itemBytes: all.reduce((n, t) => n + t.bytes, 0),
    objects,
    objectBytes,
  };
}

/** The stack's memory at one point (after a forced GC) and the data stored then. */
export interface MemoryAndStore {
  atS: number;
  heapUsedMb: number;
  externalMb: number;
  store: StoredData;
}

/**
 * What dynalite's in-memory store costs per byte of item data (DynamoDB JSON): each item's key and
 * value Buffers, their JS objects, its tree node, and its index entries. Measured 2.6 in the
 * 20 × 10 soak of 2 Dec (heap diff: 9.9 MB held under the store for 3.8 MB of segments).
 */
export const STORE_BYTES_PER_ITEM_BYTE = 3;
/** `external` after a forced GC moved by up to ±12 MB between samples of that soak (socket buffers). */
export const MEMORY_NOISE_MB = 16;

/**
 * Report lines: how much the stored data grew between two points, the stack's memory growth
 * per stored item and per stored byte over the same span, and the verdict: memory is flat when
 * the growth not explained by the stored data (at STORE_BYTES_PER_ITEM_BYTE) is within the noise.
 */
export function storeGrowthLines(base: MemoryAndStore, end: MemoryAndStore): string[] {
  const items = end.store.items - base.store.items;
  const bytes = end.store.itemBytes - base.store.itemBytes;
  const heap = end.heapUsedMb - base.heapUsedMb;
  const external = end.externalMb - base.externalMb;
  const grownBytes = (heap + external) * 1024 * 1024;
  const perTable = Object.entries(end.store.tables)
    .map(([name, t]) => `${name} +${t.items - (base.store.tables[name]?.items ?? 0)}`)
    .join(', ');
  const mb = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)} MB`;
  const unexplainedMb = heap + external - (STORE_BYTES_PER_ITEM_BYTE * bytes) / 1024 / 1024;
  const flat = unexplainedMb <= MEMORY_NOISE_MB;
  return [
    `- emulated AWS data from ${base.atS} s to ${end.atS} s: DynamoDB items ${base.store.items} → ${end.store.items} (+${items}: ${perTable}), ${mb(bytes / 1024 / 1024)} as DynamoDB JSON; S3 objects ${base.store.objects} → ${end.store.objects} (${mb((end.store.objectBytes - base.store.objectBytes) / 1024 / 1024)}, on disk)`,
    `- stack memory after GC over the same span: heap used ${mb(heap)}, external ${mb(external)}; ${
      grownBytes <= 0 || items <= 0 || bytes <= 0
        ? 'no growth per stored item'
        : `per DynamoDB item added ${(grownBytes / items / 1024).toFixed(2)} KB, per byte of item data ${(grownBytes / bytes).toFixed(1)}`
    }`,
    `- **memory verdict: ${flat ? 'flat' : 'NOT flat'}** — growth not explained by the stored data (${STORE_BYTES_PER_ITEM_BYTE} bytes of memory per byte of item data) ${mb(unexplainedMb)}, ${flat ? 'within' : 'over'} the ${MEMORY_NOISE_MB} MB noise band; \`--heap-snapshots\` and bench/heap-diff.ts say what holds it`,
  ];
}
