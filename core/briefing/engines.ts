/**
 * Which briefing engine this process uses: OpenAI when `OPENAI_API_KEY` (or its
 * `_SECRET_ARN`) is set, else the embedded extractive engine — which speaks with espeak-ng when
 * `SPEECH_SYNTHESIS=espeak-ng`, and not at all otherwise. Chosen once, on first use.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import OpenAI from 'openai';
import { optionalSecret } from '../clients/secrets';
import type { BriefingConfig } from './config';
import { espeakSpeech } from './espeak-speech';
import { ExtractiveEngine } from './extractive-engine';
import type { BriefingEngine } from './model';
import { OpenAiEngine } from './openai-engine';

export function briefingEngineFactory(config: BriefingConfig, logger: Logger): () => Promise<BriefingEngine> {
  let engine: Promise<BriefingEngine> | undefined;
  return () => {
    engine ??= optionalSecret('OPENAI_API_KEY').then((apiKey) => {
      if (!apiKey) {
        logger.info('OpenAI is not configured: using the embedded extractive engine', {
          speech: config.speechSynthesis ?? 'none',
        });
        return new ExtractiveEngine(config.speechSynthesis === 'espeak-ng' ? { speak: espeakSpeech() } : {});
      }
      const client = new OpenAI({
        apiKey,
        baseURL: config.openaiBaseUrl,
        timeout: config.timeoutMs,
        maxRetries: 1,
      });
      return new OpenAiEngine({ client, config, logger });
    });
    engine.catch(() => {
      engine = undefined; // a failed secret read is retried on the next request
    });
    return engine;
  };
}
