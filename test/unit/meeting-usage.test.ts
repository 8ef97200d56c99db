/**
 * The DynamoDB arithmetic of bench/meeting-usage.ts: item sizes as DynamoDB counts them, and the
 * write units each write request costs.
 */
import { attributeValueBytes, itemBytes, writeUnits } from '../../bench/meeting-usage';

describe('meeting usage: DynamoDB units', () => {
  it('sizes an item as DynamoDB does: names plus values, numbers by their digits, nested maps and lists with overhead', () => {
    expect(attributeValueBytes({ S: 'héllo' })).toBe(6);
    expect(attributeValueBytes({ N: '12345' })).toBe(4);
    expect(attributeValueBytes({ BOOL: true })).toBe(1);
    expect(attributeValueBytes({ L: [{ S: 'ab' }, { N: '7' }] })).toBe(3 + (1 + 2) + (1 + 2));
    expect(attributeValueBytes({ M: { k: { S: 'v' } } })).toBe(3 + 2 + 1);
    expect(itemBytes({ meetingId: { S: 'm_1' }, seq: { N: '42' } })).toBe(9 + 3 + 3 + 2);
  });

  it('charges a put one unit per started KB of its item, a batch per item, an update and a delete one', () => {
    const small = { meetingId: { S: 'm' } };
    const big = { meetingId: { S: 'm' }, text: { S: 'x'.repeat(2_100) } };

    expect(writeUnits('PutItem', { Item: small })).toBe(1);
    expect(writeUnits('PutItem', { Item: big })).toBe(3);
    expect(
      writeUnits('BatchWriteItem', {
        RequestItems: { t: [{ PutRequest: { Item: big } }, { DeleteRequest: { Key: small } }] },
      }),
    ).toBe(4);
    expect(writeUnits('UpdateItem', {})).toBe(1);
    expect(writeUnits('DeleteItem', {})).toBe(1);
    expect(writeUnits('Query', {})).toBe(0);
  });
});
