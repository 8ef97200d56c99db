/**
 * Transcript lines as the extraction rules read them: speaker turns cut into sentences.
 *
 * Live speech engines cut one spoken sentence into several finals at pauses ("who will present
 * the demo" / "to the customer next week"), and some punctuate each final as if it were a whole
 * sentence. So consecutive lines of one speaker close in time form one turn, and a sentence that
 * opens with a word that cannot start one ("to", "because", "with" …) is joined to the one before.
 */
import type { TranscriptLine } from './model';
import { splitSentences } from './text';

export interface Utterance {
  /** Position among all utterances of the meeting. */
  index: number;
  /** Turn number: consecutive utterances of one speaker share it. */
  turn: number;
  /** Seq of the line the utterance starts in. */
  seq: number;
  speaker: string;
  text: string;
}

/** Lines of one speaker at most this far apart belong to one turn. */
export const TURN_GAP_MS = 1_500;

const CONTINUATION =
  /^(?:to|with|for|because|cause|cuz|since|on|at|by|until|till|from|of|about|after|before|than|which|who(?= is\b| was\b| are\b)|including|without|so that|rather than)\b/i;

export function toUtterances(lines: readonly TranscriptLine[]): Utterance[] {
  const out: Utterance[] = [];
  let turn = -1;
  let previous: TranscriptLine | undefined;
  for (const line of lines) {
    const sameTurn =
      previous !== undefined &&
      previous.speaker === line.speaker &&
      line.startMs - previous.endMs <= TURN_GAP_MS;
    if (!sameTurn) turn++;
    splitSentences(line.text).forEach((sentence, i) => {
      const last = out[out.length - 1];
      // Only across lines: inside one line the engine's punctuation stands ("Good. For the page, …").
      if (i === 0 && last && last.turn === turn && CONTINUATION.test(sentence)) {
        last.text = `${last.text.replace(/[.]$/, '')} ${lowerFirst(sentence)}`;
        return;
      }
      out.push({ index: out.length, turn, seq: line.seq, speaker: line.speaker, text: sentence });
    });
    previous = line;
  }
  return out;
}

/** "To the customer" → "to the customer" (continuation words are never names). */
function lowerFirst(text: string): string {
  return text[0]!.toLowerCase() + text.slice(1);
}
