/**
 * Plain JavaScript values ↔ DynamoDB's attribute values, as the SDK's document client converts
 * them with the options Parley used (`removeUndefinedValues: true`,
 * `convertClassInstanceToMap: false`): undefined is left out of maps and lists; a class instance
 * other than a byte array or a Set is refused; numbers come back as numbers, and one that a
 * JavaScript number cannot hold exactly is refused rather than rounded.
 */

export type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: string[] };

export type AttributeMap = Record<string, AttributeValue>;

export class MarshallError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'MarshallError';
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function number(value: number | bigint): string {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new MarshallError(`${value} cannot be stored in DynamoDB`);
  }
  return String(value);
}

/** One value; undefined only for `undefined` (the caller leaves it out). */
export function marshallValue(value: unknown): AttributeValue | undefined {
  switch (typeof value) {
    case 'undefined':
      return undefined;
    case 'string':
      return { S: value };
    case 'number':
    case 'bigint':
      return { N: number(value) };
    case 'boolean':
      return { BOOL: value };
    case 'object': {
      if (value === null) return { NULL: true };
      if (value instanceof Uint8Array) return { B: Buffer.from(value).toString('base64') };
      if (Array.isArray(value)) {
        const list: AttributeValue[] = [];
        for (const element of value) {
          const marshalled = marshallValue(element);
          if (marshalled !== undefined) list.push(marshalled);
        }
        return { L: list };
      }
      if (value instanceof Set) return marshallSet(value);
      if (!isPlainObject(value)) {
        throw new MarshallError(
          `Unsupported type passed: ${String(value)}. A ${value.constructor?.name ?? 'class'} instance cannot be stored; pass a plain object`,
        );
      }
      return { M: marshall(value as Record<string, unknown>) };
    }
    default:
      throw new MarshallError(`Unsupported type passed: ${typeof value}`);
  }
}

function marshallSet(set: Set<unknown>): AttributeValue {
  const values = [...set].filter((v) => v !== undefined);
  if (values.length === 0) throw new MarshallError('An empty Set cannot be stored in DynamoDB');
  if (values.every((v) => typeof v === 'string')) return { SS: values as string[] };
  if (values.every((v) => typeof v === 'number' || typeof v === 'bigint')) {
    return { NS: values.map((v) => number(v as number)) };
  }
  if (values.every((v) => v instanceof Uint8Array)) {
    return { BS: values.map((v) => Buffer.from(v as Uint8Array).toString('base64')) };
  }
  throw new MarshallError('A Set must hold only strings, only numbers or only byte arrays');
}

/** A plain object (an item, a key, expression values); undefined members are left out. */
export function marshall(item: Readonly<Record<string, unknown>>): AttributeMap {
  const out: AttributeMap = {};
  for (const key of Object.keys(item)) {
    const marshalled = marshallValue(item[key]);
    if (marshalled !== undefined) out[key] = marshalled;
  }
  return out;
}

function toNumber(n: string): number {
  const value = Number(n);
  if (
    !Number.isFinite(value) ||
    (Number.isInteger(value) && !Number.isSafeInteger(value) && /^-?\d+$/.test(n))
  ) {
    throw new MarshallError(
      `Number ${n} cannot be converted to a JavaScript number without losing precision`,
    );
  }
  return value;
}

export function unmarshallValue(value: AttributeValue): unknown {
  if ('S' in value) return value.S;
  if ('N' in value) return toNumber(value.N);
  if ('BOOL' in value) return value.BOOL;
  if ('NULL' in value) return null;
  if ('M' in value) return unmarshall(value.M);
  if ('L' in value) return value.L.map(unmarshallValue);
  if ('SS' in value) return new Set(value.SS);
  if ('NS' in value) return new Set(value.NS.map(toNumber));
  if ('B' in value) return new Uint8Array(Buffer.from(value.B, 'base64'));
  if ('BS' in value) return new Set(value.BS.map((b) => new Uint8Array(Buffer.from(b, 'base64'))));
  throw new MarshallError(`Unknown attribute value ${JSON.stringify(value).slice(0, 80)}`);
}

export function unmarshall(item: Readonly<AttributeMap>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(item)) out[key] = unmarshallValue(item[key] as AttributeValue);
  return out;
}
