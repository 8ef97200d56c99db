import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OpusCodec } from '../../core/audio/libopus';
import { OGG_FLAG_BOS, OGG_FLAG_EOS, OggReader, oggCrc, writeOggPage } from '../../core/audio/ogg';
import { DEFAULT_OPUS, OggOpusEncoder, OPUS_PRE_SKIP, opusPreSkip } from '../../core/audio/ogg-opus-encoder';
import { parseWavHeader } from '../../local/speech-server/audio-input';
import { OggOpusInput } from '../../local/speech-server/ogg-opus-input';

/** 3 s of the reading fixture (speech), 16 kHz S16LE. */
const speech = (() => {
  const wav = readFileSync(path.join(__dirname, '../../fixtures/meeting-librivox.wav'));
  const header = parseWavHeader(wav);
  if (header.status !== 'ok') throw new Error('fixture is not a PCM WAV file');
  return Buffer.from(wav.subarray(header.dataOffset + 32_000, header.dataOffset + 4 * 32_000));
})();

function encodeInChunks(pcm: Buffer, chunkBytes: number, encoder = new OggOpusEncoder()): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < pcm.length; at += chunkBytes)
    out.push(encoder.encode(pcm.subarray(at, at + chunkBytes)));
  out.push(encoder.end());
  encoder.dispose();
  return Buffer.concat(out);
}

function ffmpegDecode(ogg: Buffer): Buffer {
  return execFileSync(
    'ffmpeg',
    ['-v', 'error', '-f', 'ogg', '-i', 'pipe:0', '-ar', '16000', '-ac', '1', '-f', 's16le', 'pipe:1'],
    { input: ogg },
  );
}

function samples(pcm: Buffer): Int16Array {
  return new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length));
}

/** Signal-to-error ratio (dB) of `decoded` against `original`, with `decoded` shifted by `lag`. */
function snrDb(original: Int16Array, decoded: Int16Array, lag: number): number {
  let signal = 0;
  let error = 0;
  for (let i = 400; i < original.length - 400; i++) {
    const o = original[i] as number;
    signal += o * o;
    error += (o - (decoded[i + lag] ?? 0)) ** 2;
  }
  return 10 * Math.log10(signal / error);
}

function pages(ogg: Buffer): { flags: number; granule: bigint; serial: number; sequence: number }[] {
  const out = [];
  for (let at = 0; at < ogg.length; ) {
    const segments = ogg[at + 26] as number;
    let size = 27 + segments;
    for (let i = 0; i < segments; i++) size += ogg[at + 27 + i] as number;
    out.push({
      flags: ogg[at + 5] as number,
      granule: ogg.readBigInt64LE(at + 6),
      serial: ogg.readUInt32LE(at + 14),
      sequence: ogg.readUInt32LE(at + 18),
    });
    at += size;
  }
  return out;
}

describe('Ogg pages', () => {
  it("computes Ogg's CRC-32 (polynomial 0x04C11DB7, unreflected) on the check vector", () => {
    // The CRC-32/MPEG-2 family without initial value or final xor: "123456789" → 0x89A1897F.
    expect(oggCrc(Buffer.from('123456789'))).toBe(0x89a1897f);
  });

  it('laces packets of 255 bytes and more with a terminating segment, and reads them back from pieces', () => {
    // Prepare: packets of 0, 254, 255, 256 and 600 bytes on one page.
    const packets = [0, 254, 255, 256, 600].map((n) => Buffer.alloc(n, n % 251));
    const page = writeOggPage({ serial: 7, sequence: 0, granule: 960n, flags: OGG_FLAG_BOS }, packets);

    // Act: the page arrives a byte at a time, as WebSocket messages may split it.
    const reader = new OggReader();
    const read = [];
    for (let i = 0; i < page.length; i++) read.push(...reader.push(page.subarray(i, i + 1)));

    // Assess
    expect(page[26]).toBe(1 + 1 + 2 + 2 + 3);
    expect(read.map((p) => p.data)).toEqual(packets);
    expect(read[0]?.page).toEqual({ serial: 7, sequence: 0, granule: 960n, flags: OGG_FLAG_BOS });
  });
});

describe('Ogg Opus encoder (the gateway’s DEEPGRAM_ENCODING=opus)', () => {
  it('writes a stream ffmpeg decodes to the same number of samples, aligned with the input', () => {
    // Act
    const ogg = encodeInChunks(speech, 640);
    const decoded = samples(ffmpegDecode(ogg));

    // Assess: pre-skip and end trimming make sample i out sample i in; the speech survives
    // (Opus is not waveform-exact: ~6 dB at lag 0 on speech, and lag 0 beats a shifted copy).
    const original = samples(speech);
    expect(decoded.length).toBe(original.length);
    expect(snrDb(original, decoded, 0)).toBeGreaterThan(3);
    expect(snrDb(original, decoded, 0)).toBeGreaterThan(snrDb(original, decoded, 8) + 3);
    expect(snrDb(original, decoded, 0)).toBeGreaterThan(snrDb(original, decoded, -8) + 3);
  });

  it('starts with OpusHead and OpusTags pages, then a page per 20 ms packet with 48 kHz granules', () => {
    // Act
    const encoder = new OggOpusEncoder({ ...DEFAULT_OPUS, packetsPerPage: 1 });
    const first = encoder.encode(speech.subarray(0, 640));
    const second = encoder.encode(speech.subarray(640, 1280));
    const last = encoder.end();
    encoder.dispose();

    // Assess
    const firstPages = pages(first);
    expect(first.subarray(28, 36).toString('ascii')).toBe('OpusHead');
    expect(first.readUInt16LE(28 + 10)).toBe(OPUS_PRE_SKIP);
    expect(firstPages.map((p) => [p.flags, p.granule, p.sequence])).toEqual([
      [OGG_FLAG_BOS, 0n, 0],
      [0, 0n, 1],
      [0, 960n, 2],
    ]);
    expect(pages(second).map((p) => [p.granule, p.sequence])).toEqual([[1920n, 3]]);
    // The end: look-ahead flushed with silence, granule = pre-skip + the 640 samples handed over.
    expect(pages(last).map((p) => [p.flags, p.granule])).toEqual([
      [OGG_FLAG_EOS, BigInt(OPUS_PRE_SKIP + 640 * 3)],
    ]);
    expect(new Set([...firstPages, ...pages(last)].map((p) => p.serial)).size).toBe(1);
  });

  it('by default holds a packet for the next: a page per 40 ms, and the end sends a half page at once', () => {
    // Act: three 20 ms frames, then the end of the stream.
    const encoder = new OggOpusEncoder();
    const first = encoder.encode(speech.subarray(0, 640));
    const second = encoder.encode(speech.subarray(640, 1280));
    const third = encoder.encode(speech.subarray(1280, 1920));
    const last = encoder.end();
    encoder.dispose();

    // Assess: the headers alone, then one page of two packets; the third packet waits and
    // leaves with the end of the stream (its granule trims the padding to the 960 samples).
    expect(DEFAULT_OPUS.packetsPerPage).toBe(2);
    expect(pages(first).map((p) => [p.flags, p.granule])).toEqual([
      [OGG_FLAG_BOS, 0n],
      [0, 0n],
    ]);
    expect(pages(second).map((p) => [p.granule, p.sequence])).toEqual([[1920n, 2]]);
    expect(third.length).toBe(0);
    expect(pages(last).map((p) => [p.flags, p.granule])).toEqual([
      [OGG_FLAG_EOS, BigInt(OPUS_PRE_SKIP + 960 * 3)],
    ]);
    const input = new OggOpusInput();
    const decoded = input.push(Buffer.concat([first, second, third, last]));
    input.close();
    expect(decoded.ok && decoded.pcm.length).toBe(960);
  });

  it('encodes the same packets whatever the chunk sizes (a 20 ms tail waits for the next chunk)', () => {
    // Act: Recall's 20 ms frames, the ring's 250 ms blocks on a resend, and odd sizes.
    const bySize = [640, 8_000, 1_002].map((size) => {
      const input = new OggOpusInput();
      const result = input.push(encodeInChunks(speech, size));
      input.close();
      if (!result.ok) throw new Error(result.reason);
      return result.pcm;
    });

    // Assess
    expect(bySize[0]?.length).toBe(speech.length / 2);
    expect(bySize[1]).toEqual(bySize[0]);
    expect(bySize[2]).toEqual(bySize[0]);
  });

  it('fills pages of several packets when asked, sending nothing until a page is full', () => {
    // Act
    const encoder = new OggOpusEncoder({ bitrate: 16_000, complexity: 0, packetsPerPage: 5 });
    const sizes = [];
    for (let i = 0; i < 10; i++) sizes.push(encoder.encode(speech.subarray(i * 640, (i + 1) * 640)).length);
    encoder.dispose();

    // Assess: headers with nothing else, three empty returns, a page of 5 packets, and so on.
    expect(sizes.map((n) => n > 0)).toEqual([
      true,
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      false,
      true,
    ]);
  });

  it.each([
    ['voip', 104],
    ['restrictedLowDelay', 40],
  ] as const)(
    'declares the %s encoder’s own look-ahead (%i samples) as pre-skip, so the decoded audio lines up with the input',
    (application, lookahead) => {
      // Act
      const encoder = new OggOpusEncoder({ bitrate: 16_000, complexity: 3, application });
      const ogg = encodeInChunks(speech, 640, encoder);
      const input = new OggOpusInput();
      const decoded = input.push(ogg);
      input.close();

      // Assess: OpusHead's pre-skip is libopus's look-ahead at 48 kHz; the decoded samples are the
      // input's, in number and in time (no shift of a few samples either way).
      expect(encoder.preSkip).toBe(lookahead * 3);
      expect(opusPreSkip(application)).toBe(lookahead * 3);
      expect(ogg.readUInt16LE(28 + 10)).toBe(lookahead * 3);
      if (!decoded.ok) throw new Error(decoded.reason);
      const original = samples(speech);
      expect(decoded.pcm.length).toBe(original.length);
      expect(snrDb(original, decoded.pcm, 0)).toBeGreaterThan(snrDb(original, decoded.pcm, 8) + 3);
      expect(snrDb(original, decoded.pcm, 0)).toBeGreaterThan(snrDb(original, decoded.pcm, -8) + 3);
    },
  );

  it('is a new Ogg stream per encoder (a reconnect sends the headers again under a new serial)', () => {
    const a = pages(encodeInChunks(speech.subarray(0, 6_400), 640));
    const b = pages(encodeInChunks(speech.subarray(0, 6_400), 640));
    expect(a[0]?.flags).toBe(OGG_FLAG_BOS);
    expect(b[0]?.flags).toBe(OGG_FLAG_BOS);
    expect(b[0]?.serial).not.toBe(a[0]?.serial);
  });
});

describe('libopus in WebAssembly (core/audio/libopus.ts)', () => {
  it('keeps 400 encoders apart in one process, as a gateway holds one per meeting', () => {
    // Prepare: opusscript's own class fails past ~79 instances and scribbles on memory it does
    // not own; 400 codecs grow the WebAssembly memory several times over.
    const frame = speech.subarray(0, 640);
    const reference = new OpusCodec();
    const expected = reference.encode(frame, 320);
    reference.delete();

    // Act
    const codecs = Array.from({ length: 400 }, () => new OpusCodec());
    const packets = codecs.map((c) => c.encode(frame, 320));
    const decoded = codecs[399]?.decode(packets[399] as Buffer);
    for (const c of codecs) c.delete();

    // Assess: every fresh encoder makes the same first packet from the same frame.
    expect(packets.every((p) => p.equals(expected))).toBe(true);
    expect(decoded?.length).toBe(320);
  });
});

describe('Ogg Opus input of the local speech server', () => {
  it('decodes what ffmpeg’s libopus writes (its CRCs, pages and pre-skip)', () => {
    // Prepare
    const ogg = execFileSync(
      'ffmpeg',
      ['-v', 'error', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0'].concat([
        '-c:a',
        'libopus',
        '-b:a',
        '24k',
        '-application',
        'voip',
        '-f',
        'ogg',
        'pipe:1',
      ]),
      { input: speech },
    );

    // Act
    const input = new OggOpusInput();
    const result = input.push(ogg);
    input.close();

    // Assess: ffmpeg's decode of its own stream is the reference (48 kHz resampling differs slightly).
    if (!result.ok) throw new Error(result.reason);
    const original = samples(speech);
    expect(Math.abs(result.pcm.length - original.length)).toBeLessThanOrEqual(2);
    expect(snrDb(original, result.pcm, 0)).toBeGreaterThan(3);
  });

  it('decodes chained streams (a Finalize ends one) to exactly the samples sent, and refuses a page after an end without a new stream', () => {
    // Prepare: 1.01 s (a frame's tail at the end), then 0.5 s, each its own ended stream (as the gateway ends one at a Finalize).
    const a = encodeInChunks(speech.subarray(0, 32_320), 640);
    const b = encodeInChunks(speech.subarray(32_320, 48_320), 640);

    // Act
    const input = new OggOpusInput();
    const afterFirst = input.push(a);
    const afterSecond = input.push(b);
    input.close();
    const orphan = new OggOpusInput();
    const noNewStream = orphan.push(Buffer.concat([a, b.subarray(pagesEnd(b, 1))]));
    orphan.close();

    // Assess: every sample of the first stream is out before the second begins.
    if (!afterFirst.ok || !afterSecond.ok) throw new Error('chained stream refused');
    expect(afterFirst.pcm.length).toBe(16_160);
    expect(afterSecond.pcm.length).toBe(8_000);
    expect(noNewStream).toEqual({ ok: false, reason: 'an Ogg page after the end of its stream' });
  });

  it('refuses a corrupt page, a missing page and a stream that is not Opus, with a reason', () => {
    const ogg = encodeInChunks(speech.subarray(0, 32_000), 640);
    const corrupt = Buffer.from(ogg);
    corrupt.writeUInt8((corrupt.at(-10) as number) ^ 0xff, corrupt.length - 10);
    const missing = Buffer.concat([ogg.subarray(0, pagesEnd(ogg, 3)), ogg.subarray(pagesEnd(ogg, 4))]);
    const notOpus = writeOggPage({ serial: 1, sequence: 0, granule: 0n, flags: OGG_FLAG_BOS }, [
      Buffer.from('\x01vorbis-ish header'),
    ]);

    const reason = (bytes: Buffer) => {
      const input = new OggOpusInput();
      const result = input.push(bytes);
      input.close();
      return result.ok ? 'decoded' : result.reason;
    };
    expect(reason(corrupt)).toMatch(/CRC mismatch/);
    expect(reason(missing)).toMatch(/a page is missing/);
    expect(reason(notOpus)).toMatch(/not Opus/);
    expect(reason(Buffer.from('OggX and more bytes than a header holds'))).toMatch(/capture pattern/);
  });
});

/** Byte offset just after the first `n` pages. */
function pagesEnd(ogg: Buffer, n: number): number {
  let at = 0;
  for (let p = 0; p < n; p++) {
    const segments = ogg[at + 26] as number;
    let size = 27 + segments;
    for (let i = 0; i < segments; i++) size += ogg[at + 27 + i] as number;
    at += size;
  }
  return at;
}
