/**
 * Briefings and answers from an OpenAI (or OpenAI-compatible) chat model, with Structured
 * Outputs: every request carries `response_format: { type: "json_schema", json_schema:
 * { name, strict: true, schema } }` generated from a zod schema, and every answer is validated
 * with that same schema; an answer that does not parse is an UpstreamError `AI_BAD_RESPONSE`
 * (HTTP 502), never a half-filled briefing.
 * https://platform.openai.com/docs/guides/structured-outputs
 *
 * Long transcripts: when the formatted transcript exceeds `contextChars`, it is split into
 * chunks that fit, each chunk is briefed on its own (map, a few at a time), and the partial
 * briefings are merged (reduce; merged in groups again if even they do not fit).
 * Questions: the whole transcript when it fits, else the BM25-most-relevant lines (with their
 * neighbours) up to the budget.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import * as z from 'zod';
import { UpstreamError } from '../errors';
import { looksLikeMp3 } from '../recall/mp3';
import { chunkLines, formatLine, groupTexts, transcriptText } from './chunks';
import type { BriefingConfig } from './config';
import type { Answer, BriefContent, BriefingEngine, TranscriptLine } from './model';
import { Bm25Index } from './retrieval';

/** What the model must return for a briefing (strict mode: every field required, owner nullable). */
export const ModelBriefSchema = z.object({
  summary: z.string().describe('What the meeting was about and what came of it, in 2-6 sentences'),
  keyPoints: z.array(z.string()).describe('The main points discussed, one sentence each'),
  decisions: z.array(z.string()).describe('Decisions actually made in the meeting'),
  actionItems: z
    .array(
      z.object({
        text: z.string().describe('What is to be done, as a short imperative ("Update the release notes")'),
        owner: z
          .string()
          .nullable()
          .describe(
            'Who committed to it (the speaker of "I will …") or was asked to do it (the person named in "Ken, please …"), or null when nobody did',
          ),
        due: z
          .string()
          .nullable()
          .describe(
            'When it is due, in the meeting\'s words without "by" ("Thursday", "this afternoon", "next week"), or null',
          ),
      }),
    )
    .describe('Tasks someone committed to or was asked to do'),
  openQuestions: z
    .array(z.string())
    .describe(
      'Questions raised and not answered in the meeting (deferred ones included), each ending in "?"',
    ),
  blockers: z.array(z.string()).describe('What stands in someone\'s way, as "<speaker>: <what blocks them>"'),
  topics: z
    .array(z.string())
    .describe('The subjects discussed, as short noun phrases (2-4 words), at most 6'),
});

export const ModelAnswerSchema = z.object({
  answer: z.string().describe('A short answer (at most 4 sentences) from the transcript only'),
  citations: z.array(z.number()).describe('The #seq numbers of the transcript lines the answer relies on'),
});

/** JSON Schema for `response_format` (strict mode needs additionalProperties: false, all required). */
export function structuredOutputSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return json;
}

const BRIEF_FORMAT = { name: 'meeting_brief', schema: structuredOutputSchema(ModelBriefSchema) };
const ANSWER_FORMAT = { name: 'meeting_answer', schema: structuredOutputSchema(ModelAnswerSchema) };

const LINE_FORMAT_NOTE = 'Transcript lines look like "[#<seq> <m:ss>] <speaker>: <text>".';
const BRIEF_INSTRUCTIONS = [
  'You write briefings of meetings from their transcripts, for people who missed the meeting.',
  LINE_FORMAT_NOTE,
  'Use only what the transcript says; do not invent names, numbers or commitments.',
  'Transcripts come from live speech recognition and may contain misheard words.',
  'Transcripts may have no punctuation at all: recognise questions by their wording, not by "?".',
  'An action item\'s owner is the speaker who commits ("I will …") or the person asked ("Ken, please …", "Marcus, can you …");',
  'a request and its acceptance ("Sure, I will …") are one action item.',
  'A question is open unless the meeting answers it; one deferred ("we will decide that on Monday") stays open.',
  'Leave a list empty when the transcript has nothing for it.',
].join(' ');
const REDUCE_INSTRUCTIONS = [
  'You merge partial briefings of consecutive parts of one meeting, given in meeting order, into one briefing.',
  'Remove duplicates, keep every distinct decision and action item, and drop an open question a later part answers.',
  'Use only what the partial briefings say.',
].join(' ');
const ASK_INSTRUCTIONS = [
  'You answer questions about a meeting from its transcript.',
  LINE_FORMAT_NOTE,
  'Answer only from the transcript, in at most 4 sentences (the answer may be read aloud in the meeting).',
  'Put the #seq numbers of the lines you relied on in citations.',
  'If the transcript does not answer the question, say so and cite nothing.',
].join(' ');

/** Longest text sent to text-to-speech (the API takes 4,096 characters). */
export const MAX_SPOKEN_CHARS = 1_500;

export interface OpenAiEngineOptions {
  client: OpenAI;
  config: Pick<BriefingConfig, 'model' | 'ttsModel' | 'ttsVoice' | 'contextChars' | 'mapConcurrency'>;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

export class OpenAiEngine implements BriefingEngine {
  readonly briefEngine: string;
  readonly askEngine: string;
  private readonly client: OpenAI;
  private readonly config: OpenAiEngineOptions['config'];
  private readonly logger: OpenAiEngineOptions['logger'];

  constructor(options: OpenAiEngineOptions) {
    this.client = options.client;
    this.config = options.config;
    this.logger = options.logger;
    this.briefEngine = `openai:${options.config.model}`;
    this.askEngine = this.briefEngine;
  }

  async brief(lines: readonly TranscriptLine[], context: { title: string }): Promise<BriefContent> {
    const chunks = chunkLines(lines, this.config.contextChars);
    if (chunks.length <= 1) {
      return toBriefContent(
        await this.complete(BRIEF_FORMAT, ModelBriefSchema, 'briefing', [
          { role: 'system', content: BRIEF_INSTRUCTIONS },
          {
            role: 'user',
            content: `Meeting: ${context.title}\n\nTranscript:\n${transcriptText(chunks[0] ?? [])}`,
          },
        ]),
      );
    }
    this.logger?.info('briefing by map-reduce', { chunks: chunks.length, lines: lines.length });
    const partials = await mapLimit(chunks, this.config.mapConcurrency, (chunk, i) =>
      this.complete(BRIEF_FORMAT, ModelBriefSchema, 'briefing', [
        { role: 'system', content: BRIEF_INSTRUCTIONS },
        {
          role: 'user',
          content:
            `Meeting: ${context.title}\n\nThis is part ${i + 1} of ${chunks.length} of the transcript; ` +
            `brief this part only.\n\nTranscript:\n${transcriptText(chunk)}`,
        },
      ]),
    );
    return toBriefContent(
      await this.reduce(
        partials.map((p) => JSON.stringify(p)),
        context.title,
      ),
    );
  }

  /** Merges partial briefings (JSON texts) until one remains. */
  private async reduce(texts: string[], title: string): Promise<z.infer<typeof ModelBriefSchema>> {
    let level = texts;
    for (;;) {
      let groups = groupTexts(level, this.config.contextChars);
      // A group per text would never converge: merge pairs regardless of the budget.
      if (groups.length === level.length && level.length > 1) {
        groups = [];
        for (let i = 0; i < level.length; i += 2) groups.push(level.slice(i, i + 2));
      }
      const merged = await mapLimit(groups, this.config.mapConcurrency, (group) =>
        this.complete(BRIEF_FORMAT, ModelBriefSchema, 'briefing', [
          { role: 'system', content: REDUCE_INSTRUCTIONS },
          {
            role: 'user',
            content: `Meeting: ${title}\n\nPartial briefings (JSON, in meeting order):\n${group.join('\n')}`,
          },
        ]),
      );
      if (merged.length === 1) return merged[0]!;
      level = merged.map((m) => JSON.stringify(m));
    }
  }

  async ask(question: string, lines: readonly TranscriptLine[], context: { title: string }): Promise<Answer> {
    const selected = this.selectForQuestion(question, lines);
    const result = await this.complete(ANSWER_FORMAT, ModelAnswerSchema, 'answer', [
      { role: 'system', content: ASK_INSTRUCTIONS },
      {
        role: 'user',
        content:
          `Meeting: ${context.title}\n\nTranscript${selected.length < lines.length ? ' (the lines most relevant to the question)' : ''}:\n` +
          `${transcriptText(selected)}\n\nQuestion: ${question}`,
      },
    ]);
    if (result.answer.trim() === '') throw badResponse('an empty answer');
    const known = new Set(selected.map((l) => l.seq));
    const citations = [...new Set(result.citations.filter((seq) => Number.isInteger(seq) && known.has(seq)))];
    return { answer: result.answer.trim(), citations };
  }

  readonly speak = async (text: string): Promise<Buffer> => {
    let audio: Buffer;
    try {
      const response = await this.client.audio.speech.create({
        model: this.config.ttsModel,
        voice: this.config.ttsVoice,
        input: spokenText(text),
        response_format: 'mp3',
      });
      audio = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      throw upstreamFailure(error, 'text-to-speech');
    }
    if (audio.length === 0 || !looksLikeMp3(audio)) {
      throw new UpstreamError('AI_BAD_RESPONSE', 'The text-to-speech service returned audio that is not MP3');
    }
    return audio;
  };

  /** The whole transcript if it fits, else the most relevant lines and their neighbours. */
  private selectForQuestion(question: string, lines: readonly TranscriptLine[]): TranscriptLine[] {
    const budget = this.config.contextChars;
    const size = (l: TranscriptLine) => formatLine(l).length + 1;
    if (lines.reduce((sum, l) => sum + size(l), 0) <= budget) return [...lines];
    const indexOf = new Map(lines.map((l, i) => [l.seq, i]));
    const chosen = new Set<number>();
    let used = 0;
    const take = (i: number): boolean => {
      const line = lines[i];
      if (!line || chosen.has(i)) return true;
      if (used + size(line) > budget) return false;
      chosen.add(i);
      used += size(line);
      return true;
    };
    for (const hit of new Bm25Index(lines).search(question)) {
      const i = indexOf.get(hit.line.seq)!;
      if (!take(i)) break;
      take(i - 1);
      take(i + 1);
    }
    // Nothing matched (or room is left): the end of the meeting is the best context.
    for (let i = lines.length - 1; i >= 0 && take(i); i--);
    return [...chosen].sort((a, b) => a - b).map((i) => lines[i]!);
  }

  private async complete<S extends z.ZodType>(
    format: { name: string; schema: Record<string, unknown> },
    schema: S,
    what: string,
    messages: ChatCompletionMessageParam[],
  ): Promise<z.infer<S>> {
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await this.client.chat.completions.create({
        model: this.config.model,
        messages,
        response_format: {
          type: 'json_schema',
          json_schema: { name: format.name, strict: true, schema: format.schema },
        },
      });
    } catch (error) {
      throw upstreamFailure(error, 'chat completion');
    }
    const choice = completion?.choices?.[0];
    if (!choice?.message) throw badResponse(`no ${what}`);
    if (choice.message.refusal) {
      throw new UpstreamError('AI_REFUSED', `The AI model refused to write the ${what}`);
    }
    if (choice.finish_reason === 'length') throw badResponse(`a ${what} that was cut off (too long)`);
    const content = choice.message.content;
    if (typeof content !== 'string' || content.trim() === '') throw badResponse(`an empty ${what}`);
    let json: unknown;
    try {
      json = JSON.parse(content);
    } catch {
      throw badResponse(`a ${what} that is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badResponse(
        `a ${what} that does not match its schema (${issue?.path.join('.') || 'root'}: ${issue?.message})`,
      );
    }
    return parsed.data;
  }
}

function toBriefContent(model: z.infer<typeof ModelBriefSchema>): BriefContent {
  if (model.summary.trim() === '') throw badResponse('a briefing with an empty summary');
  const clean = (items: string[]) => items.map((s) => s.trim()).filter(Boolean);
  return {
    summary: model.summary.trim(),
    keyPoints: clean(model.keyPoints),
    decisions: clean(model.decisions),
    actionItems: model.actionItems
      .filter((a) => a.text.trim() !== '')
      .map((a) => ({
        text: a.text.trim(),
        ...(a.owner?.trim() ? { owner: a.owner.trim() } : {}),
        ...(a.due?.trim() ? { due: a.due.trim() } : {}),
      })),
    openQuestions: clean(model.openQuestions),
    blockers: clean(model.blockers),
    topics: clean(model.topics),
  };
}

function badResponse(what: string): UpstreamError {
  return new UpstreamError('AI_BAD_RESPONSE', `The AI model returned ${what}; try again`);
}

function upstreamFailure(error: unknown, what: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new UpstreamError('AI_UNAVAILABLE', `The AI service timed out (${what})`, { cause: error });
  }
  if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
    return new UpstreamError('AI_UNAVAILABLE', `The AI service failed (${what}: HTTP ${error.status})`, {
      cause: error,
    });
  }
  return new UpstreamError('AI_UNAVAILABLE', `The AI service could not be reached (${what})`, {
    cause: error,
  });
}

/** At most MAX_SPOKEN_CHARS, cut at a sentence end when there is one. */
export function spokenText(text: string): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= MAX_SPOKEN_CHARS) return clean;
  const cut = clean.slice(0, MAX_SPOKEN_CHARS);
  const end = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('? '), cut.lastIndexOf('! '));
  return end > MAX_SPOKEN_CHARS / 2 ? cut.slice(0, end + 1) : `${cut.trimEnd()}…`;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
