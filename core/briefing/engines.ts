/**
 * Which briefing engine this process uses: OpenAI when `OPENAI_API_KEY` (or its
 * `_SECRET_ARN`) is set, else the embedded extractive engine — which speaks with espeak-ng when
 * `SPEECH_SYNTHESIS=espeak-ng`, and not at all otherwise. Chosen once, on first use; the engine's
 * modules (the OpenAI SDK is ~150 KB) load then too, not when the function starts: the fan-out
 * needs an engine only when a rolling briefing is due (docs/benchmarks.md, cold start).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { optionalSecret } from '../clients/secrets';
import type { BriefingConfig } from './config';
import type { BriefingEngine } from './model';

export function briefingEngineFactory(config: BriefingConfig, logger: Logger): () => Promise<BriefingEngine> {
  let engine: Promise<BriefingEngine> | undefined;
  return () => {
    engine ??= optionalSecret('OPENAI_API_KEY').then(async (apiKey) => {
      if (!apiKey) {
        logger.info('OpenAI is not configured: using the embedded extractive engine', {
          speech: config.speechSynthesis ?? 'none',
        });
        const { ExtractiveEngine } = await import('./extractive-engine');
        if (config.speechSynthesis !== 'espeak-ng') return new ExtractiveEngine({});
        const { espeakSpeech } = await import('./espeak-speech');
        return new ExtractiveEngine({ speak: espeakSpeech() });
      }
      const [{ default: OpenAI }, { OpenAiEngine }] = await Promise.all([
        import('openai'),
        import('./openai-engine'),
      ]);
      const client = new OpenAI({
        apiKey,
        baseURL: config.openaiBaseUrl,
        timeout: config.timeoutMs,
        maxRetries: 1,
      });
      return new OpenAiEngine({ client, config, logger });
    });
    engine.catch(() => {
      engine = undefined; // a failed secret read or import is retried on the next request
    });
    return engine;
  };
}
