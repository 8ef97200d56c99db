/**
 * Briefing and ask quality of the embedded engine (`npm run bench:briefing`).
 *
 * For each labelled meeting in fixtures/ (its JSON's `briefing` is the answer key, its
 * `.questions.json` the ask questions):
 * - briefing precision and recall per field (decisions, action items — also with the right owner
 *   and due date —, open questions, blockers, topics), see lib-briefing-score.ts for matching;
 * - ask recall@3: a question counts when one of the three lines ask cites is one of its answer lines;
 * on two transcripts: the reference text (the fixture's segments) and the local speech engine's
 * own transcript of the audio (PocketSphinx through the local Deepgram-compatible server, see
 * lib-local-transcript.ts), whose lines are mapped to answer segments by time overlap.
 * Baseline, measured in the same run: the engine before issue #14 (baseline-extractive-engine.ts)
 * and plain BM25 retrieval.
 *
 * Options: `--reference-only` skips the local transcripts (seconds instead of minutes);
 * `--show` prints every extracted item.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ExtractiveEngine } from '../core/briefing/extractive-engine';
import type { BriefContent, TranscriptLine } from '../core/briefing/model';
import { answerLines, Bm25Index } from '../core/briefing/retrieval';
import { startSpeechServer } from '../local/speech-server';
import { BaselineExtractiveEngine } from './baseline-extractive-engine';
import { flagArg, machineFacts, markdownTable } from './lib-bench';
import {
  type BriefingScore,
  type FieldScore,
  type LabelledBriefing,
  scoreBriefing,
  totalScore,
} from './lib-briefing-score';
import { localTranscript, type ScriptSegment } from './lib-local-transcript';

const FIXTURES = ['standup-meeting', 'sprint-planning', 'website-review'];
const FIXTURE_DIR = path.resolve(__dirname, '..', 'fixtures');

interface Fixture {
  name: string;
  title: string;
  segments: ScriptSegment[];
  briefing: LabelledBriefing;
  questions: { question: string; answers: number[] }[];
}

function load(name: string): Fixture {
  const json = JSON.parse(readFileSync(path.join(FIXTURE_DIR, `${name}.json`), 'utf8'));
  const q = JSON.parse(readFileSync(path.join(FIXTURE_DIR, `${name}.questions.json`), 'utf8'));
  return {
    name,
    title: json.title,
    segments: json.segments,
    briefing: json.briefing,
    questions: q.questions,
  };
}

function referenceLines(f: Fixture): TranscriptLine[] {
  return f.segments.map((s, i) => ({
    seq: i + 1,
    speaker: s.speaker,
    text: s.text,
    startMs: s.startMs,
    endMs: s.endMs,
  }));
}

type Retriever = (question: string, lines: readonly TranscriptLine[]) => TranscriptLine[];
const RETRIEVERS: Record<string, Retriever> = {
  'answerLines (new)': (q, lines) => answerLines(q, lines, 3).map((s) => s.line),
  'BM25 (baseline)': (q, lines) => new Bm25Index(lines).search(q, 3).map((s) => s.line),
};

/** Does one of `cited` answer the question? On the reference: its seq; locally: time overlap. */
function answered(f: Fixture, answers: number[], cited: TranscriptLine[], local: boolean): boolean {
  return cited.some((line) =>
    answers.some((n) => {
      if (!local) return line.seq === n;
      const s = f.segments[n - 1]!;
      return Math.min(line.endMs, s.endMs) - Math.max(line.startMs, s.startMs) > 0;
    }),
  );
}

const pct = (v: number) => v.toFixed(2);
const cell = (s: FieldScore) =>
  `${pct(s.precision)} / ${pct(s.recall)} (${s.matched}/${s.labels}, ${s.extracted} found)`;

function scoreRows(label: string, score: BriefingScore): (string | number)[] {
  return [
    label,
    cell(score.decisions),
    cell(score.actionItems),
    `${pct(score.actionItemsExact.precision)} / ${pct(score.actionItemsExact.recall)}`,
    cell(score.openQuestions),
    cell(score.blockers),
    cell(score.topics),
  ];
}

async function main(): Promise<void> {
  const referenceOnly = flagArg('reference-only');
  const show = flagArg('show');
  const fixtures = FIXTURES.map(load);
  const engines = { new: new ExtractiveEngine(), baseline: new BaselineExtractiveEngine() };

  const transcripts: { kind: 'reference' | 'local'; fixture: Fixture; lines: TranscriptLine[] }[] = [];
  for (const f of fixtures) transcripts.push({ kind: 'reference', fixture: f, lines: referenceLines(f) });
  if (!referenceOnly) {
    const server = await startSpeechServer({ logger: quietLogger() });
    try {
      for (const f of fixtures) {
        const lines = await localTranscript(server, path.join(FIXTURE_DIR, `${f.name}.wav`), f.segments);
        transcripts.push({ kind: 'local', fixture: f, lines });
      }
    } finally {
      await server.stop();
    }
  }

  const scores: Record<string, { kind: string; engine: string; fixture: string; score: BriefingScore }[]> =
    {};
  const briefRows: (string | number)[][] = [];
  for (const t of transcripts) {
    for (const [engineName, engine] of Object.entries(engines)) {
      const brief: BriefContent = await engine.brief(t.lines);
      const score = scoreBriefing(t.fixture.briefing, brief);
      const key = `${t.kind} ${engineName}`;
      const list = scores[key] ?? [];
      scores[key] = list;
      list.push({ kind: t.kind, engine: engineName, fixture: t.fixture.name, score });
      briefRows.push(scoreRows(`${t.fixture.name}, ${t.kind}, ${engineName}`, score));
      if (show && engineName === 'new') {
        console.log(`\n### ${t.fixture.name} (${t.kind})`);
        if (t.kind === 'local') for (const l of t.lines) console.log(`    ${l.speaker}: ${l.text}`);
        console.log(JSON.stringify({ ...brief, summary: undefined, keyPoints: undefined }, null, 1));
      }
    }
  }
  for (const [key, list] of Object.entries(scores)) {
    briefRows.push(scoreRows(`**all, ${key}**`, totalScore(list.map((s) => s.score))));
  }

  const askRows: (string | number)[][] = [];
  for (const [name, retrieve] of Object.entries(RETRIEVERS)) {
    for (const kind of ['reference', 'local'] as const) {
      let hits = 0;
      let total = 0;
      const perFixture: string[] = [];
      for (const t of transcripts.filter((x) => x.kind === kind)) {
        let h = 0;
        for (const q of t.fixture.questions) {
          const cited = retrieve(q.question, t.lines);
          const ok = answered(t.fixture, q.answers, cited, kind === 'local');
          if (ok) h++;
          else if (show && name.includes('new'))
            console.log(`miss (${kind}) ${t.fixture.name}: ${q.question}`);
        }
        hits += h;
        total += t.fixture.questions.length;
        perFixture.push(`${t.fixture.name} ${h}/${t.fixture.questions.length}`);
      }
      if (total > 0) askRows.push([name, kind, pct(hits / total), perFixture.join(', ')]);
    }
  }

  console.log(`\n${machineFacts()}\n`);
  console.log('Briefing fields: precision / recall (matched/labelled, extracted)\n');
  console.log(
    markdownTable(
      [
        'meeting, transcript, engine',
        'decisions',
        'action items',
        'action items, owner + due (P / R)',
        'open questions',
        'blockers',
        'topics',
      ],
      briefRows,
    ),
  );
  console.log('\nAsk: answer recall@3\n');
  console.log(markdownTable(['retrieval', 'transcript', 'recall@3', 'per meeting'], askRows));
}

/** The speech server logs every stream at INFO; the benchmark only wants its own tables. */
function quietLogger() {
  // biome-ignore lint/suspicious/noExplicitAny: a minimal Logger stand-in for the server's info/warn/error calls.
  const noop: any = {
    info() {},
    warn() {},
    error() {},
    debug() {},
    createChild: () => noop,
    appendKeys() {},
  };
  return noop;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
