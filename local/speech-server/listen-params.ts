/**
 * Query parameters of Deepgram's live `/v1/listen`, parsed the way the API treats them:
 * malformed values fail the handshake (HTTP 400); well-formed audio settings this server cannot
 * decode are accepted and the stream is closed with 1008 `DATA-0000` when audio arrives, as
 * Deepgram does with audio it cannot decode.
 */

/** Encodings Deepgram's live API accepts (https://developers.deepgram.com/docs/encoding). */
const DEEPGRAM_ENCODINGS = new Set([
  'linear16',
  'linear32',
  'flac',
  'alaw',
  'mulaw',
  'amr-nb',
  'amr-wb',
  'opus',
  'ogg-opus',
  'speex',
  'g729',
]);
/** Raw encodings this server decodes (to 16 kHz int16 samples, core/audio/speech-encoding.ts). */
const DECODABLE_ENCODINGS = new Set(['linear16', 'mulaw']);
/** Raw (headerless) encodings need `sample_rate`. */
const RAW_ENCODINGS = new Set(['linear16', 'linear32', 'alaw', 'mulaw', 'amr-nb', 'amr-wb', 'g729']);

/** Deepgram's default when `endpointing` is absent (https://developers.deepgram.com/docs/endpointing). */
export const DEEPGRAM_DEFAULT_ENDPOINTING_MS = 10;

export interface ListenParams {
  model: string;
  language: string;
  /** `undefined`: no encoding given, the audio must carry a container (WAV or Ogg Opus here). */
  encoding: string | undefined;
  sampleRate: number | undefined;
  channels: number;
  interimResults: boolean;
  punctuate: boolean;
  smartFormat: boolean;
  diarize: boolean;
  vadEvents: boolean;
  /** Requested silence (ms) that ends an utterance; `null` = `endpointing=false`. */
  endpointingMs: number | null;
  utteranceEndMs: number | null;
  keyterms: string[];
  /** Deepgram's `tag` labels (repeatable), e.g. the file worker's `job-<id>`. */
  tags: string[];
  /** Set when the audio format is valid for Deepgram but not decodable by this server. */
  unsupportedAudio: string | undefined;
}

export type ParseResult = { ok: true; params: ListenParams } | { ok: false; message: string };

export function parseListenParams(query: URLSearchParams): ParseResult {
  const errors: string[] = [];
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = query.get(name);
    if (raw === null || raw === '') return fallback;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    errors.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };
  const positiveInt = (name: string): number | undefined => {
    const raw = query.get(name);
    if (raw === null || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) {
      errors.push(`${name} must be a positive integer, got "${raw}"`);
      return undefined;
    }
    return value;
  };

  const encoding = query.get('encoding')?.toLowerCase() || undefined;
  if (encoding !== undefined && !DEEPGRAM_ENCODINGS.has(encoding)) {
    errors.push(`unknown encoding "${encoding}"`);
  }
  const sampleRate = positiveInt('sample_rate');
  if (encoding !== undefined && RAW_ENCODINGS.has(encoding) && sampleRate === undefined) {
    errors.push(`sample_rate is required with encoding=${encoding}`);
  }
  const channels = positiveInt('channels') ?? 1;

  let endpointingMs: number | null = DEEPGRAM_DEFAULT_ENDPOINTING_MS;
  const endpointing = query.get('endpointing');
  if (endpointing === 'false') endpointingMs = null;
  else if (endpointing !== null && endpointing !== '' && endpointing !== 'true') {
    const value = Number(endpointing);
    if (Number.isInteger(value) && value >= 0) endpointingMs = value;
    else errors.push(`endpointing must be false or a number of milliseconds, got "${endpointing}"`);
  }

  const utteranceEndMs = positiveInt('utterance_end_ms') ?? null;
  const params: ListenParams = {
    model: query.get('model') || 'base',
    language: query.get('language') || 'en',
    encoding,
    sampleRate,
    channels,
    interimResults: bool('interim_results', false),
    punctuate: bool('punctuate', false),
    smartFormat: bool('smart_format', false),
    diarize: bool('diarize', false),
    vadEvents: bool('vad_events', false),
    endpointingMs,
    utteranceEndMs,
    keyterms: parseKeyterms(query),
    tags: query.getAll('tag').filter((t) => t !== ''),
    unsupportedAudio: undefined,
  };
  if (errors.length > 0) return { ok: false, message: errors.join('; ') };
  params.unsupportedAudio = unsupportedAudio(params);
  return { ok: true, params };
}

function unsupportedAudio(params: ListenParams): string | undefined {
  if (params.encoding !== undefined && !DECODABLE_ENCODINGS.has(params.encoding)) {
    return `encoding=${params.encoding} (this server decodes linear16 and mulaw only)`;
  }
  if (params.sampleRate !== undefined && params.sampleRate !== 16_000) {
    return `sample_rate=${params.sampleRate} (this server decodes 16000 Hz only)`;
  }
  if (params.channels !== 1) return `channels=${params.channels} (this server decodes mono only)`;
  return undefined;
}

/** `keyterm` repeats once per term; a JSON array in one value is accepted too. */
function parseKeyterms(query: URLSearchParams): string[] {
  const terms: string[] = [];
  for (const raw of query.getAll('keyterm')) {
    if (raw.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (Array.isArray(parsed)) {
          terms.push(...parsed.filter((t): t is string => typeof t === 'string'));
          continue;
        }
      } catch {
        // not JSON: a literal term
      }
    }
    if (raw.trim() !== '') terms.push(raw);
  }
  return terms;
}
