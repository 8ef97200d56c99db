/**
 * Parley's DynamoDB client without the AWS SDK: the eight operations the repositories use
 * (GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan, BatchGetItem, BatchWriteItem) as
 * signed JSON requests (./aws-json.ts), with the document client's conversion of plain values
 * (./dynamodb-marshall.ts). Loading it costs a few ms where the SDK's DynamoDB and document
 * clients cost ~100 ms of a Lambda's cold start (docs/benchmarks.md).
 *
 * The commands keep the SDK document client's names and input shapes
 * (`leanDynamo().send(new PutCommand({ TableName, Item, ConditionExpression }))`), so a
 * repository moved from the SDK changed its imports only. Errors keep the SDK's names
 * (`ConditionalCheckFailedException`, …, see ./aws-json.ts); a failed condition with
 * `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'` carries the old item, converted, as `Item`.
 * Retries: throttling, 5xx and network failures, 5 attempts (core/backoff.ts).
 */
import { type AwsJsonClient, AwsServiceError, configuredJsonClient } from './aws-json';
import { type AttributeMap, marshall, unmarshall } from './dynamodb-marshall';
import { lazyClient } from './lifecycle';

/** What an item reads back as: any attribute, as the SDK's document client types it. */
// biome-ignore lint/suspicious/noExplicitAny: the SDK's NativeAttributeValue is `any` too; callers cast to their model.
type Item = Record<string, any>;
type Names = Record<string, string>;

interface Expressions {
  ExpressionAttributeNames?: Names;
  ExpressionAttributeValues?: Item;
}

export interface GetCommandInput {
  TableName: string;
  Key: Item;
  ConsistentRead?: boolean;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Names;
}
export interface PutCommandInput extends Expressions {
  TableName: string;
  /** Any plain object (a model interface needs no index signature). */
  Item: object;
  ConditionExpression?: string;
  ReturnValues?: 'NONE' | 'ALL_OLD';
  ReturnValuesOnConditionCheckFailure?: 'NONE' | 'ALL_OLD';
}
export interface UpdateCommandInput extends Expressions {
  TableName: string;
  Key: Item;
  UpdateExpression: string;
  ConditionExpression?: string;
  ReturnValues?: 'NONE' | 'ALL_OLD' | 'UPDATED_OLD' | 'ALL_NEW' | 'UPDATED_NEW';
  ReturnValuesOnConditionCheckFailure?: 'NONE' | 'ALL_OLD';
}
export interface DeleteCommandInput extends Expressions {
  TableName: string;
  Key: Item;
  ConditionExpression?: string;
  ReturnValues?: 'NONE' | 'ALL_OLD';
}
export interface QueryCommandInput extends Expressions {
  TableName: string;
  IndexName?: string;
  KeyConditionExpression: string;
  FilterExpression?: string;
  ProjectionExpression?: string;
  ExclusiveStartKey?: Item;
  Limit?: number;
  ScanIndexForward?: boolean;
  ConsistentRead?: boolean;
}
export interface ScanCommandInput extends Expressions {
  TableName: string;
  IndexName?: string;
  FilterExpression?: string;
  ProjectionExpression?: string;
  ExclusiveStartKey?: Item;
  Limit?: number;
  ConsistentRead?: boolean;
}
export interface BatchGetCommandInput {
  RequestItems: Record<
    string,
    {
      Keys: Item[];
      ProjectionExpression?: string;
      ExpressionAttributeNames?: Names;
      ConsistentRead?: boolean;
    }
  >;
}
export type WriteRequest = { PutRequest: { Item: object } } | { DeleteRequest: { Key: Item } };
export interface BatchWriteCommandInput {
  RequestItems: Record<string, WriteRequest[]>;
}

export interface GetCommandOutput {
  Item?: Item;
}
export interface AttributesOutput {
  Attributes?: Item;
}
export interface QueryCommandOutput {
  Items?: Item[];
  Count?: number;
  ScannedCount?: number;
  LastEvaluatedKey?: Item;
}
export type ScanCommandOutput = QueryCommandOutput;
export interface BatchGetCommandOutput {
  Responses?: Record<string, Item[]>;
  UnprocessedKeys?: BatchGetCommandInput['RequestItems'];
}
export interface BatchWriteCommandOutput {
  UnprocessedItems?: Record<string, WriteRequest[]>;
}

/** One operation's input and, as a type only, its output. */
abstract class Command<Input, Output> {
  declare readonly output: Output;
  abstract readonly operation: string;
  constructor(readonly input: Input) {}
}
export class GetCommand extends Command<GetCommandInput, GetCommandOutput> {
  readonly operation = 'GetItem';
}
export class PutCommand extends Command<PutCommandInput, AttributesOutput> {
  readonly operation = 'PutItem';
}
export class UpdateCommand extends Command<UpdateCommandInput, AttributesOutput> {
  readonly operation = 'UpdateItem';
}
export class DeleteCommand extends Command<DeleteCommandInput, AttributesOutput> {
  readonly operation = 'DeleteItem';
}
export class QueryCommand extends Command<QueryCommandInput, QueryCommandOutput> {
  readonly operation = 'Query';
}
export class ScanCommand extends Command<ScanCommandInput, ScanCommandOutput> {
  readonly operation = 'Scan';
}
export class BatchGetCommand extends Command<BatchGetCommandInput, BatchGetCommandOutput> {
  readonly operation = 'BatchGetItem';
}
export class BatchWriteCommand extends Command<BatchWriteCommandInput, BatchWriteCommandOutput> {
  readonly operation = 'BatchWriteItem';
}

const mapIfSet = (value: Item | undefined) => (value === undefined ? undefined : marshall(value));
const unmapIfSet = (value: AttributeMap | undefined) => (value === undefined ? undefined : unmarshall(value));

/** The wire form of an input: plain values → attribute values where DynamoDB wants them. */
function toWire(operation: string, input: Record<string, unknown>): Record<string, unknown> {
  const wire: Record<string, unknown> = { ...input };
  for (const field of ['Key', 'Item', 'ExpressionAttributeValues', 'ExclusiveStartKey'] as const) {
    if (input[field] !== undefined) wire[field] = mapIfSet(input[field] as Item);
  }
  if (operation === 'BatchGetItem') {
    const requests = input.RequestItems as BatchGetCommandInput['RequestItems'];
    wire.RequestItems = Object.fromEntries(
      Object.entries(requests).map(([table, r]) => [table, { ...r, Keys: r.Keys.map((k) => marshall(k)) }]),
    );
  } else if (operation === 'BatchWriteItem') {
    const requests = input.RequestItems as BatchWriteCommandInput['RequestItems'];
    wire.RequestItems = Object.fromEntries(
      Object.entries(requests).map(([table, list]) => [table, list.map(writeToWire)]),
    );
  }
  return wire;
}

function writeToWire(request: WriteRequest): unknown {
  return 'PutRequest' in request
    ? { PutRequest: { Item: marshall(request.PutRequest.Item as Item) } }
    : { DeleteRequest: { Key: marshall(request.DeleteRequest.Key) } };
}

function writeFromWire(request: {
  PutRequest?: { Item: AttributeMap };
  DeleteRequest?: { Key: AttributeMap };
}): WriteRequest {
  return request.PutRequest
    ? { PutRequest: { Item: unmarshall(request.PutRequest.Item) } }
    : { DeleteRequest: { Key: unmarshall(request.DeleteRequest?.Key ?? {}) } };
}

/** An answer with attribute values → plain values. */
function fromWire(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const field of ['Item', 'Attributes', 'LastEvaluatedKey'] as const) {
    if (raw[field] !== undefined) out[field] = unmapIfSet(raw[field] as AttributeMap);
  }
  if (Array.isArray(raw.Items)) out.Items = (raw.Items as AttributeMap[]).map((i) => unmarshall(i));
  if (raw.Responses) {
    out.Responses = Object.fromEntries(
      Object.entries(raw.Responses as Record<string, AttributeMap[]>).map(([t, items]) => [
        t,
        items.map((i) => unmarshall(i)),
      ]),
    );
  }
  if (raw.UnprocessedKeys) {
    out.UnprocessedKeys = Object.fromEntries(
      Object.entries(raw.UnprocessedKeys as Record<string, { Keys: AttributeMap[] }>).map(([t, r]) => [
        t,
        { ...r, Keys: r.Keys.map((k) => unmarshall(k)) },
      ]),
    );
  }
  if (raw.UnprocessedItems) {
    out.UnprocessedItems = Object.fromEntries(
      Object.entries(raw.UnprocessedItems as Record<string, Parameters<typeof writeFromWire>[0][]>).map(
        ([t, list]) => [t, list.map(writeFromWire)],
      ),
    );
  }
  return out;
}

export class LeanDynamoClient {
  constructor(private readonly client: AwsJsonClient) {}

  async send<I, O>(command: Command<I, O>, options: { abortSignal?: AbortSignal } = {}): Promise<O> {
    try {
      const raw = await this.client.call<Record<string, unknown>>(
        command.operation,
        toWire(command.operation, command.input as Record<string, unknown>),
        options,
      );
      return fromWire(raw) as O;
    } catch (error) {
      // The old item of a failed condition, converted, where the SDK's exception keeps it.
      if (error instanceof AwsServiceError && error.details.Item !== undefined) {
        Object.assign(error, { Item: unmarshall(error.details.Item as AttributeMap) });
      }
      throw error;
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** The one lean DynamoDB client of this process; local mode only changes its endpoint. */
export const leanDynamo: () => LeanDynamoClient = lazyClient(
  () => new LeanDynamoClient(configuredJsonClient('dynamodb', 'DynamoDB_20120810')),
  (client) => client.destroy(),
);
