/**
 * Briefing settings, read once per process. The OpenAI key itself is a secret
 * (`OPENAI_API_KEY`, or `OPENAI_API_KEY_SECRET_ARN` on AWS; see core/clients/secrets.ts) and is
 * read when first needed; without it the embedded engine answers.
 */
import { intEnv, optionalEnv, urlEnv } from '../config';
import { ConfigError } from '../errors';

export interface BriefingConfig {
  /** Any OpenAI-compatible server; default OpenAI's own. */
  openaiBaseUrl: string | undefined;
  model: string;
  ttsModel: string;
  ttsVoice: string;
  /**
   * Transcript characters sent in one request (≈ tokens × 4). Longer transcripts are briefed
   * by map (chunk summaries) then reduce. Default 240,000 (≈ 60k tokens).
   */
  contextChars: number;
  /** Per OpenAI request. Keep the sum below API Gateway's 30 s integration timeout. */
  timeoutMs: number;
  /** Chunk summaries requested at once during map-reduce. */
  mapConcurrency: number;
  /**
   * `espeak-ng`: without OpenAI, speak answers with the embedded espeak-ng + ffmpeg
   * (core/briefing/espeak-speech.ts; local mode sets it). Unset: only OpenAI can speak.
   */
  speechSynthesis: 'espeak-ng' | undefined;
}

const SPEECH_SYNTHESIZERS = ['espeak-ng'] as const;

export const MIN_CONTEXT_CHARS = 200;

export function loadBriefingConfig(env: Record<string, string | undefined> = process.env): BriefingConfig {
  const contextChars = intEnv('OPENAI_CONTEXT_CHARS', 240_000, env);
  if (contextChars < MIN_CONTEXT_CHARS) {
    throw new ConfigError(`OPENAI_CONTEXT_CHARS environment variable must be at least ${MIN_CONTEXT_CHARS}`);
  }
  return {
    openaiBaseUrl:
      optionalEnv('OPENAI_BASE_URL', env) === undefined ? undefined : urlEnv('OPENAI_BASE_URL', env),
    model: optionalEnv('OPENAI_MODEL', env) ?? 'gpt-4o-mini',
    ttsModel: optionalEnv('OPENAI_TTS_MODEL', env) ?? 'gpt-4o-mini-tts',
    ttsVoice: optionalEnv('OPENAI_TTS_VOICE', env) ?? 'alloy',
    contextChars,
    timeoutMs: intEnv('OPENAI_TIMEOUT_MS', 25_000, env),
    mapConcurrency: Math.max(1, intEnv('OPENAI_MAP_CONCURRENCY', 4, env)),
    speechSynthesis: speechSynthesis(env),
  };
}

function speechSynthesis(env: Record<string, string | undefined>): BriefingConfig['speechSynthesis'] {
  const value = optionalEnv('SPEECH_SYNTHESIS', env);
  if (value === undefined) return undefined;
  if (!(SPEECH_SYNTHESIZERS as readonly string[]).includes(value)) {
    throw new ConfigError(
      `SPEECH_SYNTHESIS environment variable must be one of ${SPEECH_SYNTHESIZERS.join(', ')} (or unset), got "${value}"`,
    );
  }
  return value as BriefingConfig['speechSynthesis'];
}
