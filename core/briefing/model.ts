/**
 * What a briefing engine reads (transcript lines) and produces (a briefing's content, an
 * answer with citations). Both engines — OpenAI and the embedded extractive one — return
 * the same shapes, labelled with their engine name.
 */
import * as z from 'zod';

/** One final transcript line as the engines read it. */
export interface TranscriptLine {
  seq: number;
  speaker: string;
  text: string;
  startMs: number;
  endMs: number;
}

export const ActionItemSchema = z.object({
  text: z.string().describe('What is to be done'),
  owner: z.string().optional().describe('Who committed to it or was asked to do it; absent when nobody'),
  due: z
    .string()
    .optional()
    .describe('When it is due, as said in the meeting ("Thursday", "this afternoon", "next week")'),
});
export type ActionItem = z.infer<typeof ActionItemSchema>;

export const BriefContentSchema = z.object({
  summary: z.string(),
  keyPoints: z.array(z.string()),
  decisions: z.array(z.string()),
  actionItems: z.array(ActionItemSchema),
  openQuestions: z.array(z.string()),
  /** What stands in the way, with who said it ("Ken: blocked on the dashboard …"). */
  blockers: z.array(z.string()),
  /** Short noun phrases naming what the meeting talked about. */
  topics: z.array(z.string()),
});
export type BriefContent = z.infer<typeof BriefContentSchema>;

export interface Answer {
  answer: string;
  /** Seqs of the transcript lines the answer relies on, most relevant first. */
  citations: number[];
}

export const EMBEDDED_BRIEF_ENGINE = 'embedded-extractive';
export const EMBEDDED_ASK_ENGINE = 'embedded-retrieval';

export interface BriefingEngine {
  /** `openai:<model>` or `embedded-extractive`: the label every briefing carries. */
  readonly briefEngine: string;
  /** `openai:<model>` or `embedded-retrieval`: the label every answer carries. */
  readonly askEngine: string;
  brief(lines: readonly TranscriptLine[], context: { title: string }): Promise<BriefContent>;
  ask(question: string, lines: readonly TranscriptLine[], context: { title: string }): Promise<Answer>;
  /** Text to MP3 speech; absent when the engine cannot speak. */
  readonly speak?: (text: string) => Promise<Buffer>;
}

/** `mm:ss` or `h:mm:ss` from milliseconds, for prompts and quotes. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}
