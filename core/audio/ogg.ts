/**
 * Ogg pages (RFC 3533): the container Deepgram detects for Opus audio sent without `encoding`.
 * Only what Parley needs: one logical stream, packets written a page each or a few to a page,
 * and a reader that takes the same pages back (the local speech server's demuxer).
 *
 * A page: "OggS", version 0, flags, 64-bit granule position, serial, page sequence, CRC-32, the
 * segment (lacing) table, then the packets' bytes. A packet of n bytes takes ⌊n/255⌋ segments of
 * 255 and one of n mod 255 (0 when n is a multiple of 255), so a segment under 255 ends it.
 */

export const OGG_CAPTURE = 'OggS';
export const OGG_FLAG_CONTINUED = 0x01;
export const OGG_FLAG_BOS = 0x02;
export const OGG_FLAG_EOS = 0x04;
const HEADER_BYTES = 27;
const MAX_SEGMENTS = 255;

/** Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial 0, no final xor. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++)
    crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ (bytes[i] as number)) & 0xff] as number)) >>> 0;
  return crc;
}

export interface OggPageFields {
  serial: number;
  sequence: number;
  /** Granule position after the last packet that ends on this page (-1: none ends here). */
  granule: bigint;
  flags: number;
}

/** What a writer gives: the granule position may be a number (whole, under 2^53). */
export type OggPageInput = Omit<OggPageFields, 'granule'> & { granule: bigint | number };

/**
 * One page holding whole `packets` (their lacing must fit 255 segments). Written in one pass into
 * one buffer from the shared pool (the gateway writes 50 pages a second per stream): the header,
 * the lacing, the packets, then the CRC over all of it.
 */
export function writeOggPage(fields: OggPageInput, packets: readonly Uint8Array[]): Buffer {
  let segments = 0;
  let bodyBytes = 0;
  for (const packet of packets) {
    segments += Math.floor(packet.length / 255) + 1;
    bodyBytes += packet.length;
  }
  if (segments > MAX_SEGMENTS) throw new RangeError(`${segments} segments do not fit one Ogg page`);
  const page = Buffer.allocUnsafe(HEADER_BYTES + segments + bodyBytes);
  page[0] = 0x4f; // O
  page[1] = 0x67; // g
  page[2] = 0x67; // g
  page[3] = 0x53; // S
  page[4] = 0; // version
  page[5] = fields.flags;
  if (typeof fields.granule === 'bigint') page.writeBigInt64LE(fields.granule, 6);
  else {
    if (!Number.isSafeInteger(fields.granule) || fields.granule < 0)
      throw new RangeError(`granule position ${fields.granule} is not a whole number of samples`);
    page.writeUInt32LE(fields.granule % 0x1_0000_0000, 6);
    page.writeUInt32LE(Math.floor(fields.granule / 0x1_0000_0000), 10);
  }
  page.writeUInt32LE(fields.serial >>> 0, 14);
  page.writeUInt32LE(fields.sequence >>> 0, 18);
  page.writeUInt32LE(0, 22); // the CRC is computed with its own field at 0
  page[26] = segments;
  let lace = HEADER_BYTES;
  let at = HEADER_BYTES + segments;
  for (const packet of packets) {
    for (let left = packet.length; ; left -= 255) {
      page[lace++] = Math.min(left, 255);
      if (left < 255) break;
    }
    page.set(packet, at);
    at += packet.length;
  }
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

export class OggFormatError extends Error {
  override readonly name = 'OggFormatError';
}

/** A packet read back, with the fields of the page it ended on. */
export interface OggPacket {
  data: Buffer;
  page: OggPageFields;
}

/**
 * Reads pages from bytes arriving in pieces (a page may span several WebSocket messages) and
 * returns the packets completed so far. One logical stream at a time: streams may be chained
 * (RFC 3533 §4, RFC 7845 §3: a new stream's BOS page right after the previous one's EOS page),
 * as the gateway does at a Finalize; any other second serial is an error, as is a bad capture
 * pattern, version or CRC (OggFormatError).
 */
export class OggReader {
  private carry: Buffer = Buffer.alloc(0);
  private partial: Buffer[] = [];
  private serial: number | undefined;
  private nextSequence = 0;
  /** The current stream's EOS page has been read: only a new stream (BOS) may follow. */
  private ended = false;

  push(bytes: Buffer): OggPacket[] {
    let data = this.carry.length > 0 ? Buffer.concat([this.carry, bytes]) : bytes;
    const packets: OggPacket[] = [];
    for (;;) {
      const size = this.pageSize(data);
      if (size === undefined) break;
      this.readPage(data.subarray(0, size), packets);
      data = data.subarray(size);
    }
    this.carry = Buffer.from(data);
    return packets;
  }

  /** Bytes of the page at the start of `data`, or undefined until all of it has arrived. */
  private pageSize(data: Buffer): number | undefined {
    // Checked on the first bytes already: a stream that is not Ogg fails at once, not after 27.
    const n = Math.min(4, data.length);
    if (data.toString('latin1', 0, n) !== OGG_CAPTURE.slice(0, n))
      throw new OggFormatError('not an Ogg page (no OggS capture pattern)');
    if (data.length < HEADER_BYTES) return undefined;
    if (data[4] !== 0) throw new OggFormatError(`Ogg version ${data[4]} (only 0 exists)`);
    const segments = data[26] as number;
    if (data.length < HEADER_BYTES + segments) return undefined;
    let size = HEADER_BYTES + segments;
    for (let i = 0; i < segments; i++) size += data[HEADER_BYTES + i] as number;
    return data.length < size ? undefined : size;
  }

  private readPage(page: Buffer, out: OggPacket[]): void {
    const crc = page.readUInt32LE(22);
    const check = Buffer.from(page);
    check.writeUInt32LE(0, 22);
    if (oggCrc(check) !== crc) throw new OggFormatError(`Ogg page ${page.readUInt32LE(18)}: CRC mismatch`);
    const fields: OggPageFields = {
      flags: page[5] as number,
      granule: page.readBigInt64LE(6),
      serial: page.readUInt32LE(14),
      sequence: page.readUInt32LE(18),
    };
    if (this.ended) {
      if (!(fields.flags & OGG_FLAG_BOS)) throw new OggFormatError('an Ogg page after the end of its stream');
      // A chained stream begins.
      this.serial = undefined;
      this.nextSequence = 0;
      this.partial = [];
      this.ended = false;
    }
    if (this.serial === undefined) this.serial = fields.serial;
    else if (fields.serial !== this.serial)
      throw new OggFormatError('a second Ogg stream (only one is read)');
    if (fields.sequence !== this.nextSequence)
      throw new OggFormatError(
        `Ogg page ${fields.sequence} where ${this.nextSequence} was due (a page is missing)`,
      );
    this.nextSequence++;
    if (fields.flags & OGG_FLAG_EOS) this.ended = true;
    if (!(fields.flags & OGG_FLAG_CONTINUED)) this.partial = [];
    const segments = page[26] as number;
    let at = HEADER_BYTES + segments;
    for (let i = 0; i < segments; i++) {
      const length = page[HEADER_BYTES + i] as number;
      this.partial.push(page.subarray(at, at + length));
      at += length;
      if (length < 255) {
        out.push({ data: Buffer.concat(this.partial), page: fields });
        this.partial = [];
      }
    }
  }
}
