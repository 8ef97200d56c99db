import { marshall, unmarshall, unmarshallValue } from '../../core/clients/dynamodb-marshall';

describe('DynamoDB value conversion', () => {
  it('leaves undefined out of maps and lists, as the document client with removeUndefinedValues does', () => {
    expect(marshall({ a: undefined, b: [1, undefined, 'x'], c: { d: undefined, e: null } })).toEqual({
      b: { L: [{ N: '1' }, { S: 'x' }] },
      c: { M: { e: { NULL: true } } },
    });
  });

  it('refuses class instances, empty sets, mixed sets and non-finite numbers instead of storing something else', () => {
    expect(() => marshall({ at: new Date(0) })).toThrow(/Date instance cannot be stored/);
    expect(() => marshall({ s: new Set() })).toThrow(/empty Set/);
    expect(() => marshall({ s: new Set(['a', 1]) })).toThrow(/only strings, only numbers/);
    expect(() => marshall({ n: Number.POSITIVE_INFINITY })).toThrow(/cannot be stored/);
  });

  it('reads numbers back as numbers and refuses an integer a JavaScript number cannot hold exactly', () => {
    expect(unmarshall({ n: { N: '42' }, f: { N: '-0.125' }, big: { N: '9007199254740991' } })).toEqual({
      n: 42,
      f: -0.125,
      big: Number.MAX_SAFE_INTEGER,
    });
    expect(() => unmarshallValue({ N: '9007199254740993' })).toThrow(/losing precision/);
  });

  it('round-trips bytes and sets', () => {
    const item = { b: new Uint8Array([1, 2, 255]), ss: new Set(['a', 'b']), ns: new Set([1, 2]) };
    const wire = marshall(item);
    expect(wire.b).toEqual({ B: 'AQL/' });
    expect(wire.ns).toEqual({ NS: ['1', '2'] });
    expect(unmarshall(wire)).toEqual(item);
  });
});
