import {
  contentDisposition,
  formatTimestamp,
  MAX_FILENAME_CHARS,
  toPlainText,
  toSrt,
  toVtt,
  toWellFormed,
  truncateCodePoints,
} from '../../core/transcript/formats';

const segments = [
  { seq: 3, speaker: 'Alice', text: 'We agreed to ship  on\nFriday.', startMs: 1_120, endMs: 7_770 },
  { seq: 7, speaker: 'Bob <host>', text: 'Q&A at 3 < 4?', startMs: 3_725_004, endMs: 3_725_004 },
];

describe('transcript formats', () => {
  it('formats timestamps with the separator each format uses', () => {
    expect(formatTimestamp(0, ',')).toBe('00:00:00,000');
    expect(formatTimestamp(1_120, ',')).toBe('00:00:01,120');
    expect(formatTimestamp(3_725_004, '.')).toBe('01:02:05.004');
    expect(formatTimestamp(100 * 3_600_000 + 1, '.')).toBe('100:00:00.001');
    expect(formatTimestamp(-5, '.')).toBe('00:00:00.000');
  });

  it('writes SRT cues numbered from 1 with comma milliseconds and the speaker before the text', () => {
    // Act
    const srt = toSrt(segments);

    // Assess
    expect(srt).toBe(
      '1\n00:00:01,120 --> 00:00:07,770\nAlice: We agreed to ship on Friday.\n\n' +
        '2\n01:02:05,004 --> 01:02:05,005\nBob <host>: Q&A at 3 < 4?\n',
    );
  });

  it('writes WebVTT with a header, dot milliseconds, voice spans and escaped text', () => {
    const vtt = toVtt(segments);

    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true);
    expect(vtt).toContain('3\n00:00:01.120 --> 00:00:07.770\n<v Alice>We agreed to ship on Friday.\n');
    expect(vtt).toContain('7\n01:02:05.004 --> 01:02:05.005\n<v Bob &lt;host&gt;>Q&amp;A at 3 &lt; 4?\n');
  });

  it('writes plain text lines with the start time to the second', () => {
    expect(toPlainText(segments, 'Weekly sync')).toBe(
      'Weekly sync\n\n[00:00:01] Alice: We agreed to ship on Friday.\n[01:02:05] Bob <host>: Q&A at 3 < 4?\n',
    );
    expect(toPlainText([])).toBe('');
  });

  it('offers an ASCII file name and the UTF-8 original in Content-Disposition', () => {
    expect(contentDisposition('Réunion "Q3" transcript', 'srt')).toBe(
      'attachment; filename="Reunion-Q3-transcript.srt"; filename*=UTF-8\'\'R%C3%A9union%20%22Q3%22%20transcript.srt',
    );
    expect(contentDisposition('???', 'vtt')).toMatch(/^attachment; filename="transcript\.vtt"/);
  });

  it('never cuts an emoji in half when the name is longer than the limit', () => {
    const title = `${'a'.repeat(MAX_FILENAME_CHARS - 1)}\u{1F600} transcript`;
    const header = contentDisposition(title, 'txt');
    const encoded = /filename\*=UTF-8''(.*)$/.exec(header)![1]!;
    expect(decodeURIComponent(encoded)).toBe(`${'a'.repeat(MAX_FILENAME_CHARS - 1)}\u{1F600}.txt`);
  });

  it('turns a lone surrogate into U+FFFD instead of failing', () => {
    const header = contentDisposition('bad \uD800 title', 'srt');
    expect(header).toContain("filename*=UTF-8''bad%20%EF%BF%BD%20title.srt");
    expect(toWellFormed('\uDC00x\uD83D\uDE00')).toBe('\uFFFDx\u{1F600}');
  });

  it('percent-encodes the characters RFC 5987 does not allow bare and drops control characters', () => {
    const header = contentDisposition("it's (a*b)\r\nX-Injected: 1", 'vtt');
    expect(header).toBe(
      'attachment; filename="its-abX-Injected-1.vtt"; filename*=UTF-8\'\'it%27s%20%28a%2Ab%29X-Injected%3A%201.vtt',
    );
    expect(header).not.toMatch(/[\r\n]/);
  });

  it('counts the limit in code points', () => {
    expect(truncateCodePoints('\u{1F600}\u{1F600}\u{1F600}', 2)).toBe('\u{1F600}\u{1F600}');
    expect(truncateCodePoints('abc', 5)).toBe('abc');
  });
});
