/**
 * PocketSphinx 5prealpha (Debian `libpocketsphinx3`, `libsphinxbase3`, `pocketsphinx-en-us`) called
 * in-process through koffi. Signatures follow /usr/include/pocketsphinx/pocketsphinx.h and
 * /usr/include/<triplet>/sphinxbase/cmd_ln.h of version 0.8+5prealpha: a wrong one crashes the
 * process, so change them only against those headers.
 *
 * A `Recognizer` holds one decoder and decodes one audio stream (16 kHz mono S16LE). It is
 * synchronous and CPU-bound: run it inside a worker thread (see recognizer-worker.ts), never on
 * the server's event loop.
 */
import koffi from 'koffi';

/** Debian install locations; the libraries are found by soname so any architecture works. */
export const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
const POCKETSPHINX_SONAME = 'libpocketsphinx.so.3';
const SPHINXBASE_SONAME = 'libsphinxbase.so.3';

/** PocketSphinx computes one feature frame every 10 ms (`-frate 100`). */
export const FRAME_MS = 10;
export const SAMPLE_RATE = 16_000;

/**
 * Decoder options for streams no one listens to live (file jobs): a tighter cap on the HMMs
 * (`-maxhmmpf`, default 30000) and words (`-maxwpf`, default unlimited) the search keeps per
 * frame. On the shared fixtures (bench/engine-options.ts, docs/benchmarks.md) it decodes ~3×
 * faster for +0.02 WER (0.504 against 0.485 on the same mp3, 0.500 on the wav: the engine's own
 * spread between two encodings of the same speech); narrower beams, or `-ds 2`/`-topn 2` on top,
 * cost more accuracy than that.
 */
export const THROUGHPUT_DECODER_ARGS: Readonly<Record<string, string>> = {
  '-maxhmmpf': '2000',
  '-maxwpf': '10',
};

export interface RecognizedWord {
  /** Dictionary word, lowercase, without the `(2)` pronunciation-variant suffix. */
  word: string;
  /** Milliseconds from the first sample given to this Recognizer. */
  startMs: number;
  endMs: number;
  /** Posterior probability 0..1 (1 for partial results, which carry no posterior). */
  confidence: number;
}

export interface RecognitionResult {
  text: string;
  words: RecognizedWord[];
}

export interface RecognizerOptions {
  /** Folder holding `en-us/` (acoustic model), `en-us.lm.bin` and `cmudict-en-us.dict`. */
  modelDir?: string;
  /**
   * Frames (10 ms) of non-speech after which PocketSphinx's VAD leaves the in-speech state
   * (`-vad_postspeech`, library default 50).
   */
  vadPostSpeechFrames?: number;
  /** Extra `-name value` decoder arguments, e.g. `{ '-vad_threshold': '3.0' }`. */
  extraArgs?: Record<string, string>;
}

type Pointer = bigint | null;

interface Bindings {
  ps_args: () => Pointer;
  cmd_ln_init: (inout: Pointer, defn: Pointer, strict: number, ...variadic: unknown[]) => Pointer;
  cmd_ln_free_r: (config: Pointer) => number;
  ps_init: (config: Pointer) => Pointer;
  ps_free: (ps: Pointer) => number;
  ps_start_stream: (ps: Pointer) => number;
  ps_start_utt: (ps: Pointer) => number;
  ps_process_raw: (
    ps: Pointer,
    data: Int16Array,
    nSamples: number,
    noSearch: number,
    fullUtt: number,
  ) => number;
  ps_end_utt: (ps: Pointer) => number;
  ps_get_hyp: (ps: Pointer, outBestScore: Int32Array) => string | null;
  ps_get_in_speech: (ps: Pointer) => number;
  ps_seg_iter: (ps: Pointer) => Pointer;
  ps_seg_next: (seg: Pointer) => Pointer;
  ps_seg_word: (seg: Pointer) => string | null;
  ps_seg_frames: (seg: Pointer, outSf: Int32Array, outEf: Int32Array) => void;
  ps_seg_prob: (seg: Pointer, outAscr: Int32Array, outLscr: Int32Array, outLback: Int32Array) => number;
  ps_seg_free: (seg: Pointer) => void;
  ps_get_logmath: (ps: Pointer) => Pointer;
  logmath_exp: (lmath: Pointer, logbP: number) => number;
}

let bindings: Bindings | undefined;

/** Loads the two libraries once per thread (koffi keeps one instance per thread). */
function load(): Bindings {
  if (bindings) return bindings;
  const sphinxbase = koffi.load(SPHINXBASE_SONAME);
  const ps = koffi.load(POCKETSPHINX_SONAME);
  // Opaque handles (cmd_ln_t *, ps_decoder_t *, ps_seg_t *, logmath_t *, arg_t const *) are
  // declared `void *`: koffi 3 represents them as BigInt.
  bindings = {
    // arg_t const *ps_args(void);
    ps_args: ps.func('ps_args', 'void *', []),
    // cmd_ln_t *cmd_ln_init(cmd_ln_t *inout_cmdln, arg_t const *defn, int32 strict, ...);
    // NULL-terminated name/value pairs; the strings are copied (cmd_ln.c), so JS strings are safe.
    cmd_ln_init: sphinxbase.func('cmd_ln_init', 'void *', ['void *', 'void *', 'int32_t', '...']),
    // int cmd_ln_free_r(cmd_ln_t *cmdln);
    cmd_ln_free_r: sphinxbase.func('cmd_ln_free_r', 'int', ['void *']),
    // ps_decoder_t *ps_init(cmd_ln_t *config);  (retains config)
    ps_init: ps.func('ps_init', 'void *', ['void *']),
    // int ps_free(ps_decoder_t *ps);
    ps_free: ps.func('ps_free', 'int', ['void *']),
    // int ps_start_stream(ps_decoder_t *ps);
    ps_start_stream: ps.func('ps_start_stream', 'int', ['void *']),
    // int ps_start_utt(ps_decoder_t *ps);
    ps_start_utt: ps.func('ps_start_utt', 'int', ['void *']),
    // int ps_process_raw(ps_decoder_t *ps, int16 const *data, size_t n_samples, int no_search, int full_utt);
    ps_process_raw: ps.func('ps_process_raw', 'int', ['void *', 'int16_t *', 'size_t', 'int', 'int']),
    // int ps_end_utt(ps_decoder_t *ps);
    ps_end_utt: ps.func('ps_end_utt', 'int', ['void *']),
    // char const *ps_get_hyp(ps_decoder_t *ps, int32 *out_best_score);
    ps_get_hyp: ps.func('ps_get_hyp', 'str', ['void *', 'int32_t *']),
    // uint8 ps_get_in_speech(ps_decoder_t *ps);
    ps_get_in_speech: ps.func('ps_get_in_speech', 'uint8_t', ['void *']),
    // ps_seg_t *ps_seg_iter(ps_decoder_t *ps);   (0.8 API: one argument)
    ps_seg_iter: ps.func('ps_seg_iter', 'void *', ['void *']),
    // ps_seg_t *ps_seg_next(ps_seg_t *seg);   (frees the iterator and returns NULL at the end)
    ps_seg_next: ps.func('ps_seg_next', 'void *', ['void *']),
    // char const *ps_seg_word(ps_seg_t *seg);
    ps_seg_word: ps.func('ps_seg_word', 'str', ['void *']),
    // void ps_seg_frames(ps_seg_t *seg, int *out_sf, int *out_ef);
    ps_seg_frames: ps.func('ps_seg_frames', 'void', ['void *', 'int *', 'int *']),
    // int32 ps_seg_prob(ps_seg_t *seg, int32 *out_ascr, int32 *out_lscr, int32 *out_lback);
    ps_seg_prob: ps.func('ps_seg_prob', 'int32_t', ['void *', 'int32_t *', 'int32_t *', 'int32_t *']),
    // void ps_seg_free(ps_seg_t *seg);
    ps_seg_free: ps.func('ps_seg_free', 'void', ['void *']),
    // logmath_t *ps_get_logmath(ps_decoder_t *ps);
    ps_get_logmath: ps.func('ps_get_logmath', 'void *', ['void *']),
    // float64 logmath_exp(logmath_t *lmath, int logb_p);
    logmath_exp: sphinxbase.func('logmath_exp', 'double', ['void *', 'int']),
  };
  return bindings;
}

/**
 * Dictionary tokens that are not words: sentence markers, silence, fillers and noise
 * (`<s>`, `</s>`, `<sil>`, `[NOISE]`, `[SPEECH]`, `+BREATH+` …).
 */
export function isFillerToken(token: string): boolean {
  return /^[<[+]/.test(token) || token === '';
}

/** `read(2)` → `read`: strips PocketSphinx's alternate-pronunciation suffix. */
export function baseWord(token: string): string {
  return token.replace(/\(\d+\)$/, '');
}

/**
 * One PocketSphinx decoder. Times are absolute over the whole stream: `start()` once, then any
 * number of `beginUtterance()` / `end()` cycles; words carry milliseconds from the first sample.
 *
 * Timing relies on PocketSphinx's VAD (`-remove_silence yes`, the default): the front end drops
 * non-speech frames and reports each utterance's frames from the stream frame where speech
 * started, which makes segment frames stream-absolute. `ps_start_utt` also resets the VAD, so an
 * utterance cut mid-speech (Finalize) restarts cleanly at the next frame.
 */
export class Recognizer {
  private readonly lib: Bindings;
  private decoder: Pointer;
  private readonly logmath: Pointer;
  private readonly scratch = {
    score: new Int32Array(1),
    sf: new Int32Array(1),
    ef: new Int32Array(1),
    ascr: new Int32Array(1),
    lscr: new Int32Array(1),
    lback: new Int32Array(1),
  };
  private streamStarted = false;
  private inUtterance = false;
  private samplesFed = 0;
  private utteranceStartFrame = 0;

  constructor(options: RecognizerOptions = {}) {
    this.lib = load();
    const modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
    const args: Record<string, string> = {
      '-hmm': `${modelDir}/en-us`,
      '-lm': `${modelDir}/en-us.lm.bin`,
      '-dict': `${modelDir}/cmudict-en-us.dict`,
      '-logfn': '/dev/null',
      // The forward-flat pass costs ~15% CPU and did not lower WER on the fixture; the
      // best-path (lattice) pass stays on because it provides word posteriors (confidence).
      '-fwdflat': 'no',
      '-bestpath': 'yes',
      ...(options.vadPostSpeechFrames !== undefined
        ? { '-vad_postspeech': String(Math.max(1, Math.round(options.vadPostSpeechFrames))) }
        : {}),
      ...options.extraArgs,
    };
    const variadic: unknown[] = [];
    for (const [name, value] of Object.entries(args)) variadic.push('str', name, 'str', value);
    variadic.push('str', null);
    const config = this.lib.cmd_ln_init(null, this.lib.ps_args(), 1, ...variadic);
    if (!config) throw new Error(`PocketSphinx rejected its configuration (model dir ${modelDir})`);
    this.decoder = this.lib.ps_init(config);
    this.lib.cmd_ln_free_r(config); // ps_init holds its own reference
    if (!this.decoder) throw new Error(`PocketSphinx failed to load the model from ${modelDir}`);
    this.logmath = this.lib.ps_get_logmath(this.decoder);
  }

  /** Starts the stream clock (sample 0) and the first utterance. */
  start(): void {
    const decoder = this.requireDecoder();
    if (!this.streamStarted) {
      this.check(this.lib.ps_start_stream(decoder), 'ps_start_stream');
      this.streamStarted = true;
    }
    this.beginUtterance();
  }

  /** Opens a new utterance at the current stream position (after `end()`). */
  beginUtterance(): void {
    if (this.inUtterance) return;
    this.check(this.lib.ps_start_utt(this.requireDecoder()), 'ps_start_utt');
    this.inUtterance = true;
    this.utteranceStartFrame = Math.floor(this.samplesFed / (SAMPLE_RATE / 1000) / FRAME_MS);
  }

  /** Feeds 16 kHz mono S16LE samples (a Buffer is read as little-endian int16). */
  process(pcm: Int16Array | Buffer): void {
    const samples = toInt16(pcm);
    if (samples.length === 0) return;
    if (!this.inUtterance) this.start();
    this.check(
      this.lib.ps_process_raw(this.requireDecoder(), samples, samples.length, 0, 0),
      'ps_process_raw',
    );
    this.samplesFed += samples.length;
  }

  /** Milliseconds of audio fed so far. */
  get processedMs(): number {
    return (this.samplesFed * 1000) / SAMPLE_RATE;
  }

  /** Current partial hypothesis of the open utterance (words only, no fillers). */
  partial(): string {
    if (!this.inUtterance) return '';
    return cleanText(this.lib.ps_get_hyp(this.requireDecoder(), this.scratch.score));
  }

  /**
   * Words of the partial hypothesis with best-effort times from the forward search's back
   * pointers (no posterior yet: confidence 1).
   */
  partialWords(): RecognizedWord[] {
    if (!this.inUtterance) return [];
    return this.segments();
  }

  /** Whether PocketSphinx's VAD currently hears speech. */
  inSpeech(): boolean {
    if (!this.decoder) return false;
    return this.lib.ps_get_in_speech(this.decoder) !== 0;
  }

  /** Ends the open utterance and returns its best-path result. Call `beginUtterance()` next. */
  end(): RecognitionResult {
    if (!this.inUtterance) return { text: '', words: [] };
    const decoder = this.requireDecoder();
    this.check(this.lib.ps_end_utt(decoder), 'ps_end_utt');
    this.inUtterance = false;
    const words = this.segments();
    const text = cleanText(this.lib.ps_get_hyp(decoder, this.scratch.score));
    return { text: text || words.map((w) => w.word).join(' '), words };
  }

  /** Releases the decoder. The instance is unusable afterwards; calling twice is harmless. */
  free(): void {
    if (!this.decoder) return;
    this.lib.ps_free(this.decoder);
    this.decoder = null;
    this.inUtterance = false;
  }

  private segments(): RecognizedWord[] {
    const { sf, ef, ascr, lscr, lback } = this.scratch;
    const raw: { token: string; sf: number; ef: number; prob: number }[] = [];
    let seg = this.lib.ps_seg_iter(this.requireDecoder());
    while (seg) {
      this.lib.ps_seg_frames(seg, sf, ef);
      const prob = this.lib.ps_seg_prob(seg, ascr, lscr, lback);
      raw.push({ token: this.lib.ps_seg_word(seg) ?? '', sf: sf[0] ?? 0, ef: ef[0] ?? 0, prob });
      seg = this.lib.ps_seg_next(seg); // frees the iterator when it returns NULL
    }
    const first = raw[0];
    if (!first) return [];
    // Segment frames are stream-absolute (see class comment). Should the base ever be stale
    // (the utterance started before the frame PocketSphinx reports), re-anchor to our own clock.
    const prespeechSlack = 30;
    const shift =
      first.sf < this.utteranceStartFrame - prespeechSlack ? this.utteranceStartFrame - first.sf : 0;
    return raw
      .filter((s) => !isFillerToken(s.token))
      .map((s) => ({
        word: baseWord(s.token).toLowerCase(),
        startMs: (s.sf + shift) * FRAME_MS,
        endMs: (s.ef + 1 + shift) * FRAME_MS,
        confidence: round3(Math.min(1, Math.max(0, this.lib.logmath_exp(this.logmath, s.prob)))),
      }));
  }

  private requireDecoder(): Pointer {
    if (!this.decoder) throw new Error('Recognizer has been freed');
    return this.decoder;
  }

  private check(rc: number, call: string): void {
    if (rc < 0) throw new Error(`${call} failed (${rc})`);
  }
}

function toInt16(pcm: Int16Array | Buffer): Int16Array {
  if (pcm instanceof Int16Array) return pcm;
  const n = Math.floor(pcm.byteLength / 2);
  if (pcm.byteOffset % 2 === 0) return new Int16Array(pcm.buffer, pcm.byteOffset, n);
  const copy = new Int16Array(n);
  for (let i = 0; i < n; i++) copy[i] = pcm.readInt16LE(i * 2);
  return copy;
}

function cleanText(hyp: string | null): string {
  if (!hyp) return '';
  return hyp
    .split(/\s+/)
    .filter((t) => !isFillerToken(t))
    .map((t) => baseWord(t).toLowerCase())
    .join(' ');
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
