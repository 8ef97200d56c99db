/**
 * Synthesizes a labelled test meeting with espeak-ng voices and sox (Debian packages), so the
 * briefing benchmark can run the local speech engine on audio whose words and answers are known.
 *
 *   npx tsx scripts/synthesize-meeting.ts fixtures/sprint-planning.json
 *
 * Reads the fixture's `voices` (speaker → espeak-ng voice) and `segments` (speaker, text), speaks
 * each segment, joins them with a 900 ms pause into `<file>` (16 kHz mono S16LE WAV next to the
 * JSON) heard through a small room, and writes back each segment's participantId, startMs and endMs and the durationMs, so
 * the JSON is also the Recall simulator's floor script. Everything else in the JSON is kept.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const GAP_MS = 900;
/**
 * A small room: PocketSphinx transcribes espeak-ng's dry formant voices at ~72 % WER, the same
 * voices through a band limit and light reverb at ~59 % (measured on sprint-planning).
 */
const ROOM = ['lowpass', '4000', 'highpass', '120', 'reverb', '15'];
const LEAD_MS = 600;
const RATE = 16_000;

interface Fixture {
  file: string;
  voices: Record<string, string>;
  segments: { speaker: string; text: string; participantId?: number; startMs?: number; endMs?: number }[];
  [key: string]: unknown;
}

function main(): void {
  const jsonPath = process.argv[2];
  if (!jsonPath) throw new Error('usage: tsx scripts/synthesize-meeting.ts <fixture.json>');
  const fixture = JSON.parse(readFileSync(jsonPath, 'utf8')) as Fixture;
  const work = mkdtempSync(path.join(tmpdir(), 'parley-synth-'));
  try {
    const ids = new Map<string, number>();
    const parts: string[] = [];
    const silence = (ms: number, name: string) => {
      const file = path.join(work, name);
      execFileSync('sox', [
        '-n',
        '-r',
        String(RATE),
        '-c',
        '1',
        '-b',
        '16',
        file,
        'trim',
        '0',
        String(ms / 1000),
      ]);
      return file;
    };
    parts.push(silence(LEAD_MS, 'lead.wav'));
    let cursorMs = LEAD_MS;
    fixture.segments.forEach((segment, i) => {
      const voice = fixture.voices[segment.speaker];
      if (!voice) throw new Error(`no voice for ${segment.speaker}`);
      if (!ids.has(segment.speaker)) ids.set(segment.speaker, ids.size + 1);
      const raw = path.join(work, `raw-${i}.wav`);
      const out = path.join(work, `seg-${i}.wav`);
      execFileSync('espeak-ng', ['-v', voice, '-s', '160', '-w', raw, segment.text]);
      // Resample to 16 kHz and trim espeak's leading and trailing silence.
      execFileSync('sox', [
        raw,
        '-r',
        String(RATE),
        '-c',
        '1',
        '-b',
        '16',
        out,
        'silence',
        '1',
        '0.02',
        '0.5%',
        'reverse',
        'silence',
        '1',
        '0.02',
        '0.5%',
        'reverse',
      ]);
      const samples = Number(execFileSync('soxi', ['-s', out]).toString().trim());
      const ms = Math.round((samples / RATE) * 1000);
      segment.participantId = ids.get(segment.speaker);
      segment.startMs = cursorMs;
      segment.endMs = cursorMs + ms;
      parts.push(out, silence(GAP_MS, `gap-${i}.wav`));
      cursorMs += ms + GAP_MS;
    });
    const wavPath = path.join(path.dirname(jsonPath), fixture.file);
    execFileSync('sox', [
      ...parts,
      '-r',
      String(RATE),
      '-c',
      '1',
      '-b',
      '16',
      '-e',
      'signed-integer',
      wavPath,
      ...ROOM,
    ]);
    const total = Number(execFileSync('soxi', ['-s', wavPath]).toString().trim());
    fixture.durationMs = Math.round((total / RATE) * 1000);
    writeFileSync(jsonPath, `${JSON.stringify(fixture, null, 1)}\n`);
    console.log(`${wavPath}: ${fixture.durationMs} ms, ${fixture.segments.length} segments`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
