import { decodeStrictBase64 } from '../../core/recall/base64';
import { looksLikeMp3, silentMp3 } from '../../core/recall/mp3';

describe('looksLikeMp3', () => {
  it('recognises an ID3 tag and an MPEG audio frame header', () => {
    expect(looksLikeMp3(Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0x10, 0x7f, 0xff]))).toBe(true);
    expect(looksLikeMp3(Buffer.from([0xff, 0xfb, 0x90, 0x64]))).toBe(true);
    expect(looksLikeMp3(Buffer.from([0xff, 0xf3, 0x40, 0xc4]))).toBe(true); // MPEG-2 Layer III
  });

  it.each([
    ['a WAV file', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1')],
    ['text', Buffer.from('hello world')],
    ['too short', Buffer.from([0xff, 0xfb])],
    ['a reserved MPEG version', Buffer.from([0xff, 0xeb, 0x90, 0x64])],
    ['a reserved layer', Buffer.from([0xff, 0xf9, 0x90, 0x64])],
    ['a bad bitrate', Buffer.from([0xff, 0xfb, 0xf0, 0x64])],
    ['an ID3 tag with a bad size', Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0x80, 0, 0, 0])],
  ])('rejects %s', (_name, bytes) => {
    expect(looksLikeMp3(bytes)).toBe(false);
  });
});

describe('silentMp3', () => {
  it('makes whole 144-byte MPEG-1 Layer III frames covering the duration', () => {
    const mp3 = silentMp3(500);
    expect(mp3.length % 144).toBe(0);
    expect(mp3.length / 144).toBe(14); // 14 × 36 ms ≥ 500 ms
    expect(looksLikeMp3(mp3)).toBe(true);
    for (let offset = 0; offset < mp3.length; offset += 144) {
      expect([...mp3.subarray(offset, offset + 4)]).toEqual([0xff, 0xfb, 0x18, 0xc4]);
    }
  });
});

describe('decodeStrictBase64', () => {
  it('decodes canonical padded base64 and rejects everything Node would silently accept', () => {
    expect(decodeStrictBase64('')?.length).toBe(0);
    expect(decodeStrictBase64('AQID')).toEqual(Buffer.from([1, 2, 3]));
    expect(decodeStrictBase64('AQ==')).toEqual(Buffer.from([1]));
    for (const bad of ['AQ', 'AQ=', 'A===', 'AQ==AQ==', 'AQ-_', ' AQID', 'AQID\n', 'AR==', '*AQI']) {
      expect(decodeStrictBase64(bad)).toBeUndefined();
    }
  });
});
